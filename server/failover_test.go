package server_test

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// outcome is what a writer learned about one write.
type outcome uint8

const (
	acked     outcome = iota // +OK: must survive
	failed                   // TRYAGAIN: definitely not applied
	uncertain                // UNCERTAIN, or the connection broke: either way
	noReply                  // the server sent nothing within the client's timeout
)

// Eight writers send unique keys through all three nodes while the leader is
// killed. Every acknowledged write is on the new leader, no definitely failed
// write is, and the killed node comes back from its own files and converges.
func TestCluster_LeaderKilledUnderConcurrentWrites(t *testing.T) {
	nodes := startCluster(t, 3, withRealStores())
	old := leader(t, nodes)

	const writers = 8
	var (
		killedAddr atomic.Pointer[string] // client address of the killed node
		totalAcked atomic.Int64
		ackedAfter [writers]atomic.Int64 // acks each writer got after the kill
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		results    = make([]map[string]outcome, writers)
	)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.ClientAddr()
	}
	for g := range writers {
		results[g] = map[string]outcome{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := results[g]
			target := g % len(addrs)
			var c *respClient
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				for c == nil {
					if k := killedAddr.Load(); k != nil && addrs[target] == *k {
						target = (target + 1) % len(addrs)
						continue
					}
					var err error
					if c, err = dialClient(addrs[target]); err == nil {
						c.Timeout = 4 * time.Second
					} else {
						target = (target + 1) % len(addrs)
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond): // back-off, not synchronisation
						}
					}
				}
				key := fmt.Sprintf("k-%d-%d", g, i)
				r, err := c.Do("SET", key, "v-"+key)
				killed := killedAddr.Load() != nil
				switch {
				case err != nil: // EOF, reset or timeout: the write may have happened
					res[key] = uncertain
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						res[key] = noReply
					}
					c.Close()
					c = nil
					target = (target + 1) % len(addrs)
				case r.String() == "OK":
					res[key] = acked
					totalAcked.Add(1)
					if killed {
						ackedAfter[g].Add(1)
					}
				case r.ErrPrefix("UNCERTAIN"):
					res[key] = uncertain
				case r.ErrPrefix("TRYAGAIN"):
					res[key] = failed
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond): // back-off while there is no leader
					}
				default:
					t.Errorf("writer %d: SET %s: unexpected reply %s", g, key, r)
					return
				}
			}
		}()
	}

	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopWriters) // runs before the nodes are closed, even after a Fatal

	waitFor(t, 20*time.Second, func() bool { return totalAcked.Load() >= 300 },
		"writers got fewer than 300 acknowledgements before the kill: %s", stateOf(nodes))
	killed := old.ClientAddr()
	killedAddr.Store(&killed)
	old.Kill(t)
	t.Logf("killed leader %s after %d acknowledged writes", old.ID, totalAcked.Load())

	waitFor(t, 20*time.Second, func() bool {
		for g := range ackedAfter {
			if ackedAfter[g].Load() < 20 {
				return false
			}
		}
		return true
	}, "writers did not all resume after the kill: %s", stateOf(nodes))
	stopWriters()

	nl := leader(t, nodes)
	if nl == old {
		t.Fatal("the killed node still leads")
	}
	var keys []string
	count := map[outcome]int{}
	for g := range results {
		for k, o := range results[g] {
			count[o]++
			if o == acked || o == failed {
				keys = append(keys, k)
			}
		}
	}
	t.Logf("new leader %s; acked=%d failed=%d uncertain=%d unanswered=%d", nl.ID, count[acked], count[failed], count[uncertain], count[noReply])
	if count[noReply] > 0 {
		t.Errorf("%d writes got no reply within 4s (a request must be answered, with an error if need be)", count[noReply])
	}
	if count[acked] == 0 {
		t.Fatal("no write was acknowledged")
	}
	checkWriteOutcomes(t, nodes, results, keys)

	// The killed node restarts from its own files, follows, and converges.
	old.Start(t)
	checkConvergence(t, nodes)
	waitFor(t, 5*time.Second, func() bool {
		li, ok := old.S.Node.Leader()
		return ok && !li.Self && !old.S.Node.IsLeader()
	}, "restarted %s does not follow a leader: %s", old.ID, stateOf(nodes))
	checkWriteOutcomes(t, nodes, results, keys)
}

