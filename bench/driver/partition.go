package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file holds the pieces of the partition experiment
// (scripts/partition-bench.sh, bench/cmd/partition): the network namespaces
// it cuts apart, and the replicated systems seen as "node i lives in
// namespace i", so that one namespace holds both systems' leaders when it is
// isolated.

// Netns is one network namespace: its name and the address of its interface
// on the bridge that joins every namespace and the root namespace.
type Netns struct {
	Name string
	IP   string
}

// ParseNetns reads "name=ip,name=ip,...".
func ParseNetns(s string) ([]Netns, error) {
	ns, err := ParseNodes(s)
	if err != nil {
		return nil, fmt.Errorf("netns list: %w", err)
	}
	out := make([]Netns, len(ns))
	for i, n := range ns {
		if net.ParseIP(n.Addr) == nil {
			return nil, fmt.Errorf("netns %s: %q is not an IP address", n.Name, n.Addr)
		}
		out[i] = Netns{Name: n.Name, IP: n.Addr}
	}
	return out, nil
}

func runIP(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// blackholes lists the routes that cut nets[i] off from the other
// namespaces: in nets[i] one to each peer, and in each peer one to nets[i].
// The root namespace keeps its path to every namespace.
func blackholes(nets []Netns, i int) [][2]string {
	var out [][2]string // {namespace, destination}
	for j := range nets {
		if j == i {
			continue
		}
		out = append(out, [2]string{nets[i].Name, nets[j].IP + "/32"}, [2]string{nets[j].Name, nets[i].IP + "/32"})
	}
	return out
}

// Isolate cuts nets[i] off from the other namespaces with blackhole routes.
func Isolate(ctx context.Context, nets []Netns, i int) error {
	for _, r := range blackholes(nets, i) {
		if err := runIP(ctx, "-n", r[0], "route", "add", "blackhole", r[1]); err != nil {
			return fmt.Errorf("isolate %s: %w", nets[i].Name, err)
		}
	}
	return nil
}

// Heal removes the routes Isolate added; it tries every one and reports
// every failure.
func Heal(ctx context.Context, nets []Netns, i int) error {
	var errs []error
	for _, r := range blackholes(nets, i) {
		if err := runIP(ctx, "-n", r[0], "route", "del", "blackhole", r[1]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("heal %s: %w", nets[i].Name, err)
	}
	return nil
}

// DialFrom opens (and closes) a TCP connection to addr from namespace ns, or
// from this process's namespace when ns is "".
func DialFrom(ctx context.Context, ns, addr string) error {
	if ns == "" {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("dial %s: %w", addr, err)
		}
		return c.Close()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("dial from %s: %w", ns, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// bash's /dev/tcp: no other tool needed inside the namespace.
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "bash", "-c", `exec 3<>"/dev/tcp/$1/$2"`, "_", host, port).CombinedOutput()
	if err != nil {
		return fmt.Errorf("dial %s from netns %s: %w: %s", addr, ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// CheckIsolated verifies the cut: the root namespace reaches probe(j) for
// every namespace j, nets[i] reaches none of its peers' probes, and no peer
// reaches nets[i]'s. probe(j) is an address something listens on in nets[j].
func CheckIsolated(ctx context.Context, nets []Netns, i int, probe func(int) string) error {
	for j := range nets {
		if err := DialFrom(ctx, "", probe(j)); err != nil {
			return fmt.Errorf("the root namespace must reach every namespace: %w", err)
		}
		if j == i {
			continue
		}
		if err := DialFrom(ctx, nets[i].Name, probe(j)); err == nil {
			return fmt.Errorf("%s still reaches %s", nets[i].Name, probe(j))
		}
		if err := DialFrom(ctx, nets[j].Name, probe(i)); err == nil {
			return fmt.Errorf("%s still reaches %s", nets[j].Name, probe(i))
		}
	}
	return nil
}

// PartitionTarget is a replicated system whose node i runs in namespace i.
type PartitionTarget interface {
	// Leader is the index of the node that leads (the master), once the
	// system agrees on one.
	Leader(ctx context.Context) (int, error)
	// MoveLeader makes node i the leader and returns once it leads.
	MoveLeader(ctx context.Context, i int) error
	// View is the leader's client address as node (or Sentinel) j tells
	// clients; "" when it names none.
	View(ctx context.Context, j int) (string, error)
	// Converged: one leader that every other node follows and has caught
	// up with; with quiesced (no writes running), exactly.
	Converged(ctx context.Context, quiesced bool) (bool, error)
	// Addr is node i's client address.
	Addr(i int) string
	// FailoverClient is a new Sentinel-aware client with one connection.
	FailoverClient() *RedisKV
}

// sentinelView asks one Sentinel (or Understudy node) for master's address.
func sentinelView(ctx context.Context, addr, master string) (string, error) {
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, MaxRetries: -1, PoolSize: 1})
	defer sc.Close()
	v, err := sc.GetMasterAddrByName(ctx, master).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("SENTINEL get-master-addr-by-name %s at %s: %w", master, addr, err)
	}
	if len(v) != 2 {
		return "", fmt.Errorf("SENTINEL get-master-addr-by-name %s at %s: %d fields", master, addr, len(v))
	}
	return net.JoinHostPort(v[0], v[1]), nil
}

func index(ns []Node, addr string) (int, error) {
	for i, n := range ns {
		if n.Addr == addr {
			return i, nil
		}
	}
	return -1, fmt.Errorf("address %s is none of our nodes", addr)
}

// UnderstudyTarget is an Understudy cluster whose node i runs in namespace
// i; node names are their Raft ids.
type UnderstudyTarget struct{ C UnderstudyCluster }

func (u UnderstudyTarget) Addr(i int) string { return u.C.Nodes[i].Addr }

func (u UnderstudyTarget) FailoverClient() *RedisKV {
	return NewFailoverKV(u.C.Master, Addrs(u.C.Nodes), 1)
}

func (u UnderstudyTarget) View(ctx context.Context, j int) (string, error) {
	return sentinelView(ctx, u.C.Nodes[j].Addr, u.C.Master)
}

func (u UnderstudyTarget) Leader(ctx context.Context) (int, error) {
	name, err := u.C.Leader(ctx)
	if err != nil {
		return -1, err
	}
	for i, n := range u.C.Nodes {
		if n.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("leader %q is none of our nodes", name)
}

func (u UnderstudyTarget) admins() string {
	var a []string
	for _, n := range u.C.Nodes {
		a = append(a, n.Admin)
	}
	return strings.Join(a, ",")
}

// MoveLeader runs `understudy transfer-leadership --to ID` (any node
// forwards it to the leader) until node i leads, at most three times.
func (u UnderstudyTarget) MoveLeader(ctx context.Context, i int) error {
	to := u.C.Nodes[i].Name
	var last error
	for try := 0; try < 3; try++ {
		if l, err := u.Leader(ctx); err == nil && l == i {
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		out, err := exec.CommandContext(cctx, u.C.Bin, "transfer-leadership", "--to", to, "--admin", u.admins(),
			"--timeout", "10s").CombinedOutput()
		cancel()
		if err != nil {
			last = fmt.Errorf("understudy transfer-leadership --to %s: %w: %s", to, err, strings.TrimSpace(string(out)))
		}
		_, err = poll(ctx, 10*time.Second, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
			l, err := u.Leader(ctx)
			return err == nil && l == i, err
		})
		if err == nil {
			return nil
		}
		if last == nil {
			last = fmt.Errorf("%s does not lead after transfer-leadership: %w", to, err)
		}
	}
	return last
}

// Converged: exactly one node says it leads and every other one follows it
// with an applied index at least the leader's, read just before (with
// quiesced: equal to it).
func (u UnderstudyTarget) Converged(ctx context.Context, quiesced bool) (bool, error) {
	sts := make([]Status, len(u.C.Nodes))
	leader := -1
	for i, n := range u.C.Nodes {
		st, err := u.C.Status(ctx, n)
		if err != nil {
			return false, err
		}
		sts[i] = st
		if st.Role == "leader" {
			if leader >= 0 {
				return false, fmt.Errorf("%s and %s both say they lead", u.C.Nodes[leader].Name, n.Name)
			}
			leader = i
		}
	}
	if leader < 0 {
		return false, errors.New("no node leads")
	}
	// Read the leader again so every follower is compared with an index
	// taken before its own.
	ls, err := u.C.Status(ctx, u.C.Nodes[leader])
	if err != nil {
		return false, err
	}
	for i, n := range u.C.Nodes {
		if i == leader {
			continue
		}
		st, err := u.C.Status(ctx, n)
		if err != nil {
			return false, err
		}
		if st.Role != "follower" {
			return false, fmt.Errorf("%s is %s", n.Name, st.Role)
		}
		if st.LeaderID != "" && st.LeaderID != ls.ID {
			return false, fmt.Errorf("%s follows %q, not %s", n.Name, st.LeaderID, ls.ID)
		}
		if st.AppliedIndex < ls.AppliedIndex || (quiesced && st.AppliedIndex != ls.AppliedIndex) {
			return false, fmt.Errorf("%s applied %d, leader %s applied %d", n.Name, st.AppliedIndex, ls.ID, ls.AppliedIndex)
		}
	}
	return true, nil
}

// SentinelTarget is a Redis master with replicas watched by Sentinels,
// where data node i and Sentinel i run in namespace i.
type SentinelTarget struct{ C SentinelCluster }

func (s SentinelTarget) Addr(i int) string { return s.C.Data[i].Addr }

func (s SentinelTarget) FailoverClient() *RedisKV {
	return NewFailoverKV(s.C.Master, Addrs(s.C.Sentinels), 1)
}

func (s SentinelTarget) View(ctx context.Context, j int) (string, error) {
	return sentinelView(ctx, s.C.Sentinels[j].Addr, s.C.Master)
}

// agreed is the master address every Sentinel names.
func (s SentinelTarget) agreed(ctx context.Context) (string, error) {
	var addr string
	for j, sn := range s.C.Sentinels {
		a, err := s.View(ctx, j)
		if err != nil {
			return "", err
		}
		if a == "" {
			return "", fmt.Errorf("sentinel %s knows no master %s", sn.Name, s.C.Master)
		}
		if j > 0 && a != addr {
			return "", fmt.Errorf("sentinels disagree on the master: %s says %s, %s says %s",
				s.C.Sentinels[0].Name, addr, sn.Name, a)
		}
		addr = a
	}
	return addr, nil
}

func (s SentinelTarget) info(ctx context.Context, i int) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: s.C.Data[i].Addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "", fmt.Errorf("INFO replication at %s: %w", s.C.Data[i].Addr, err)
	}
	return info, nil
}

// Leader: every Sentinel names the same master, and it says it is one.
func (s SentinelTarget) Leader(ctx context.Context) (int, error) {
	addr, err := s.agreed(ctx)
	if err != nil {
		return -1, err
	}
	m, err := index(s.C.Data, addr)
	if err != nil {
		return -1, err
	}
	info, err := s.info(ctx, m)
	if err != nil {
		return -1, err
	}
	if r := InfoField(info, "role"); r != "master" {
		return -1, fmt.Errorf("the sentinels' master %s reports role %q", addr, r)
	}
	return m, nil
}

// Converged: the Sentinels agree on a master that says it is one; every
// other server is its replica with the link up (with quiesced: at the
// master's replication offset); every Sentinel sees the master as healthy
// and knows every replica and the other Sentinels.
func (s SentinelTarget) Converged(ctx context.Context, quiesced bool) (bool, error) {
	m, err := s.Leader(ctx)
	if err != nil {
		return false, err
	}
	minfo, err := s.info(ctx, m)
	if err != nil {
		return false, err
	}
	moff := InfoField(minfo, "master_repl_offset")
	for i, n := range s.C.Data {
		if i == m {
			continue
		}
		info, err := s.info(ctx, i)
		if err != nil {
			return false, err
		}
		if r := InfoField(info, "role"); r != "slave" {
			return false, fmt.Errorf("%s reports role %q", n.Name, r)
		}
		if up := net.JoinHostPort(InfoField(info, "master_host"), InfoField(info, "master_port")); up != s.C.Data[m].Addr {
			return false, fmt.Errorf("%s replicates %s, not the master %s", n.Name, up, s.C.Data[m].Addr)
		}
		if st := InfoField(info, "master_link_status"); st != "up" {
			return false, fmt.Errorf("%s: master_link_status %s", n.Name, st)
		}
		if off := InfoField(info, "slave_repl_offset"); quiesced && off != moff {
			return false, fmt.Errorf("%s at offset %s, master at %s", n.Name, off, moff)
		}
	}
	for _, sn := range s.C.Sentinels {
		if err := s.sentinelHealthy(ctx, sn); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (s SentinelTarget) sentinelHealthy(ctx context.Context, sn Node) error {
	sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		MaxRetries: -1, PoolSize: 1})
	defer sc.Close()
	m, err := sc.Master(ctx, s.C.Master).Result()
	if err != nil {
		return fmt.Errorf("SENTINEL MASTER %s at %s: %w", s.C.Master, sn.Name, err)
	}
	if m["flags"] != "master" {
		return fmt.Errorf("sentinel %s flags the master %q", sn.Name, m["flags"])
	}
	if n, _ := strconv.Atoi(m["num-slaves"]); n < len(s.C.Data)-1 {
		return fmt.Errorf("sentinel %s knows %d replicas", sn.Name, n)
	}
	if n, _ := strconv.Atoi(m["num-other-sentinels"]); n < len(s.C.Sentinels)-1 {
		return fmt.Errorf("sentinel %s knows %d other sentinels", sn.Name, n)
	}
	reps, err := sc.Replicas(ctx, s.C.Master).Result()
	if err != nil {
		return fmt.Errorf("SENTINEL REPLICAS %s at %s: %w", s.C.Master, sn.Name, err)
	}
	for _, r := range reps {
		if strings.Contains(r["flags"], "down") || strings.Contains(r["flags"], "disconnected") {
			return fmt.Errorf("sentinel %s flags replica %s:%s %q", sn.Name, r["ip"], r["port"], r["flags"])
		}
	}
	return nil
}

func (s SentinelTarget) setPriority(ctx context.Context, i, prio int) error {
	c := redis.NewClient(&redis.Options{Addr: s.C.Data[i].Addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	if err := c.ConfigSet(ctx, "replica-priority", strconv.Itoa(prio)).Err(); err != nil {
		return fmt.Errorf("CONFIG SET replica-priority %d at %s: %w", prio, s.C.Data[i].Addr, err)
	}
	return nil
}

// priorities reports whether every Sentinel has read the replica
// priorities want gives (by data node index; Sentinel refreshes them from
// INFO every 10 s).
func (s SentinelTarget) priorities(ctx context.Context, want func(i int) int) (bool, error) {
	for _, sn := range s.C.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: time.Second,
			MaxRetries: -1, PoolSize: 1})
		reps, err := sc.Replicas(ctx, s.C.Master).Result()
		sc.Close()
		if err != nil {
			return false, fmt.Errorf("SENTINEL REPLICAS %s at %s: %w", s.C.Master, sn.Name, err)
		}
		for _, r := range reps {
			i, err := index(s.C.Data, net.JoinHostPort(r["ip"], r["port"]))
			if err != nil {
				continue
			}
			if r["slave-priority"] != strconv.Itoa(want(i)) {
				return false, fmt.Errorf("sentinel %s sees priority %s for %s", sn.Name, r["slave-priority"], s.C.Data[i].Name)
			}
		}
	}
	return true, nil
}

