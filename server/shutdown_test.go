package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// Graceful shutdown of a leader, in the order the README promises: it stops
// accepting clients, finishes the writes it had in flight (answering them),
// tells each client it is shutting down, hands leadership over, and closes.
// The write in flight is held uncommitted until the listener is seen closed,
// so the test proves the order rather than racing it.
func TestShutdown_LeaderDrainsClientsThenHandsOver(t *testing.T) {
	var logs syncBuffer
	nodes := startCluster(t, 3, withGates(), withConfig(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil)).With("node", c.ID)
	}))
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 10*time.Second)
	checkConvergence(t, nodes)
	if nl := leader(t, nodes); nl != l {
		l = nl
	}
	term := l.S.Node.Raft().CurrentTerm()
	addr := l.ClientAddr()
	c := mustClient(t, addr)
	c.Timeout = 10 * time.Second
	c.MustReply(t, okReply(), "SET", "before", "1")

	// A write in flight: proposed, not yet committed.
	got := proposeHeld(t, l, c, "SET", "inflight", "v")

	srv := l.S
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(ctx)
	}()

	// New clients are refused from now on.
	waitFor(t, 5*time.Second, func() bool {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		nc.Close()
		return false
	}, "the shutting-down leader still accepts clients")
	select {
	case res := <-got:
		t.Fatalf("the in-flight write was answered before it could commit: %s %v", res.r, res.err)
	default:
	}

	// Let it commit: the client gets its OK, then the farewell, then EOF.
	l.Gate.Open()
	var res doResult
	select {
	case res = <-got:
	case <-time.After(8 * time.Second):
		t.Fatal("the in-flight write got no reply during shutdown")
	}
	if res.err != nil || res.r.String() != okReply().String() {
		t.Fatalf("in-flight write during shutdown: %s %v, want OK", res.r, res.err)
	}
	bye, err := readReply(c.Reader())
	if err != nil || !bye.ErrPrefix("TRYAGAIN server shutting down") {
		t.Fatalf("after its last reply the client read %s %v, want the TRYAGAIN farewell", bye, err)
	}
	if _, err := readReply(c.Reader()); !errors.Is(err, io.EOF) {
		t.Fatalf("after the farewell: %v, want EOF", err)
	}

	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	l.S = nil // closed

	// Leadership was handed over (a new leader in a later term, at once,
	// not after an election timeout), and it has the write.
	rest := followers(nodes, l)
	nl := leader(t, rest)
	if nt := nl.S.Node.Raft().CurrentTerm(); nt <= term {
		t.Fatalf("new leader %s in term %d, want a term after %d", nl.ID, nt, term)
	}
	nc := mustClient(t, nl.ClientAddr())
	nc.MustReply(t, bulkReply("v"), "GET", "inflight")
	nc.MustReply(t, bulkReply("1"), "GET", "before")
	out := logs.String()
	for _, want := range []string{"clients drained", "leadership handed over"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			found = found || (strings.Contains(line, "node="+l.ID) && strings.Contains(line, want))
		}
		if !found {
			t.Errorf("the old leader %s did not log %q", l.ID, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the nodes' loggers to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