// checkWriteOutcomes reads keys on the leader: acknowledged ones must hold
// their value, definitely failed ones must be absent.
func checkWriteOutcomes(t *testing.T, nodes []*testNode, results []map[string]outcome, keys []string) {
	t.Helper()
	rs := readOnLeader(t, nodes, keys)
	lost, ghosts := 0, 0
	for i, k := range keys {
		var g, n int
		if _, err := fmt.Sscanf(k, "k-%d-%d", &g, &n); err != nil {
			t.Fatalf("key %q: %v", k, err)
		}
		switch results[g][k] {
		case acked:
			if rs[i].String() != strconv.Quote("v-"+k) {
				if lost++; lost <= 10 {
					t.Errorf("acknowledged write lost: GET %s = %s", k, rs[i])
				}
			}
		case failed:
			if !rs[i].Null {
				if ghosts++; ghosts <= 10 {
					t.Errorf("write answered TRYAGAIN was applied: GET %s = %s", k, rs[i])
				}
			}
		}
	}
	if lost+ghosts > 0 {
		t.Fatalf("%d acknowledged writes lost, %d failed writes applied", lost, ghosts)
	}
}

// readOnLeader GETs keys in one pipeline on the current leader.
func readOnLeader(t *testing.T, nodes []*testNode, keys []string) []reply {
	t.Helper()
	cmds := make([][]string, len(keys))
	for i, k := range keys {
		cmds[i] = []string{"GET", k}
	}
	return pipelineOnLeader(t, nodes, cmds)
}

// With two of three nodes gone the survivor has no quorum: data commands get
// TRYAGAIN quickly (never hang), while node-local commands still work.
func TestCluster_NoLeaderFailsFast(t *testing.T) {
	nodes := startCluster(t, 3)
	l := leader(t, nodes)
	survivor := followers(nodes, l)[0]
	c := mustClient(t, survivor.ClientAddr())
	c.MustReply(t, okReply(), "SET", "k", "v") // forwarded: the follower now pools a leader connection

	for _, n := range nodes {
		if n != survivor {
			n.Kill(t)
		}
	}

	start := time.Now()
	r := c.MustDo(t, "GET", "k")
	elapsed := time.Since(start)
	t.Logf("first GET after losing quorum: %s in %v", r, elapsed)
	if !r.ErrPrefix("TRYAGAIN") {
		t.Fatalf("GET without quorum: got %s, want a TRYAGAIN error", r)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("GET without quorum took %v, want well under 5s", elapsed)
	}

	// Once the survivor has noticed there is no leader, a write is refused
	// definitely and at once.
	waitFor(t, 5*time.Second, func() bool { _, ok := survivor.S.Node.Leader(); return !ok },
		"survivor still believes in a leader: %s", stateOf(nodes))
	for _, cmd := range [][]string{{"SET", "k", "w"}, {"INCR", "n"}, {"GET", "k"}} {
		start := time.Now()
		r := c.MustDo(t, cmd...)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("%q without a leader took %v", cmd, elapsed)
		}
		if r.String() != "-TRYAGAIN no leader" {
			t.Fatalf("%q without a leader: got %s, want -TRYAGAIN no leader", cmd, r)
		}
	}
	c.MustReply(t, reply{Kind: '+', Str: "PONG"}, "PING")
	if role := c.MustDo(t, "ROLE"); len(role.Arr) != 5 || role.Arr[0].Str != "slave" || role.Arr[3].Str != "connect" {
		t.Fatalf("ROLE without a leader: got %s, want [slave ... connect ...]", role)
	}
	// A fresh connection is served the same way.
	c2 := mustClient(t, survivor.ClientAddr())
	c2.MustReply(t, errReply("TRYAGAIN no leader"), "SET", "k", "x")
}

