package resp

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/fsm"
)

// maxmemory with the noeviction policy: while the node's memory is above the
// limit, commands that may grow it (fsm.Command.DenyOOM) are refused with
// Redis's -OOM error; reads, deletes and the other shrinking writes still
// run, so an operator can free space. Only the node where writes enter
// checks: the leader, for its own clients and for those its followers
// forward (a follower relays writes without looking). Followers apply the
// log whatever their memory, as Redis replicas ignore maxmemory.
//
// Memory is the Go heap's allocated objects (runtime/metrics
// /memory/classes/heap/objects:bytes, Redis's used_memory counterpart),
// sampled every 100ms by one goroutine rather than measured per command.
// It counts garbage not yet collected too, so while it is above the limit
// the gauge forces a collection (at most once a second, backing off to every
// 8s while the heap stays over): a DEL frees memory for new writes within
// about a second, as it would in Redis, instead of after Go's next GC.

var errOOM = fsm.Err("OOM command not allowed when used memory > 'maxmemory'.")

const (
	memSampleEvery = 100 * time.Millisecond
	heapObjects    = "/memory/classes/heap/objects:bytes"
)

type memGauge struct {
	limit    int64
	used     atomic.Int64
	over     atomic.Bool
	lastWarn time.Time // gauge goroutine only
}

// overMemory reports whether the last sample was above maxmemory.
func (s *Server) overMemory() bool { return s.lim.mem.limit > 0 && s.lim.mem.over.Load() }

// denyOOM reports whether cmd must be refused now for maxmemory.
func (s *Server) denyOOM(cmd *fsm.Command) bool { return cmd.DenyOOM() && s.overMemory() }

func readHeap(samples []metrics.Sample) int64 {
	metrics.Read(samples)
	if samples[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(samples[0].Value.Uint64())
}

func (s *Server) runMemGauge() {
	defer s.wg.Done()
	g := &s.lim.mem
	samples := []metrics.Sample{{Name: heapObjects}}
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	backoff := time.Second
	var lastGC time.Time
	for {
		select {
		case <-s.shutdown:
			return
		case <-t.C:
		}
		used := readHeap(samples)
		if used > g.limit && time.Since(lastGC) >= backoff {
			runtime.GC()
			lastGC = time.Now()
			if used = readHeap(samples); used > g.limit {
				backoff = min(2*backoff, 8*time.Second)
			} else {
				backoff = time.Second
			}
		}
		g.used.Store(used)
		over := used > g.limit
		if over && !g.over.Load() && time.Since(g.lastWarn) > time.Minute {
			g.lastWarn = time.Now()
			s.log.Warn("memory above maxmemory: refusing commands that may grow it until it falls", "used", used, "maxmemory", g.limit)
		}
		g.over.Store(over)
	}
}

// infoMemory is INFO's Memory section.
func (s *Server) infoMemory(sb *strings.Builder) {
	samples := []metrics.Sample{{Name: heapObjects}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	val := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	used, rss := val(0), val(1)-val(2)
	kv(sb, "used_memory", used)
	kv(sb, "used_memory_human", humanBytes(used))
	kv(sb, "used_memory_rss", rss)
	kv(sb, "used_memory_rss_human", humanBytes(rss))
	kv(sb, "maxmemory", s.lim.mem.limit)
	kv(sb, "maxmemory_human", humanBytes(s.lim.mem.limit))
	kv(sb, "maxmemory_policy", "noeviction")
}

// humanBytes formats n as Redis's INFO does: 0B, 1.50K, 32.00M.
func humanBytes(n int64) string {
	const units = "KMGTP"
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n) / 1024
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.2f%c", f, units[i])
}