// MoveLeader promotes data node i: Sentinel has no "fail over to X", so
// every other replica gets replica-priority 0 (never promoted), a Sentinel
// is told to SENTINEL FAILOVER once all of them have read that, and the
// priorities are put back to 100 afterwards. Every step is bounded.
func (s SentinelTarget) MoveLeader(ctx context.Context, i int) (err error) {
	cur, err := s.Leader(ctx)
	if err != nil {
		return err
	}
	if cur == i {
		return nil
	}
	want := func(j int) int {
		if j == i || j == cur {
			return 100
		}
		return 0
	}
	for j := range s.C.Data {
		if j != cur {
			if err := s.setPriority(ctx, j, want(j)); err != nil {
				return err
			}
		}
	}
	defer func() {
		for j := range s.C.Data {
			if perr := s.setPriority(ctx, j, 100); perr != nil && err == nil {
				err = perr
			}
		}
		if err != nil {
			return
		}
		// Wait until the Sentinels see everyone eligible again, so the
		// next failover is not steered.
		if _, perr := poll(ctx, 25*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
			return s.priorities(ctx, func(int) int { return 100 })
		}); perr != nil {
			err = fmt.Errorf("replica priorities not restored: %w", perr)
		}
	}()
	if _, err := poll(ctx, 25*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		return s.priorities(ctx, want)
	}); err != nil {
		return fmt.Errorf("sentinels did not read the replica priorities: %w", err)
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.C.Sentinels[0].Addr, DialTimeout: time.Second,
		ReadTimeout: 2 * time.Second, MaxRetries: -1, PoolSize: 1})
	defer sc.Close()
	if _, err := poll(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		l, err := s.Leader(ctx)
		if err == nil && l == i {
			return true, nil
		}
		if err == nil && l == cur {
			// Still the old master: ask (again; INPROG while one runs).
			if ferr := sc.Failover(ctx, s.C.Master).Err(); ferr != nil && !strings.Contains(ferr.Error(), "INPROG") {
				return false, fmt.Errorf("SENTINEL FAILOVER %s: %w", s.C.Master, ferr)
			}
		}
		return false, err
	}); err != nil {
		return fmt.Errorf("move the %s master to %s: %w", s.C.Master, s.C.Data[i].Name, err)
	}
	_, err = poll(ctx, 60*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		return s.Converged(ctx, false)
	})
	if err != nil {
		return fmt.Errorf("after moving the %s master to %s: %w", s.C.Master, s.C.Data[i].Name, err)
	}
	return nil
}