// A follower forwards a write to a leader that dies before replying: the
// client is told the outcome is unknown, never success, never a definite
// failure and never nothing, and the follower does not resend the write
// elsewhere.
//
// To make the leader die mid-request, its outgoing replication is held (the
// entry cannot commit, but heartbeats keep it leader), then it is closed
// while the forwarded INCR waits in its log.
func TestCluster_ForwardedWriteLeaderDiesMidRequest(t *testing.T) {
	nodes := startCluster(t, 3, withGates())
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 10*time.Second) // no background writes from here on
	checkConvergence(t, nodes)
	if nl := leader(t, nodes); nl != l {
		l = nl // an election on a loaded machine: carry on with the new leader
	}
	via := followers(nodes, l)[0]
	c := mustClient(t, via.ClientAddr())
	c.MustReply(t, okReply(), "SET", "warm", "up") // via now holds a connection to l for c

	got := proposeHeld(t, l, c, "INCR", "once") // forwarded by via
	select {
	case res := <-got:
		t.Fatalf("INCR answered before the leader died, while it could not commit: %s %v", res.r, res.err)
	default:
	}
	if !l.S.Node.IsLeader() {
		t.Fatalf("leader stepped down while only holding entries: %s", describe(nodes))
	}

	// Kill the leader with the INCR pending. Its RESP side closes first (the
	// follower's connection breaks); Raft stops once the gate is opened.
	closed := make(chan struct{})
	srv := l.S
	l.S = nil
	go func() {
		defer close(closed)
		_ = srv.Close()
	}()
	isolate(l, nodes)

	var res doResult
	select {
	case res = <-got:
	case <-time.After(8 * time.Second):
		t.Fatalf("client got no reply 8s after the leader died")
	}
	l.Gate.Open()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Errorf("closing the old leader hung")
	}
	t.Logf("client saw: %s %v", res.r, res.err)
	switch {
	case res.err != nil:
		t.Fatalf("follower broke the client connection instead of answering: %v", res.err)
	case res.r.ErrPrefix("UNCERTAIN"):
	default:
		// The INCR is in the dead leader's log (checked above): it was
		// proposed, so a definite error such as TRYAGAIN would be a lie.
		t.Fatalf("INCR to a leader that died with it in its log: got %s, want UNCERTAIN", res.r)
	}

	leader(t, nodes)
	checkConvergence(t, nodes)
	v := readOnLeader(t, nodes, []string{"once"})[0]
	n := int64(0)
	if !v.Null {
		var err error
		if n, err = strconv.ParseInt(v.Str, 10, 64); err != nil {
			t.Fatalf("GET once: %s", v)
		}
	}
	if n > 1 {
		t.Fatalf("INCR sent once was applied %d times", n)
	}
	// The entry only ever existed in the dead leader's log, so a 1 here
	// could only come from a resend.
	if n != 0 {
		t.Fatalf("INCR that never left the dead leader's log was applied: the follower resent it (once=%d)", n)
	}
	// The follower's connection still works and reaches the new leader.
	c.MustReply(t, intReply(1), "INCR", "once")
	checkConvergence(t, nodes)
}

// A client connection on a follower that has forwarded before keeps working
// when leadership moves to another node: the follower switches its leader
// connection and forwards the next command to the new leader.
func TestCluster_FollowerClientSurvivesLeaderChange(t *testing.T) {
	nodes := startCluster(t, 3)
	l := leader(t, nodes)
	fs := followers(nodes, l)
	via, next := fs[0], fs[1]
	c := mustClient(t, via.ClientAddr())
	c.Timeout = 3 * time.Second
	c.MustReply(t, okReply(), "SET", "a", "1") // forwarded to l: via now holds a connection to l

	if err := l.S.Node.Raft().LeadershipTransferToServer(raftID(next), raftAddr(next)).Error(); err != nil {
		t.Fatalf("transfer leadership to %s: %v", next.ID, err)
	}
	if nl := leader(t, nodes); nl != next {
		t.Fatalf("leader is %s, want %s", nl.ID, next.ID)
	}
	// via must now forward to next; the reply must come, and be right.
	for i, cmd := range [][]string{{"GET", "a"}, {"INCR", "a"}, {"GET", "a"}} {
		want := []reply{bulkReply("1"), intReply(2), bulkReply("2")}[i]
		r, err := c.Do(cmd...)
		if err != nil {
			t.Fatalf("%q on follower %s after the leader moved from %s to %s: %v (no reply)", cmd, via.ID, l.ID, next.ID, err)
		}
		if r.String() != want.String() {
			t.Fatalf("%q on follower %s: got %s, want %s", cmd, via.ID, r, want)
		}
	}
	checkConvergence(t, nodes)
}

