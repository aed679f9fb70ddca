package server_test

// The server tests' names for the one test harness (internal/testcluster):
// one-line delegations, so tests read as before. Most tests use the
// harness's RESP client rather than go-redis because they need every reply
// exactly as sent; go-redis is used where a real client's behaviour is the
// point (pipelines in RESP2 and RESP3, a pool under concurrent reads).

import (
	"bufio"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/understudy/understudy/internal/testcluster"
	"github.com/understudy/understudy/server"
)

type (
	testNode      = testcluster.Node
	clusterOption = testcluster.Option
	reply         = testcluster.Reply
	respClient    = testcluster.Client
)

func withRealStores() clusterOption                        { return testcluster.RealStores() }
func withoutRaftAddr() clusterOption                       { return testcluster.WithoutRaftAddr() }
func withGates() clusterOption                             { return testcluster.WithGates() }
func withRaftAddrs(a map[string]string) clusterOption      { return testcluster.WithRaftAddrs(a) }
func withConfig(fn func(*server.Config)) clusterOption     { return testcluster.WithConfig(fn) }
func withStableTiming() clusterOption                      { return testcluster.StableTiming() }
func testConfig(id string) server.Config                   { return testcluster.TestConfig(id) }
func liveNodes(nodes []*testNode) []*testNode              { return testcluster.Live(nodes) }
func leader(t *testing.T, nodes []*testNode) *testNode     { return testcluster.Leader(t, nodes) }
func followers(nodes []*testNode, l *testNode) []*testNode { return testcluster.Followers(nodes, l) }
func checkConvergence(t *testing.T, nodes []*testNode) {
	testcluster.Converge(t, testcluster.Live(nodes))
}
func describe(nodes []*testNode) string                { return testcluster.Describe(nodes) }
func mustFreeAddr(t *testing.T) string                 { return testcluster.FreeAddr(t) }
func dialClient(addr string) (*respClient, error)      { return testcluster.Dial(addr) }
func mustClient(t *testing.T, addr string) *respClient { return testcluster.MustDial(t, addr) }
func okReply() reply                                   { return testcluster.OKReply() }
func intReply(n int64) reply                           { return testcluster.IntReply(n) }
func bulkReply(s string) reply                         { return testcluster.BulkReply(s) }
func nilReply() reply                                  { return testcluster.NilReply() }
func errReply(msg string) reply                        { return testcluster.ErrReply(msg) }
func raftID(n *testNode) raft.ServerID                 { return raft.ServerID(n.ID) }
func raftAddr(n *testNode) raft.ServerAddress          { return n.RaftAddr() }
func appendCommand(buf []byte, args []string) []byte   { return testcluster.AppendCommand(buf, args) }

// startCluster starts n nodes bootstrapped as one cluster and stops them when
// the test ends. It does not wait for a leader: see leader.
func startCluster(t *testing.T, n int, opts ...clusterOption) []*testNode {
	return testcluster.Start(t, n, opts...).Nodes
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	testcluster.WaitFor(t, timeout, cond, msg, args...)
}

func waitMetaRecorded(t *testing.T, nodes []*testNode, timeout time.Duration) {
	t.Helper()
	testcluster.WaitMetaRecorded(t, nodes, timeout)
}

// pipelineOnLeader sends cmds in one pipeline to the current leader and
// returns the replies, starting over (with whoever leads then) if any reply is
// TRYAGAIN or the connection breaks because leadership moved meanwhile. Only
// for commands that may safely run twice.
func pipelineOnLeader(t *testing.T, nodes []*testNode, cmds [][]string) []reply {
	t.Helper()
	var rs []reply
	waitFor(t, 20*time.Second, func() bool {
		l := leader(t, nodes)
		c, err := dialClient(l.ClientAddr())
		if err != nil {
			return false
		}
		defer c.Close()
		if rs, err = c.Pipeline(cmds); err != nil {
			t.Logf("pipeline of %d on %s: %v; retrying", len(cmds), l.ID, err)
			return false
		}
		for _, r := range rs {
			if r.ErrPrefix("TRYAGAIN") {
				t.Logf("pipeline on %s: %s; retrying", l.ID, r)
				return false
			}
		}
		return true
	}, "could not run %d commands on a stable leader: %s", len(cmds), testcluster.StateOf(nodes))
	return rs
}

// raftStat returns one numeric field of raft.Stats.
func raftStat(t *testing.T, n *testNode, key string) uint64 {
	t.Helper()
	v, ok := n.S.Node.Raft().Stats()[key]
	if !ok {
		t.Fatalf("%s: raft stats have no %q", n.ID, key)
	}
	u, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s: raft stat %s=%q: %v", n.ID, key, v, err)
	}
	return u
}

// doResult is what one respClient.Do returned.
type doResult struct {
	r   reply
	err error
}

// proposeHeld holds l's outgoing replication, sends args on c in the
// background and returns once the command is in l's log: proposed, but
// unable to commit until l.Gate opens. The channel gets the reply.
func proposeHeld(t *testing.T, l *testNode, c *respClient, args ...string) <-chan doResult {
	t.Helper()
	lastBefore := l.S.Node.Raft().LastIndex()
	term := l.S.Node.Raft().CurrentTerm()
	l.Gate.Hold()
	got := make(chan doResult, 1)
	go func() {
		r, err := c.Do(args...)
		got <- doResult{r, err}
	}()
	waitFor(t, 5*time.Second, func() bool { return l.S.Node.Raft().LastIndex() > lastBefore },
		"%q never reached the log of leader %s (term %d when sent)", args, l.ID, term)
	return got
}

func stateOf(nodes []*testNode) fmt.Stringer                 { return testcluster.StateOf(nodes) }
func readReply(br *bufio.Reader) (reply, error)              { return testcluster.ReadReply(br) }
func closeWithin(t *testing.T, n *testNode, d time.Duration) { testcluster.CloseWithin(t, n, d) }
