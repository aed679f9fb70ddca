package node

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

func sealedSet(key, val string) []byte {
	return fsm.AppendEntry(nil, &fsm.Entry{Type: fsm.EntryBatch, Time: 1, Seed: 1, Cmds: []fsm.Cmd{
		{Op: fsm.OpClient, Argv: args("SET", key, val)},
	}})
}

func TestCheckLogEntries(t *testing.T) {
	damaged := sealedSet("k", "value")
	damaged[len(damaged)-6] ^= 0x01
	gapped := func() []*raft.Log {
		// A follower that installed a snapshot at 9 keeps 1-5 and has 10-12.
		var ls []*raft.Log
		for _, i := range []uint64{1, 2, 3, 4, 5, 10, 11, 12} {
			ls = append(ls, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: sealedSet("k", fmt.Sprint(i))})
		}
		return ls
	}
	cases := []struct {
		name      string
		logs      []*raft.Log
		snapIndex uint64
		wantErr   string // "" for none
	}{
		{"empty log", nil, 0, ""},
		{"good entries", []*raft.Log{
			{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte("not an entry")},
			{Index: 2, Term: 1, Type: raft.LogCommand, Data: sealedSet("a", "1")},
			{Index: 3, Term: 2, Type: raft.LogNoop},
			{Index: 4, Term: 2, Type: raft.LogCommand, Data: sealedSet("b", "2")},
		}, 0, ""},
		{"flipped bit", []*raft.Log{
			{Index: 1, Term: 1, Type: raft.LogCommand, Data: sealedSet("a", "1")},
			{Index: 2, Term: 1, Type: raft.LogCommand, Data: damaged},
		}, 0, "entry 2 (term 1) is damaged: entry checksum mismatch"},
		{"truncated entry", []*raft.Log{
			{Index: 7, Term: 3, Type: raft.LogCommand, Data: sealedSet("a", "1")[:10]},
		}, 0, "entry 7 (term 3) is damaged: truncated"},
		{"gap below the snapshot", gapped(), 9, ""},
		{"gap above the snapshot", gapped(), 7, "entry 8 of 8-12 is unreadable"},
		{"damage below the snapshot is never replayed", []*raft.Log{
			{Index: 1, Term: 1, Type: raft.LogCommand, Data: damaged},
			{Index: 2, Term: 1, Type: raft.LogCommand, Data: sealedSet("a", "1")},
		}, 1, ""},
		{"log entirely below the snapshot", gapped(), 20, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := raft.NewInmemStore()
			if err := s.StoreLogs(c.logs); err != nil {
				t.Fatal(err)
			}
			err := checkLogEntries("data/n1/raft.db", s, c.snapIndex, nil)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q", c.wantErr)
			case c.wantErr != "" && (!strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "data/n1/raft.db")):
				t.Fatalf("error %q does not name the file and %q", err, c.wantErr)
			}
		})
	}
}

// A damaged entry that reaches Apply after start-up (read back from a
// failing disk, or sent by a leader) fails the node instead of being applied.
func TestRefuseEntry_DamagedEntryFailsNode(t *testing.T) {
	n := &Node{fsm: fsm.New(), stop: make(chan struct{})}
	n.guard = newDiskGuard(nil, "data/n1/raft.db", nil, "data/n1/raft.db", slog.New(slog.NewTextHandler(io.Discard, nil)))
	n.fsm.SetUndecodableHook(n.refuseEntry) // as New does
	f := n.fsm

	if res := f.Apply(&raft.Log{Index: 1, Term: 1, Type: raft.LogCommand, Data: sealedSet("k", "good")}); res == nil {
		t.Fatal("a good entry was not applied")
	}
	bad := sealedSet("k", "evil")
	bad[len(bad)-6] ^= 0x01
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		f.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: bad})
	}()
	select {
	case <-n.Failed():
	case <-time.After(5 * time.Second):
		t.Fatal("the node did not fail on a damaged entry")
	}
	if err := n.Failure(); !errors.Is(err, fsm.ErrEntryChecksum) || !strings.Contains(err.Error(), "entry 2") ||
		!strings.Contains(err.Error(), "data/n1/raft.db") {
		t.Fatalf("failure %v does not name the entry, the file and the checksum", err)
	}
	select {
	case <-returned:
		t.Fatal("Apply returned before shutdown: later entries could be applied")
	default:
	}
	if n.fsm.AppliedIndex() != 1 {
		t.Fatalf("applied index %d, want 1: the damaged entry was applied", n.fsm.AppliedIndex())
	}
	close(n.stop)
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Apply did not return after shutdown")
	}
}
