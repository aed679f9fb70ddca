package node

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// Writes queued together are split into entries of at most MaxBatchBytes
// (each entry leaves in queue order), and a single write larger than
// MaxBatchBytes but within MaxEntryBytes travels alone.
func TestNode_BatchesSplitAtMaxBatchBytes(t *testing.T) {
	const batchBytes = 1 << 10
	nodes := mustInmemClusterWith(t, 1, func(c *Config) { c.MaxBatchBytes = batchBytes })
	l := mustLeader(t, nodes)
	settled(t, l)
	var mu sync.Mutex
	perEntry := map[uint64]int{} // index -> keys written
	l.FSM().SetApplyHook(func(index uint64, keys []fsm.DBKey) {
		mu.Lock()
		perEntry[index] += len(keys)
		mu.Unlock()
	})
	value := strings.Repeat("v", 300) // ~320 bytes a command: 3 fit in 1 KiB
	perBatch := batchBytes / len(fsm.AppendCmd(nil, fsm.Cmd{Argv: args("SET", "k000", value)}))
	const writers = 120
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Write(args("SET", fmt.Sprintf("k%03d", i), value)).Wait(context.Background()); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	big := strings.Repeat("b", 3*batchBytes)
	if _, err := l.Write(args("SET", "big", big)).Wait(context.Background()); err != nil {
		t.Fatalf("a write over MaxBatchBytes but within MaxEntryBytes: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	total, most := 0, 0
	for _, n := range perEntry {
		total += n
		most = max(most, n)
	}
	t.Logf("%d writes in %d entries, at most %d in one (%d fit in %d bytes)", total, len(perEntry), most, perBatch, batchBytes)
	if total != writers+1 {
		t.Fatalf("%d keys written through the hook, want %d", total, writers+1)
	}
	if most < 2 {
		t.Fatalf("no entry carried more than one write: the split was never exercised")
	}
	if most > perBatch {
		t.Fatalf("an entry carried %d writes; only %d fit in MaxBatchBytes %d", most, perBatch, batchBytes)
	}
	if v, err := l.Read(args("STRLEN", "big")).Wait(context.Background()); err != nil || v.Int != int64(len(big)) {
		t.Fatalf("STRLEN big = %+v, %v", v, err)
	}
}
