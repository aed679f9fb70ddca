package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The keyspace is most of the heap and lives long, so the collector's
// headroom (GOGC: how far the heap may grow past what the last collection
// found live) is most of the difference between the data and the process's
// memory. A quarter of the live heap keeps a large data set near 1.25x its
// size; but on a small heap a quarter is only a few megabytes, and collecting
// that often costs a write-heavy node about 15% of its throughput for memory
// nobody would miss. So the headroom is a quarter of the live heap, but never
// less than minGCHeadroom (and never more than Go's default, 100%).
const (
	minGCPercent  = 25
	maxGCPercent  = 100
	minGCHeadroom = 64 << 20
)

// gcPercent is the GOGC that gives a live heap of live bytes the headroom
// above, in steps of 5 so that small changes in the heap do not retune it.
func gcPercent(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	p := int(100 * minGCHeadroom / live)
	p = (p + 4) / 5 * 5
	return min(max(p, minGCPercent), maxGCPercent)
}

// tuneGC retunes GOGC to the live heap twice a second until ctx ends.
func tuneGC(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	cur := -1
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := gcPercent(sample[0].Value.Uint64()); p != cur {
				debug.SetGCPercent(p)
				cur = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
