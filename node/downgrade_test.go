package node

import (
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// A data directory a newer build wrote (a log entry of a newer format, or
// one raising the cluster level beyond this build's) is refused at start-up
// with a message that says so, before any of it is applied; for each log
// store.
func TestDowngrade_NewerLogRefusedAtStart(t *testing.T) {
	for _, store := range []string{LogStoreBolt, LogStoreWAL} {
		for _, c := range []struct {
			name, want string
			entry      []byte
		}{
			{"newer entry format", "entry format 9 written by a newer build",
				fsm.SealEntry(fsm.AppendCmd(fsm.AppendHeader(nil, 9, fsm.EntryBatch, 1, 1, 1),
					fsm.Cmd{Argv: [][]byte{[]byte("SET"), []byte("k"), []byte("v")}}), 0)},
			{"newer cluster level", "cluster moved to level 9, written by a newer build",
				fsm.AppendEntry(nil, &fsm.Entry{Type: fsm.EntryBatch, Cmds: []fsm.Cmd{
					{Op: fsm.OpInternal, Argv: [][]byte{[]byte("level"), []byte("9"), []byte("16")}}}})},
		} {
			t.Run(store+"/"+c.name, func(t *testing.T) {
				dc := newDiskCluster(t, []string{store}, nil)
				dc.writeKeys("k", 3)
				cfg := dc.config(0)
				dc.stop(0)
				st, err := openStores(cfg, 0)
				if err != nil {
					t.Fatal(err)
				}
				last, err := st.logStore().LastIndex()
				if err != nil {
					t.Fatal(err)
				}
				if err := st.logStore().StoreLog(&raft.Log{Index: last + 1, Term: 1, Type: raft.LogCommand, Data: c.entry}); err != nil {
					t.Fatal(err)
				}
				if err := st.close(); err != nil {
					t.Fatal(err)
				}
				err = dc.start(0)
				if err == nil {
					t.Fatal("a node started on a log a newer build wrote")
				}
				for _, want := range []string{c.want, "downgrades are refused", cfg.DataDir} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
			})
		}
	}
}
