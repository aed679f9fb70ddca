package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// Raft's errors from Apply fall into two classes: never proposed (safe to
// retry) and proposed with an unknown fate. Getting one wrong either loses
// retries or tells a client a committed write failed.
func TestMapApplyError(t *testing.T) {
	cases := []struct {
		in        error
		want      error // the class the result must be
		uncertain bool
	}{
		{nil, nil, false},
		{raft.ErrNotLeader, ErrNotLeader, false},
		{raft.ErrLeadershipTransferInProgress, ErrNotLeader, false},
		{raft.ErrEnqueueTimeout, ErrQueueFull, false},
		{raft.ErrLeadershipLost, ErrUncertain, true},
		{raft.ErrRaftShutdown, ErrUncertain, true},
		{raft.ErrAbortedByRestore, ErrUncertain, true},
		{fmt.Errorf("wrapped: %w", raft.ErrLeadershipLost), ErrUncertain, true},
		{errors.New("something unforeseen"), ErrUncertain, true},
	}
	for _, c := range cases {
		got := mapApplyError(c.in)
		if c.want == nil {
			if got != nil {
				t.Errorf("%v: got %v, want nil", c.in, got)
			}
			continue
		}
		if !errors.Is(got, c.want) {
			t.Errorf("%v: got %v, want %v", c.in, got, c.want)
		}
		if errors.Is(got, ErrUncertain) != c.uncertain {
			t.Errorf("%v: uncertain=%v, want %v", c.in, errors.Is(got, ErrUncertain), c.uncertain)
		}
	}
}

// Concurrent reads share leadership confirmations: far fewer VerifyLeader
// rounds than reads.
func TestNode_ConcurrentReadsShareLeadershipChecks(t *testing.T) {
	nodes := mustInmemCluster(t, 3)
	l := mustLeader(t, nodes)
	if _, err := l.Write(args("SET", "k", "v")).Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, l.ReadReady, "leader never became ready for reads")
	const clients, each = 50, 20
	before := l.ReadRounds()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				v, err := l.Read(args("GET", "k")).Wait(t.Context())
				if err != nil || string(v.Str) != "v" {
					errs <- fmt.Errorf("GET k: %+v %v", v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rounds := l.ReadRounds() - before
	t.Logf("%d reads took %d leadership rounds", clients*each, rounds)
	if rounds == 0 || rounds > clients*each/4 {
		t.Fatalf("%d reads took %d leadership rounds: want at most a quarter as many rounds as reads", clients*each, rounds)
	}
}

// A write over MaxEntryBytes is refused before it is proposed, definitely,
// with an error naming the limit; writes under it, and batches of them
// larger than it together, go through.
func TestNode_WriteOverMaxEntryBytesIsRefused(t *testing.T) {
	const limit = 64 << 10
	c := newDiskCluster(t, []string{LogStoreWAL}, func(cfg *Config) { cfg.MaxEntryBytes = limit })
	l := c.leader()
	settled(t, l)
	before := l.Raft().LastIndex()
	_, err := l.Write(args("SET", "big", strings.Repeat("x", limit))).Wait(context.Background())
	if !errors.Is(err, ErrEntryTooLarge) || !IsDefinite(err) || !strings.Contains(err.Error(), "--max-entry-bytes") {
		t.Fatalf("err = %v, want a definite ErrEntryTooLarge naming --max-entry-bytes", err)
	}
	if after := l.Raft().LastIndex(); after != before {
		t.Fatalf("log grew from %d to %d: the refused write was proposed", before, after)
	}
	half := strings.Repeat("y", limit/2)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Write(args("SET", fmt.Sprint("half", i), half)).Wait(context.Background()); err != nil {
				t.Errorf("write of half the limit: %v", err)
			}
		}()
	}
	wg.Wait()
	if v, err := l.Read(args("DBSIZE")).Wait(context.Background()); err != nil || v.Int != 4 {
		t.Fatalf("DBSIZE = %+v, %v; want 4", v, err)
	}
}

// settled waits until a new leader's own proposals are done: read-ready comes
// before the leader records its addresses (recordMeta), so an entry can still
// be appended right after, and a test counting entries would see it.
func settled(t *testing.T, l *Node) {
	t.Helper()
	waitFor(t, 10*time.Second, func() bool {
		m, ok := l.FSM().Meta(l.Config().ID)
		return ok && m == l.selfMeta() && l.Raft().AppliedIndex() == l.Raft().LastIndex()
	}, "the leader's metadata recorded and its log applied")
}
