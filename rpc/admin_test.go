package rpc_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/understudy/understudy/internal/testcluster"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/rpc"
)

// membersOf asks addr for the configuration, by id.
func membersOf(t testing.TB, addr string) map[string]*adminpb.Member {
	t.Helper()
	ms, err := adminClient(addr, "").Members(ctxT(t))
	if err != nil {
		t.Fatalf("members via %s: %v", addr, err)
	}
	out := map[string]*adminpb.Member{}
	for _, m := range ms.Members {
		out[m.Id] = m
	}
	return out
}

func describeMembers(ms map[string]*adminpb.Member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s(%s leader=%v raft=%s admin=%s)", m.Id, m.Suffrage, m.Leader, m.RaftAddr, m.AdminAddr))
	}
	return strings.Join(parts, " ")
}

// wantCode fails the test unless err carries the gRPC code want and its text
// contains every one of contains.
func wantCode(t testing.TB, what string, err error, want codes.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %v", what, want)
	}
	if got := status.Code(err); got != want {
		t.Fatalf("%s: code %v (%v), want %v", what, got, err, want)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("%s: error %q does not mention %q", what, err, s)
		}
	}
}

// TestAdmin_JoinNonVoterCatchUpPromoteRemove grows a 3-node cluster holding
// data by a fourth node, once through serve's --join (pointed at a follower,
// which forwards to the leader; the request asks for a voter) and once
// through an explicit Join with NonVoter of a node started with neither peers
// nor join. The new node catches up (same FSM hash as the leader), is
// promoted, another follower is removed, and writes go on with none lost.
func TestAdmin_JoinNonVoterCatchUpPromoteRemove(t *testing.T) {
	for _, tc := range []struct {
		name     string
		joinFlag bool   // Config.Join (whose request has NonVoter false) rather than an explicit Join
		suffrage string // what n4 is right after joining
	}{
		{name: "ConfigJoinViaFollower", joinFlag: true, suffrage: "voter"},
		{name: "ExplicitNonVoter", suffrage: "nonvoter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, "grow", 3)
			l := c.Leader(t)
			waitAddrsKnown(t, c)
			via := c.Followers(l)[0]
			pre, _ := loadKeys(t, l.ClientAddr(), "pre", 300, 0)
			cli := adminClient(via.AdminAddr(), "")

			cfg := c.Config("n4")
			if tc.joinFlag {
				cfg.Join = via.AdminAddr()
			}
			n4 := c.Add(t, cfg)
			if !tc.joinFlag {
				if _, ok := n4.S.Node.Leader(); ok {
					t.Fatal("a node started with no peers and no join knows a leader")
				}
				r, err := cli.Join(ctxT(t), &adminpb.JoinRequest{
					Id: "n4", RaftAddr: cfg.RaftAddr, ClientAddr: n4.ClientAddr(), AdminAddr: n4.AdminAddr(), NonVoter: true})
				if err != nil {
					t.Fatalf("join n4 as non-voter via follower %s: %v", via.ID, err)
				}
				if r.Index == 0 {
					t.Errorf("join response index 0")
				}
			}

			var ms map[string]*adminpb.Member
			waitFor(t, 10*time.Second, func() bool {
				ms = membersOf(t, via.AdminAddr())
				m := ms["n4"]
				return m != nil && m.Suffrage == tc.suffrage && m.RaftAddr == cfg.RaftAddr &&
					m.AdminAddr == n4.AdminAddr() && m.ClientAddr == n4.ClientAddr()
			}, "members never showed n4 as %s with its addresses: %s", tc.suffrage, describeMembers(ms))
			if len(ms) != 4 {
				t.Fatalf("members after join: %s, want 4", describeMembers(ms))
			}

			// Catch-up: same state as the leader.
			testcluster.Converge(t, []*tnode{l, n4})
			for _, k := range pre {
				if v, ok := fsmGet(n4, k); !ok || v != valueFor(k) {
					t.Fatalf("n4 after catch-up: %s = %q (present %v)", k, v, ok)
				}
			}
			st, err := adminClient(n4.AdminAddr(), "").Status(ctxT(t))
			if err != nil {
				t.Fatalf("status of n4: %v", err)
			}
			if st.Role != "follower" || st.LeaderId != l.ID || st.Keys != int64(len(pre)) {
				t.Errorf("status of n4: role %s leader %s keys %d; want follower of %s with %d keys", st.Role, st.LeaderId, st.Keys, l.ID, len(pre))
			}

			// Promote (a no-op for a node that joined as a voter).
			if _, err := cli.Promote(ctxT(t), "n4"); err != nil {
				t.Fatalf("promote n4: %v", err)
			}
			ms = membersOf(t, l.AdminAddr())
			if m := ms["n4"]; m == nil || m.Suffrage != "voter" {
				t.Fatalf("after promote: %s, want n4 voter", describeMembers(ms))
			}

			// Remove the other original follower.
			var gone *tnode
			for _, f := range c.Followers(l) {
				if f != via && f != n4 {
					gone = f
				}
			}
			if _, err := cli.Remove(ctxT(t), gone.ID); err != nil {
				t.Fatalf("remove %s: %v", gone.ID, err)
			}
			// n4 is a follower: it learns the new configuration when it
			// applies it, a moment after the leader committed it.
			deadline := time.Now().Add(10 * time.Second)
			for {
				ms = membersOf(t, n4.AdminAddr())
				if len(ms) == 3 && ms[gone.ID] == nil && ms["n4"] != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after removing %s: %s, want the other two originals and n4", gone.ID, describeMembers(ms))
				}
				time.Sleep(10 * time.Millisecond) // polling n4's view, with a deadline
			}
			for id, m := range ms {
				if m.Suffrage != "voter" || !m.Reachable {
					t.Errorf("member %s: %s reachable=%v", id, m.Suffrage, m.Reachable)
				}
			}
			gone.Kill(t)

			// Writes keep working, through the new node and the old follower.
			post1, _ := loadKeys(t, n4.ClientAddr(), "post-n4", 200, 0)
			post2, _ := loadKeys(t, via.ClientAddr(), "post-via", 200, 0)
			all := append(append(append([]string{}, pre...), post1...), post2...)
			checkValues(t, n4.ClientAddr(), all)
			rest := []*tnode{l, via, n4}
			testcluster.Converge(t, rest)
			for _, n := range rest {
				if got := n.S.Node.FSM().Stats().Keys; got != len(all) {
					t.Errorf("%s holds %d keys, want %d", n.ID, got, len(all))
				}
			}
		})
	}
}

