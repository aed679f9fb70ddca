package fault

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// cutter partitions nodes with blackhole routes inside their network
// namespaces: to cut a from b, a's namespace gets `ip route add blackhole
// <b>/32` and b's `ip route add blackhole <a>/32`. Only the peers' addresses
// are blackholed, so the suite, which reaches every node from outside
// (the root namespace, or the host through published ports), keeps talking
// to every node: clients of an isolated or deposed leader still reach it,
// and a stale read it served would be recorded (I3).
type cutter struct {
	// ip returns the argv prefix that runs `ip` in id's network namespace
	// (`ip -n NS`, or `nsenter --net=/proc/PID/ns/net ip`); gone reports that
	// id has no namespace now (a stopped container: its routes went with it).
	ip func(ctx context.Context, id string) (argv []string, gone bool, err error)
	// addr is id's address on the network its peers reach it through.
	addr func(ctx context.Context, id string) (string, error)

	mu   sync.Mutex
	cuts map[[2]string]bool // unordered pairs in force, a < b
}

func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// cut blackholes each pair in both directions. On error, what was added
// stays recorded, so heal removes it.
func (c *cutter) cut(ctx context.Context, pairs [][2]string) error {
	for _, p := range pairs {
		if p[0] == p[1] {
			return fmt.Errorf("cut %s from itself", p[0])
		}
		c.mu.Lock()
		if c.cuts == nil {
			c.cuts = map[[2]string]bool{}
		}
		c.cuts[pairKey(p[0], p[1])] = true
		c.mu.Unlock()
		for _, dir := range [][2]string{{p[0], p[1]}, {p[1], p[0]}} {
			if err := c.blackhole(ctx, dir[0], dir[1]); err != nil {
				return fmt.Errorf("cut %s from %s: %w", dir[0], dir[1], err)
			}
		}
	}
	return nil
}

func (c *cutter) blackhole(ctx context.Context, from, to string) error {
	ip, gone, err := c.ip(ctx, from)
	if err != nil {
		return err
	}
	if gone {
		return fmt.Errorf("%s is not running", from)
	}
	addr, err := c.addr(ctx, to)
	if err != nil {
		return err
	}
	args := append(append([]string{}, ip[1:]...), "route", "replace", "blackhole", addr+"/32")
	_, err = run(ctx, nil, ip[0], args...)
	return err
}

// active lists the pairs cut, "n1-n3" style, sorted.
func (c *cutter) active() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for p := range c.cuts {
		out = append(out, p[0]+"-"+p[1])
	}
	sort.Strings(out)
	return out
}

// heal removes every blackhole route in the namespaces of ids (all of them,
// not only those cut recorded: a cut interrupted half way is healed too),
// and checks that none is left.
func (c *cutter) heal(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		if err := c.healOne(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("heal %s: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.mu.Lock()
	c.cuts = nil
	c.mu.Unlock()
	return nil
}

func (c *cutter) healOne(ctx context.Context, id string) error {
	ip, gone, err := c.ip(ctx, id)
	if err != nil {
		return err
	}
	if gone {
		return nil
	}
	routes, err := blackholes(ctx, ip)
	if err != nil {
		return err
	}
	for _, dst := range routes {
		args := append(append([]string{}, ip[1:]...), "route", "del", "blackhole", dst)
		if _, err := run(ctx, nil, ip[0], args...); err != nil && !strings.Contains(err.Error(), "No such process") {
			return err
		}
	}
	left, err := blackholes(ctx, ip)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("blackhole routes still present: %v", left)
	}
	return nil
}

// blackholes lists the destinations of the blackhole routes `ip` (an argv
// prefix) sees.
func blackholes(ctx context.Context, ip []string) ([]string, error) {
	args := append(append([]string{}, ip[1:]...), "-o", "-4", "route", "show", "type", "blackhole")
	out, err := run(ctx, nil, ip[0], args...)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") { // an empty main table
			return nil, nil
		}
		return nil, err
	}
	return parseBlackholes(out), nil
}

// parseBlackholes reads `ip -o route show type blackhole` output:
// "blackhole 10.1.2.3 " per line.
func parseBlackholes(out string) []string {
	var dsts []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "blackhole" {
			dsts = append(dsts, f[1])
		}
	}
	return dsts
}
