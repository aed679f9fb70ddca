package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// netLab is the network local nodes run in when partitions are possible:
// one network namespace per node, each with a veth into one bridge in the
// root namespace, on a free 10.214.N.0/24. The bridge has .254, so the suite
// (in the root namespace) reaches every node directly; node i has .i. Names
// carry the runner's PID (interface names have at most 15 characters):
//
//	namespaces   ucns<pid>-n1 ...
//	bridge       ucb<pid>
//	veths        ucv<pid>h1 (bridge side) / ucv<pid>n1 (in the namespace)
//
// When bridged frames go through iptables (br_netfilter, which Docker
// loads) and FORWARD drops by default, one rule lets the bridge forward to
// itself: `iptables -I FORWARD -i ucb<pid> -o ucb<pid> -j ACCEPT`.
//
// close removes all of it; a later run removes what a runner that died
// without closing left (its PID no longer a running chaos binary).
type netLab struct {
	log    *slog.Logger
	tag    string
	bridge string
	subnet string // "10.214.N"
	ns     []string
	ips    []string
	fwd    []string // the iptables rule, if added
	made   bool
}

var (
	labNS   = regexp.MustCompile(`^ucns([0-9]+)-n[0-9]+$`)
	labLink = regexp.MustCompile(`^uc[bv]([0-9]+)`)
)

// netLabSupport says why namespaces cannot be used here, or nil.
func netLabSupport() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root (uid %d): network namespaces need root", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("no `ip` command (iproute2) on PATH")
	}
	if bridgeNetfilter() {
		if _, err := exec.LookPath("iptables"); err != nil {
			return errors.New("bridged traffic goes through iptables (br_netfilter) but there is no `iptables` to allow it")
		}
	}
	return nil
}

func bridgeNetfilter() bool {
	b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// newNetLab creates the namespaces, veths and bridge for n nodes. On error
// it removes whatever it created.
func newNetLab(ctx context.Context, n int, log *slog.Logger) (*netLab, error) {
	if err := netLabSupport(); err != nil {
		return nil, err
	}
	cleanStaleLabs(ctx, log)
	tag := strconv.Itoa(os.Getpid())
	l := &netLab{log: log, tag: tag, bridge: "ucb" + tag}
	subnet, err := freeSubnet(ctx, os.Getpid())
	if err != nil {
		return nil, err
	}
	l.subnet = subnet
	if err := l.setup(ctx, n); err != nil {
		if cerr := l.close(context.WithoutCancel(ctx)); cerr != nil {
			log.Warn("removing a half-made network", "err", cerr)
		}
		return nil, err
	}
	return l, nil
}

func (l *netLab) setup(ctx context.Context, n int) error {
	l.made = true
	ip := func(args ...string) error {
		_, err := run(ctx, nil, "ip", args...)
		return err
	}
	if err := ip("link", "add", l.bridge, "type", "bridge"); err != nil {
		return err
	}
	if err := ip("addr", "add", l.subnet+".254/24", "dev", l.bridge); err != nil {
		return err
	}
	if err := ip("link", "set", l.bridge, "up"); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("ucns%s-n%d", l.tag, i)
		host, inner := fmt.Sprintf("ucv%sh%d", l.tag, i), fmt.Sprintf("ucv%sn%d", l.tag, i)
		addr := fmt.Sprintf("%s.%d", l.subnet, i)
		l.ns = append(l.ns, ns)
		l.ips = append(l.ips, addr)
		for _, args := range [][]string{
			{"netns", "add", ns},
			{"link", "add", host, "type", "veth", "peer", "name", inner},
			{"link", "set", host, "master", l.bridge, "up"},
			{"link", "set", inner, "netns", ns},
			{"-n", ns, "addr", "add", addr + "/24", "dev", inner},
			{"-n", ns, "link", "set", inner, "up"},
			{"-n", ns, "link", "set", "lo", "up"},
		} {
			if err := ip(args...); err != nil {
				return err
			}
		}
	}
	if bridgeNetfilter() {
		rule := []string{"FORWARD", "-i", l.bridge, "-o", l.bridge, "-j", "ACCEPT"}
		if _, err := run(ctx, nil, "iptables", append([]string{"-I"}, rule...)...); err != nil {
			return err
		}
		l.fwd = rule
	}
	return nil
}

// addr is node i's (0-based) address on the bridge.
func (l *netLab) addr(i int) string { return l.ips[i] }

// command runs bin in node i's namespace: `ip netns exec` enters it and
// execs bin, so the process (and its PID) is bin itself, and signals reach it.
func (l *netLab) command(i int, bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.ns[i], bin}, args...)...)
}

