package node

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
)

func TestLogCache_BoundedByBytesAndConsistent(t *testing.T) {
	mem := raft.NewInmemStore()
	c := newLogCache(mem, nil)
	entry := func(i uint64, size int) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Data: bytes.Repeat([]byte{byte(i)}, size)}
	}
	const size = logCacheBytes / 4
	for i := uint64(1); i <= 10; i++ {
		if err := c.StoreLogs([]*raft.Log{entry(i, size)}); err != nil {
			t.Fatal(err)
		}
	}
	if c.size > logCacheBytes {
		t.Fatalf("cache holds %d bytes, over its %d budget", c.size, logCacheBytes)
	}
	if first := c.logs[0].Index; first != 7 {
		t.Fatalf("oldest cached entry %d, want 7 (the newest four fit)", first)
	}
	// Every entry reads back, from memory or from the store.
	for i := uint64(1); i <= 10; i++ {
		var l raft.Log
		if err := c.GetLog(i, &l); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if l.Index != i || len(l.Data) != size || l.Data[0] != byte(i) {
			t.Fatalf("get %d: got index %d, %d bytes", i, l.Index, len(l.Data))
		}
	}
	// A conflicting suffix is deleted and rewritten: the cache must not
	// serve the old entries.
	if err := c.DeleteRange(9, 10); err != nil {
		t.Fatal(err)
	}
	if err := c.StoreLogs([]*raft.Log{{Index: 9, Term: 2, Data: []byte("new")}}); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := c.GetLog(9, &l); err != nil || l.Term != 2 || string(l.Data) != "new" {
		t.Fatalf("after overwrite: %+v, %v", l, err)
	}
	if err := c.GetLog(10, &l); err == nil {
		t.Fatalf("deleted entry 10 still served: %+v", l)
	}
	// Entries larger than the budget are still cached: the newest
	// logCacheMin always are, so the one before the next to replicate is.
	for i := uint64(10); i < 10+2*logCacheMin; i++ {
		if err := c.StoreLogs([]*raft.Log{entry(i, 2*logCacheBytes)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.logs) != logCacheMin || c.logs[0].Index != 10+logCacheMin {
		t.Fatalf("cache after huge entries: %d entries from %d, want the newest %d", len(c.logs), c.logs[0].Index, logCacheMin)
	}
}