// isolate cuts every Raft route between n and the other nodes (in-memory
// clusters); heal restores them. Client ports stay reachable.
func isolate(n *testNode, all []*testNode) {
	for _, o := range all {
		if o != n {
			o.Trans.Disconnect(n.Trans.LocalAddr())
		}
	}
	n.Trans.DisconnectAll()
}

func heal(all []*testNode) {
	for _, a := range all {
		for _, b := range all {
			if a != b {
				a.Trans.Connect(b.Trans.LocalAddr(), b.Trans)
			}
		}
	}
}

// A leader cut off from its followers must not answer reads with state a new
// leader has since overwritten, and a write sent to it is never acknowledged.
// After the partition heals it follows the new leader and converges.
func TestCluster_IsolatedLeaderServesNoStaleRead(t *testing.T) {
	nodes := startCluster(t, 3)
	old := leader(t, nodes)
	mustClient(t, old.ClientAddr()).MustReply(t, okReply(), "SET", "k", "v1")
	checkConvergence(t, nodes)
	rest := followers(nodes, old)

	isolate(old, nodes)
	// A write on the isolated leader: it cannot commit.
	wc := mustClient(t, old.ClientAddr())
	wc.Timeout = 5 * time.Second
	writeDone := make(chan struct{})
	var wr reply
	var werr error
	go func() {
		defer close(writeDone)
		wr, werr = wc.Do("SET", "lost", "x")
	}()

	nl := leader(t, rest)
	mustClient(t, nl.ClientAddr()).MustReply(t, okReply(), "SET", "k", "v2")

	// From now on the old leader must not say v1.
	var rc *respClient
	served := map[string]int{}
	for i := 0; i < 50; i++ {
		if rc == nil {
			var err error
			if rc, err = dialClient(old.ClientAddr()); err != nil {
				t.Fatalf("dial isolated node: %v", err)
			}
			t.Cleanup(rc.Close)
		}
		r, err := rc.Do("GET", "k")
		if err != nil { // it closes clients when it steps down: reconnect
			rc = nil
			continue
		}
		if r.Str == "v1" && !r.IsErr() {
			t.Fatalf("stale read: isolated former leader %s answered GET k = v1 after v2 was acknowledged by %s\n%s", old.ID, nl.ID, describe(nodes))
		}
		served[r.String()]++
	}
	t.Logf("isolated node's answers to GET k: %v", served)

	<-writeDone
	t.Logf("write on the isolated leader: %s %v", wr, werr)
	switch {
	case werr != nil:
		if ne, ok := werr.(net.Error); ok && ne.Timeout() {
			t.Fatalf("write on an isolated leader got no answer within 5s")
		}
		// The connection was closed on step-down: outcome unknown to the client, fine.
	case wr.ErrPrefix("UNCERTAIN"), wr.ErrPrefix("TRYAGAIN"):
	default:
		t.Fatalf("write on an isolated leader: got %s, want UNCERTAIN or TRYAGAIN", wr)
	}

	heal(nodes)
	l := leader(t, nodes)
	checkConvergence(t, nodes)
	c := mustClient(t, old.ClientAddr())
	c.MustReply(t, bulkReply("v2"), "GET", "k")
	// The write only ever reached the isolated leader's log, which the new
	// term overwrote.
	c.MustReply(t, nilReply(), "GET", "lost")
	t.Logf("leader after healing: %s", l.ID)
}

