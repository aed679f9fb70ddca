package resp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/internal/testcluster"
)

var (
	ok   = testcluster.OKReply
	bulk = testcluster.BulkReply
	num  = testcluster.IntReply
)

func want(t *testing.T, got, want testcluster.Reply) {
	t.Helper()
	if got.String() != want.String() {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func wantErr(t *testing.T, got testcluster.Reply, prefix string) {
	t.Helper()
	if !got.ErrPrefix(prefix) {
		t.Fatalf("got %s, want an error starting %q", got, prefix)
	}
}

// Node-local commands are answered by the node itself, leader or not,
// without the log.
func TestSeam_LocalCommands(t *testing.T) {
	l, ns := newFakeCluster(t, 2)
	for _, fn := range ns {
		c := fn.client(t)
		want(t, c.MustDo(t, "PING"), testcluster.Reply{Kind: '+', Str: "PONG"})
		want(t, c.MustDo(t, "ECHO", "hi"), bulk("hi"))
		want(t, c.MustDo(t, "SELECT", "0"), ok())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.index != 0 {
		t.Fatalf("local commands went through the log: index %d", l.index)
	}
}

// On the leader a write goes through the log and a read is linearizable
// (ReadDB); on a follower both are forwarded to the leader, whose reply the
// client gets.
func TestSeam_Routing(t *testing.T) {
	l, ns := newFakeCluster(t, 2)
	lead, fol := ns[0], ns[1]
	lc := lead.client(t)
	want(t, lc.MustDo(t, "SET", "k", "1"), ok())
	want(t, lc.MustDo(t, "GET", "k"), bulk("1"))
	if lead.reads.Load() != 1 {
		t.Fatalf("leader reads through ReadDB: %d, want 1", lead.reads.Load())
	}

	fc := fol.client(t)
	want(t, fc.MustDo(t, "INCR", "n"), num(1))
	want(t, fc.MustDo(t, "GET", "k"), bulk("1"))
	if lead.reads.Load() != 2 || fol.reads.Load() != 0 {
		t.Fatalf("a follower's read is the leader's: leader %d, follower %d", lead.reads.Load(), fol.reads.Load())
	}
	l.mu.Lock()
	idx := l.index
	l.mu.Unlock()
	if idx != 2 {
		t.Fatalf("log index %d, want 2 (SET and the forwarded INCR)", idx)
	}
	// Both members applied the forwarded write.
	if got := fol.AppliedIndex(); got != 2 {
		t.Fatalf("follower applied %d, want 2", got)
	}

	// Leadership moves. A client the old leader served is refused until it
	// is told to leave (forwarding it would run its command after earlier
	// ones refused with TRYAGAIN); a new client of the old leader is
	// forwarded to the new one.
	l.setLeader(fol)
	if r := lc.MustDo(t, "INCR", "n"); !strings.HasPrefix(r.String(), "-TRYAGAIN leadership moved") {
		t.Fatalf("the old leader's own client after the move: %s, want the farewell", r)
	}
	nc := lead.client(t)
	want(t, nc.MustDo(t, "INCR", "n"), num(2))
	if lead.reads.Load() != 2 {
		t.Fatal("a read went to the old leader")
	}
}

// MULTI queues; EXEC runs the queue as one; a command refused while
// queueing aborts EXEC with EXECABORT, through the leader and a follower.
func TestSeam_MultiExec(t *testing.T) {
	_, ns := newFakeCluster(t, 2)
	for _, fn := range ns {
		c := fn.client(t)
		want(t, c.MustDo(t, "MULTI"), ok())
		want(t, c.MustDo(t, "SET", "tx:"+fn.id, "v"), testcluster.Reply{Kind: '+', Str: "QUEUED"})
		want(t, c.MustDo(t, "INCR", "tx:n:"+fn.id), testcluster.Reply{Kind: '+', Str: "QUEUED"})
		want(t, c.MustDo(t, "EXEC"), testcluster.Reply{Kind: '*', Arr: []testcluster.Reply{ok(), num(1)}})
		want(t, c.MustDo(t, "GET", "tx:"+fn.id), bulk("v"))

		want(t, c.MustDo(t, "MULTI"), ok())
		want(t, c.MustDo(t, "SET", "tx2:"+fn.id, "v"), testcluster.Reply{Kind: '+', Str: "QUEUED"})
		wantErr(t, c.MustDo(t, "SET", "onlykey"), "ERR wrong number of arguments")
		wantErr(t, c.MustDo(t, "EXEC"), "EXECABORT")
		want(t, c.MustDo(t, "EXISTS", "tx2:"+fn.id), num(0))
	}
}

// Error classes: unknown command, arity, WRONGTYPE from the state machine,
// and TRYAGAIN when there is no leader to take the command.
func TestSeam_Errors(t *testing.T) {
	l, ns := newFakeCluster(t, 2)
	c := ns[0].client(t)
	wantErr(t, c.MustDo(t, "NOSUCHCMD", "x"), "ERR unknown command 'NOSUCHCMD'")
	wantErr(t, c.MustDo(t, "GET"), "ERR wrong number of arguments for 'get' command")
	want(t, c.MustDo(t, "LPUSH", "l", "a"), num(1))
	wantErr(t, c.MustDo(t, "GET", "l"), "WRONGTYPE")

	l.setLeader(nil)
	for _, fn := range ns {
		fc := fn.client(t)
		wantErr(t, fc.MustDo(t, "SET", "k", "v"), "TRYAGAIN")
		wantErr(t, fc.MustDo(t, "GET", "k"), "TRYAGAIN")
		want(t, fc.MustDo(t, "PING"), testcluster.Reply{Kind: '+', Str: "PONG"})
	}
}

// A READONLY read on a follower that lags never overtakes the connection's
// own forwarded write: pipelined SET then GET returns the value set, while
// the follower has not applied the SET when the GET arrives.
func TestSeam_ReadonlyOrdering(t *testing.T) {
	_, ns := newFakeCluster(t, 2)
	fol := ns[1]
	c := fol.client(t)
	want(t, c.MustDo(t, "READONLY"), ok())
	want(t, c.MustDo(t, "GET", "k"), testcluster.NilReply())

	fol.hold()
	released := make(chan struct{})
	go func() {
		defer close(released)
		// Let the follower catch up once the leader has the write, so the
		// read can be served here after waiting for it.
		deadline := time.Now().Add(10 * time.Second)
		for ns[0].AppliedIndex() < 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		fol.release()
	}()
	rs, err := c.Pipeline([][]string{{"SET", "k", "v"}, {"GET", "k"}})
	if err != nil {
		t.Fatal(err)
	}
	<-released
	want(t, rs[0], ok())
	want(t, rs[1], bulk("v"))
	// Without a write of its own first, a READONLY read is the follower's.
	before := ns[0].reads.Load()
	c2 := fol.client(t)
	want(t, c2.MustDo(t, "READONLY"), ok())
	want(t, c2.MustDo(t, "GET", "k"), bulk("v"))
	if ns[0].reads.Load() != before {
		t.Fatal("a READONLY read with no own write went to the leader")
	}
}