// close removes the iptables rule, the namespaces, veths and bridge, and
// waits until they are gone. The nodes must have stopped first.
func (l *netLab) close(ctx context.Context) error {
	if l == nil || !l.made {
		return nil
	}
	var errs []error
	if l.fwd != nil {
		if _, err := run(ctx, nil, "iptables", append([]string{"-D"}, l.fwd...)...); err != nil {
			errs = append(errs, err)
		} else {
			l.fwd = nil
		}
	}
	errs = append(errs, removeLab(ctx, l.tag))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.made = false
	return nil
}

// removeLab deletes every namespace and link carrying tag and waits (up to
// 10 s) until none is left: a deleted namespace's interfaces go away
// asynchronously.
func removeLab(ctx context.Context, tag string) error {
	nss, links, err := labObjects(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links[tag] {
		if _, err := run(ctx, nil, "ip", "link", "del", l); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
	}
	for _, ns := range nss[tag] {
		if _, err := run(ctx, nil, "ip", "netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return poll(ctx, 10*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		nss, links, err := labObjects(ctx)
		if err != nil {
			return err
		}
		if len(nss[tag])+len(links[tag]) > 0 {
			return fmt.Errorf("still present: %v %v", nss[tag], links[tag])
		}
		return nil
	})
}

// labObjects lists the suite's namespaces and links by tag (runner PID).
func labObjects(ctx context.Context) (nss, links map[string][]string, err error) {
	nss, links = map[string][]string{}, map[string][]string{}
	out, err := run(ctx, nil, "ip", "netns", "list")
	if err != nil {
		return nil, nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			if m := labNS.FindStringSubmatch(f[0]); m != nil {
				nss[m[1]] = append(nss[m[1]], f[0])
			}
		}
	}
	out, err = run(ctx, nil, "ip", "-o", "link", "show")
	if err != nil {
		return nil, nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		// "12: ucv123h1@if11: <BROADCAST,...": the name is the second field.
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if m := labLink.FindStringSubmatch(name); m != nil {
			links[m[1]] = append(links[m[1]], name)
		}
	}
	return nss, links, nil
}

// runnerAlive reports whether pid is a running chaos runner.
func runnerAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	if err := syscall.Kill(pid, 0); err != nil && errors.Is(err, syscall.ESRCH) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == "chaos"
}

// cleanStaleLabs removes the networks of runners that died without closing
// them (SIGKILL, a crash): their nodes, if still running in the namespaces,
// are killed (only understudy processes), then the rule, links and
// namespaces are removed.
func cleanStaleLabs(ctx context.Context, log *slog.Logger) {
	nss, links, err := labObjects(ctx)
	if err != nil {
		log.Warn("listing leftover chaos networks", "err", err)
		return
	}
	tags := map[string]bool{}
	for t := range nss {
		tags[t] = true
	}
	for t := range links {
		tags[t] = true
	}
	for tag := range tags {
		pid, err := strconv.Atoi(tag)
		if err != nil || runnerAlive(pid) {
			continue
		}
		log.Warn("removing the network a dead chaos runner left", "runner_pid", pid, "namespaces", nss[tag], "links", links[tag])
		for _, ns := range nss[tag] {
			out, _ := run(ctx, nil, "ip", "netns", "pids", ns)
			for _, f := range strings.Fields(out) {
				if p, err := strconv.Atoi(f); err == nil {
					if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.TrimSpace(string(comm)) == "understudy" {
						_ = syscall.Kill(p, syscall.SIGKILL)
					}
				}
			}
		}
		bridge := "ucb" + tag
		_, _ = run(ctx, nil, "iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT")
		if err := removeLab(ctx, tag); err != nil {
			log.Warn("leftover chaos network", "runner_pid", pid, "err", err)
		}
	}
}

// freeSubnet picks 10.214.N (N from seed) such that 10.214.N.0/24 overlaps
// no route and no address of the root namespace.
func freeSubnet(ctx context.Context, seed int) (string, error) {
	var used []*net.IPNet
	out, err := run(ctx, nil, "ip", "-4", "-o", "route", "show", "table", "all")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		d := f[0]
		if len(f) > 1 && strings.ContainsAny(d, "abcdefghijklmnopqrstuvwxyz") && d != "default" {
			d = f[1] // "local 10.0.0.1", "blackhole 10.1.0.0/16", ...
		}
		if n := parseNet(d); n != nil {
			used = append(used, n)
		}
	}
	out, err = run(ctx, nil, "ip", "-4", "-o", "addr", "show")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 {
			if n := parseNet(f[3]); n != nil {
				used = append(used, n)
			}
		}
	}
	for i := range 250 {
		n := (seed+i)%250 + 1
		cand := &net.IPNet{IP: net.IPv4(10, 214, byte(n), 0).To4(), Mask: net.CIDRMask(24, 32)}
		free := true
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP) {
				free = false
				break
			}
		}
		if free {
			return fmt.Sprintf("10.214.%d", n), nil
		}
	}
	return "", errors.New("no free 10.214.N.0/24")
}

func parseNet(s string) *net.IPNet {
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil || n.IP.To4() == nil {
		return nil
	}
	return n
}