// TestAdmin_TransferLeadershipUnderWrites hands leadership over twice (to any
// voter, then to a named one through a follower) while clients on the
// followers keep writing; every acknowledged write survives.
func TestAdmin_TransferLeadershipUnderWrites(t *testing.T) {
	c := startCluster(t, "xfer", 3)
	l := c.Leader(t)
	waitAddrsKnown(t, c)
	fs := c.Followers(l)
	var addrs []string
	for range 8 {
		addrs = append(addrs, fs[0].ClientAddr(), fs[1].ClientAddr())
	}
	w := startWriters(t, "xw", addrs)
	w.waitMore(200)

	// 1. To any voter, through every admin address.
	start := time.Now()
	r, err := adminClient(adminAddrs(c.Live()), "").TransferLeadership(ctxT(t), "")
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("transfer leadership (any): %v", err)
	}
	if r.OldLeader != l.ID || r.NewLeader == "" || r.NewLeader == l.ID {
		t.Fatalf("transfer (any): old %q new %q; want old %s and another new", r.OldLeader, r.NewLeader, l.ID)
	}
	if r.DurationMs < 0 || time.Duration(r.DurationMs)*time.Millisecond > wall {
		t.Errorf("transfer (any): duration %dms, call took %v", r.DurationMs, wall)
	}
	nl := c.Leader(t)
	if nl.ID != r.NewLeader {
		t.Fatalf("transfer (any) named %s, but %s leads", r.NewLeader, nl.ID)
	}
	t.Logf("transfer to any voter: %s -> %s, hand-over %dms (call %v)", r.OldLeader, r.NewLeader, r.DurationMs, wall.Round(time.Millisecond))
	w.waitMore(200)

	// 2. To a named voter, asked through the follower that is not the target.
	var target, via *tnode
	for _, f := range c.Followers(nl) {
		if target == nil {
			target = f
		} else {
			via = f
		}
	}
	start = time.Now()
	r, err = adminClient(via.AdminAddr(), "").TransferLeadership(ctxT(t), target.ID)
	wall = time.Since(start)
	if err != nil {
		t.Fatalf("transfer leadership to %s via %s: %v", target.ID, via.ID, err)
	}
	if r.OldLeader != nl.ID || r.NewLeader != target.ID {
		t.Fatalf("transfer to %s: old %q new %q, want old %s", target.ID, r.OldLeader, r.NewLeader, nl.ID)
	}
	if r.DurationMs < 0 || time.Duration(r.DurationMs)*time.Millisecond > wall {
		t.Errorf("transfer to %s: duration %dms, call took %v", target.ID, r.DurationMs, wall)
	}
	if got := c.Leader(t); got != target {
		t.Fatalf("transfer named %s, but %s leads", target.ID, got.ID)
	}
	t.Logf("transfer to %s: %s -> %s, hand-over %dms (call %v)", target.ID, r.OldLeader, r.NewLeader, r.DurationMs, wall.Round(time.Millisecond))
	w.waitMore(200)
	w.halt()
	t.Logf("writers: %s", w.summary())
	// A graceful hand-over may refuse writes for a moment (TRYAGAIN; go-redis's
	// three quick retries do not always outlast it, and such a write simply
	// fails) and a demoted leader closes its clients' connections (as a
	// demoted Redis master does; clients retry). It must never leave a client
	// waiting for a reply, and a follower's relay to the old leader must not
	// be cut under a forwarded write, which turns a write the old leader
	// would have refused (TRYAGAIN) into one of unknown outcome (UNCERTAIN).
	if n := w.retried("no reply in time"); n > 0 {
		t.Errorf("%d writes waited %v for a reply that never came: %s", n, respTimeout, w.summary())
	}
	if n := w.relayLost.Load(); n > 0 {
		t.Errorf("%d forwarded writes answered UNCERTAIN because the old leader closed the follower's relay connection "+
			"(resp: CloseClients closes forwarded connections too): %s", n, w.summary())
	}
	if w.ackedCount() == 0 {
		t.Fatalf("no write acknowledged: %s", w.summary())
	}

	acked := w.ackedKeys()
	testcluster.Converge(t, c.Live())
	for _, n := range c.Live() {
		var lost []string
		for _, k := range acked {
			if v, ok := fsmGet(n, k); !ok || v != valueFor(k) {
				lost = append(lost, k)
			}
		}
		if len(lost) > 0 {
			t.Errorf("%s lost %d of %d acknowledged writes, e.g. %v", n.ID, len(lost), len(acked), lost[:min(5, len(lost))])
		}
	}
	checkValues(t, via.ClientAddr(), acked)
}

