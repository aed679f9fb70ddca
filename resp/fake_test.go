package resp_test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/internal/freeport"
	"github.com/understudy/understudy/internal/testcluster"
	"github.com/understudy/understudy/node"
	"github.com/understudy/understudy/resp"
)

// fakeLog stands in for Raft in resp's unit tests: a write gets the next
// index and is applied, in order, to the real fsm.FSM of every fakeNode.
// It is a fake of resp.Node, the layer below resp, not of Raft itself.
type fakeLog struct {
	mu     sync.Mutex
	index  uint64
	nodes  []*fakeNode
	leader *fakeNode // nil: no leader
}

// fakeNode is one member: its own state machine and RESP server.
type fakeNode struct {
	id   string
	log  *fakeLog
	fsm  *fsm.FSM
	srv  *resp.Server
	addr string

	mu     sync.Mutex
	held   bool        // apply nothing until release (a lagging follower)
	queued []fsm.Entry // held entries, in log order
	qidx   []uint64
	reads  atomic.Int64 // linearizable reads served through ReadDB
}

// newFakeCluster starts n fake members with RESP servers; the first leads.
func newFakeCluster(t *testing.T, n int) (*fakeLog, []*fakeNode) {
	t.Helper()
	l := &fakeLog{}
	addrs, err := freeport.Addrs(n)
	if err != nil {
		t.Fatal(err)
	}
	lns := make([]net.Listener, n)
	for i := range n {
		if lns[i], err = net.Listen("tcp", addrs[i]); err != nil {
			t.Fatal(err)
		}
		l.nodes = append(l.nodes, &fakeNode{id: string(rune('a' + i)), log: l, fsm: fsm.New(), addr: lns[i].Addr().String()})
	}
	l.leader = l.nodes[0]
	for i, fn := range l.nodes {
		srv, err := resp.NewServer(resp.Config{Listener: lns[i]}, fn)
		if err != nil {
			t.Fatal(err)
		}
		fn.srv = srv
		go func() { _ = fn.srv.Serve() }()
		t.Cleanup(func() { _ = fn.srv.Close() })
	}
	return l, l.nodes
}

func (l *fakeLog) setLeader(fn *fakeNode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leader = fn
}

func (l *fakeLog) leaderNode() *fakeNode {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader
}

// append commits cmd at the next index and applies it everywhere; the
// reply is the leader's.
func (l *fakeLog) append(from *fakeNode, cmd fsm.Cmd) *node.Future {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader != from {
		return node.Resolved(0, fsm.Value{}, node.ErrNotLeader)
	}
	argv := make([][]byte, len(cmd.Argv))
	for i, a := range cmd.Argv {
		argv[i] = append([]byte(nil), a...)
	}
	cmd.Argv = argv
	l.index++
	e := fsm.Entry{Type: fsm.EntryBatch, Time: time.Now().UnixMilli(), Seed: l.index, Cmds: []fsm.Cmd{cmd}}
	var reply fsm.Value
	for _, fn := range l.nodes {
		if v := fn.apply(l.index, e); fn == from {
			reply = v
		}
	}
	return node.Resolved(l.index, reply, nil)
}

func (fn *fakeNode) apply(index uint64, e fsm.Entry) fsm.Value {
	fn.mu.Lock()
	if fn.held {
		fn.queued, fn.qidx = append(fn.queued, e), append(fn.qidx, index)
		fn.mu.Unlock()
		return fsm.Value{}
	}
	fn.mu.Unlock()
	return fn.applyNow(index, &e)
}

// applyNow hands the encoded entry to FSM.Apply as Raft would, so the
// server's apply hooks (wake-ups, the applied index) run.
func (fn *fakeNode) applyNow(index uint64, e *fsm.Entry) fsm.Value {
	res, _ := fn.fsm.Apply(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: fsm.AppendEntry(nil, e)}).(*fsm.Result)
	if res == nil || len(res.Replies) == 0 {
		return fsm.Value{}
	}
	return res.Replies[0]
}

// hold makes fn lag: entries wait until release.
func (fn *fakeNode) hold() {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	fn.held = true
}

func (fn *fakeNode) release() {
	fn.mu.Lock()
	q, qi := fn.queued, fn.qidx
	fn.held, fn.queued, fn.qidx = false, nil, nil
	fn.mu.Unlock()
	for i := range q {
		fn.applyNow(qi[i], &q[i])
	}
}

func (fn *fakeNode) client(t *testing.T) *testcluster.Client {
	t.Helper()
	c := testcluster.MustDial(t, fn.addr)
	t.Cleanup(c.Close)
	return c
}

// resp.Node

func (fn *fakeNode) ID() string { return fn.id }
func (fn *fakeNode) Config() node.Config {
	return node.Config{ID: fn.id, HeartbeatTimeout: time.Second}
}
func (fn *fakeNode) FSM() *fsm.FSM  { return fn.fsm }
func (fn *fakeNode) IsLeader() bool { return fn.log.leaderNode() == fn }

func (fn *fakeNode) Leader() (node.LeaderInfo, bool) {
	l := fn.log.leaderNode()
	if l == nil {
		return node.LeaderInfo{}, false
	}
	return node.LeaderInfo{ID: l.id, ClientAddr: l.addr, PeerClientAddr: l.addr, Self: l == fn}, true
}

func (fn *fakeNode) Members() ([]node.Member, error) {
	var out []node.Member
	lead := fn.log.leaderNode()
	for _, m := range fn.log.nodes {
		out = append(out, node.Member{ID: m.id, ClientAddr: m.addr, PeerClientAddr: m.addr, Voter: true, Leader: m == lead})
	}
	return out, nil
}

func (fn *fakeNode) OnLeadershipChange(func(isLeader bool)) {}
func (fn *fakeNode) Status() node.Status                    { return node.Status{ID: fn.id} }
func (fn *fakeNode) Term() uint64                           { return 1 }
func (fn *fakeNode) LastContact() time.Time                 { return time.Now() }
func (fn *fakeNode) RaftStats() map[string]string           { return map[string]string{} }
func (fn *fakeNode) Snapshot() (uint64, uint64, error)      { return fn.AppliedIndex(), 1, nil }
func (fn *fakeNode) RelayProof() string                     { return "proof" }
func (fn *fakeNode) KnowsRelaySecret() bool                 { return true }
func (fn *fakeNode) CheckRelayProof(p []byte) bool          { return string(p) == "proof" }

func (fn *fakeNode) AppliedIndex() uint64 {
	return fn.fsm.AppliedIndex()
}

func (fn *fakeNode) Write(argv [][]byte) *node.Future {
	return fn.log.append(fn, fsm.Cmd{Op: fsm.OpClient, Argv: argv})
}

func (fn *fakeNode) WriteInternal(argv [][]byte) *node.Future {
	return fn.log.append(fn, fsm.Cmd{Op: fsm.OpInternal, Argv: argv})
}

func (fn *fakeNode) WriteCmd(cmd fsm.Cmd) *node.Future { return fn.log.append(fn, cmd) }

func (fn *fakeNode) ReadDB(db int, argv [][]byte) *node.Future {
	if !fn.IsLeader() {
		return node.Resolved(0, fsm.Value{}, node.ErrNotLeader)
	}
	fn.reads.Add(1)
	return node.Resolved(0, fn.fsm.Read(db, time.Now().UnixMilli(), 1, argv), nil)
}

var _ resp.Node = (*fakeNode)(nil)