// A client connection on a follower forwards through a leader connection it
// keeps. After leadership goes away from the leader and comes back (a new
// term, the same leader), the client's next write through the follower must
// simply succeed: the leader is healthy, so there is no reason for an
// unknown outcome.
func TestCluster_FollowerWriteAfterLeaderRegainsLeadership(t *testing.T) {
	nodes := startCluster(t, 3)
	l := leader(t, nodes)
	fs := followers(nodes, l)
	via, other := fs[0], fs[1]
	c := mustClient(t, via.ClientAddr())
	c.MustReply(t, okReply(), "SET", "a", "1") // via now keeps a connection to l for c
	term := l.S.Node.Raft().CurrentTerm()

	// Leadership goes to other and comes back to l: a new term, same leader.
	if err := l.S.Node.Raft().LeadershipTransferToServer(raftID(other), raftAddr(other)).Error(); err != nil {
		t.Fatalf("transfer to %s: %v", other.ID, err)
	}
	if nl := leader(t, nodes); nl != other {
		t.Fatalf("leader is %s, want %s", nl.ID, other.ID)
	}
	if err := other.S.Node.Raft().LeadershipTransferToServer(raftID(l), raftAddr(l)).Error(); err != nil {
		t.Fatalf("transfer back to %s: %v", l.ID, err)
	}
	if nl := leader(t, nodes); nl != l {
		t.Fatalf("leader is %s, want %s", nl.ID, l.ID)
	}
	t.Logf("leader %s: term %d -> %d", l.ID, term, l.S.Node.Raft().CurrentTerm())
	mustWriteOK(t, c, via, "SET", "a", "2")
	c.MustReply(t, bulkReply("2"), "GET", "a")
	checkConvergence(t, nodes)
}

// The same after the leader crashed and came back on the same addresses and
// won leadership again: the follower's connection to it died with the old
// process, and the client's next write must not be sent into it (and then be
// answered UNCERTAIN although the leader never saw it).
func TestCluster_FollowerWriteAfterLeaderRestart(t *testing.T) {
	nodes := startCluster(t, 3, withRealStores())
	l := leader(t, nodes)
	// A client on each follower, each forwarding through its own connection
	// to l. The one on the interim leader is closed when that node hands
	// leadership back (demoted leaders close clients), so the other is used.
	clients := map[*testNode]*respClient{}
	for _, f := range followers(nodes, l) {
		clients[f] = mustClient(t, f.ClientAddr())
		clients[f].MustReply(t, okReply(), "SET", "a", "1")
	}
	term := l.S.Node.Raft().CurrentTerm()

	l.Kill(t)
	l.Start(t)
	interim := leader(t, nodes)
	var via *testNode
	for f := range clients {
		if f != interim {
			via = f
		}
	}
	c := clients[via]
	if interim != l {
		if err := interim.S.Node.Raft().LeadershipTransferToServer(raftID(l), raftAddr(l)).Error(); err != nil {
			t.Fatalf("transfer back to %s: %v", l.ID, err)
		}
	}
	if nl := leader(t, nodes); nl != l {
		t.Fatalf("leader is %s, want %s", nl.ID, l.ID)
	}
	t.Logf("leader %s restarted: term %d -> %d (interim leader %s)", l.ID, term, l.S.Node.Raft().CurrentTerm(), interim.ID)
	mustWriteOK(t, c, via, "SET", "a", "2")
	c.MustReply(t, bulkReply("2"), "GET", "a")
	checkConvergence(t, nodes)
}

// mustWriteOK sends one write through a follower and requires +OK.
func mustWriteOK(t *testing.T, c *respClient, via *testNode, args ...string) {
	t.Helper()
	r, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%q through follower %s: %v", args, via.ID, err)
	}
	if r.String() != "OK" {
		t.Fatalf("%q through follower %s, with a healthy leader: got %s, want OK "+
			"(was it sent into the follower's dead connection to the leader's previous term?)", args, via.ID, r)
	}
}