// TestAdmin_RefusesWhatWouldBreakTheCluster: requests that would leave no
// cluster or contradict its configuration are refused with
// FailedPrecondition and a message that says why; the cluster is unharmed.
func TestAdmin_RefusesWhatWouldBreakTheCluster(t *testing.T) {
	c := startCluster(t, "solo", 1)
	n1 := c.Leader(t)
	cli := adminClient(n1.AdminAddr(), "")
	ctx := ctxT(t)

	_, err := cli.Remove(ctx, "n1")
	wantCode(t, "remove the last voter", err, codes.FailedPrecondition, "n1", "last voter")

	other := freeAddr(t)
	_, err = cli.Join(ctx, &adminpb.JoinRequest{Id: "n1", RaftAddr: other})
	wantCode(t, "join n1 again at another raft address", err, codes.FailedPrecondition, "n1", "already exists", n1.Cfg.RaftAddr, other)

	_, err = cli.Join(ctx, &adminpb.JoinRequest{Id: "n9", RaftAddr: n1.Cfg.RaftAddr})
	wantCode(t, "join another id at n1's raft address", err, codes.FailedPrecondition, n1.Cfg.RaftAddr, "n1")

	_, err = cli.Join(ctx, &adminpb.JoinRequest{Id: "n9"})
	wantCode(t, "join without a raft address", err, codes.FailedPrecondition, "raft address")

	_, err = cli.Remove(ctx, "nX")
	wantCode(t, "remove an unknown id", err, codes.FailedPrecondition, "nX")

	_, err = cli.Promote(ctx, "nX")
	wantCode(t, "promote an unknown id", err, codes.FailedPrecondition, "nX")

	_, err = cli.TransferLeadership(ctx, "nX")
	wantCode(t, "transfer leadership to an unknown id", err, codes.FailedPrecondition, "nX")

	_, err = cli.TransferLeadership(ctx, "n1")
	wantCode(t, "transfer leadership to the leader itself", err, codes.FailedPrecondition, "n1")

	// Unharmed: still one voter that leads and takes writes.
	ms := membersOf(t, n1.AdminAddr())
	if len(ms) != 1 || ms["n1"] == nil || ms["n1"].Suffrage != "voter" || ms["n1"].RaftAddr != n1.Cfg.RaftAddr || !ms["n1"].Leader {
		t.Fatalf("members after refusals: %s", describeMembers(ms))
	}
	keys, _ := loadKeys(t, n1.ClientAddr(), "after", 10, 0)
	checkValues(t, n1.ClientAddr(), keys)
}

// TestAdmin_DeadNodeFailsFast: a client pointed at an address where nobody
// listens, or where something accepts connections and never answers, fails
// within about its Timeout with an error that names the address.
func TestAdmin_DeadNodeFailsFast(t *testing.T) {
	refused := freeAddr(t) // nothing listens there

	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Close() })
	go func() { // accept and hold every connection, never speaking HTTP/2
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	for _, tc := range []struct {
		name, addr, says string
	}{
		{"Refused", refused, "unreachable"},
		{"Hung", hung.Addr().String(), "no answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := rpc.NewClient(tc.addr, "")
			cli.Timeout = 2 * time.Second
			calls := map[string]func() error{
				"status":  func() error { _, err := cli.Status(ctxT(t)); return err },
				"members": func() error { _, err := cli.Members(ctxT(t)); return err },
				"join": func() error {
					_, err := cli.Join(ctxT(t), &adminpb.JoinRequest{Id: "n9", RaftAddr: "127.0.0.1:1"})
					return err
				},
				"transfer": func() error { _, err := cli.TransferLeadership(ctxT(t), ""); return err },
				"backup":   func() error { _, err := cli.Backup(ctxT(t), nil, nil); return err },
			}
			// The calls run at once: each must fail on its own deadline.
			var wg sync.WaitGroup
			for name, call := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					err := call()
					took := time.Since(start)
					if err == nil {
						t.Errorf("%s against %s succeeded", name, tc.addr)
						return
					}
					if took > 3*time.Second {
						t.Errorf("%s against %s took %v, want under 3s", name, tc.addr, took)
					}
					if !strings.Contains(err.Error(), tc.addr) || !strings.Contains(err.Error(), tc.says) {
						t.Errorf("%s against %s: error %q should name the address and say %q", name, tc.addr, err, tc.says)
					}
					var st interface{ GRPCStatus() *status.Status }
					if !errors.As(err, &st) {
						t.Errorf("%s: error %q keeps no gRPC status", name, err)
					}
					t.Logf("%s: %v after %v", name, err, took.Round(time.Millisecond))
				}()
			}
			wg.Wait()
		})
	}
}
