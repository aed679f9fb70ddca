package resp

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
)

// maxmemory and maxmemory-policy. The limit is the cluster's (CONFIG SET
// maxmemory, replicated) or, while that is 0, the node's --maxmemory. Only
// the node where writes enter acts on it: the leader, for its own clients
// and for those its followers forward. Followers apply the log whatever
// their memory, as Redis replicas ignore maxmemory.
//
// Over the limit, under noeviction (or when the policy finds no key it may
// evict: a volatile policy with no key that has a TTL), commands that may
// grow memory (fsm.Command.DenyOOM) are refused with Redis's -OOM error;
// reads, deletes and the other shrinking writes still run. Under the other
// policies the leader picks victims as Redis does (fsm.Evictor) and
// proposes their deletion through the log ("evict" entries), so every node
// evicts the same keys; writes go on meanwhile.
//
// Memory is the Go heap's allocated objects (runtime/metrics
// /memory/classes/heap/objects:bytes, Redis's used_memory counterpart),
// sampled every 100ms by one goroutine rather than measured per command.
// It counts garbage not yet collected too, so while it is above the limit
// the gauge forces a collection (at most once a second, backing off to every
// 8s while the heap stays over, under noeviction; at most every 250ms while
// evicting): a DEL frees memory for new writes within about a second, as it
// would in Redis, instead of after Go's next GC. An eviction round deletes
// keys whose estimated sizes add up to the excess (fsm.Victim.Size), then
// waits for a collection to measure again before the next round.

var errOOM = fsm.Err("OOM command not allowed when used memory > 'maxmemory'.")

const (
	memSampleEvery = 100 * time.Millisecond
	heapObjects    = "/memory/classes/heap/objects:bytes"
	// evictGCEvery spaces the collections that measure an eviction round.
	evictGCEvery = 250 * time.Millisecond
	// maxEvictRound bounds the keys one eviction round proposes.
	maxEvictRound = 1024
)

type memGauge struct {
	limit     atomic.Int64 // maxmemory in force (0: none)
	used      atomic.Int64
	over      atomic.Bool
	evictFail atomic.Bool // the policy found nothing to evict while over
	peakUsed  atomic.Int64
	lastWarn  time.Time // gauge goroutine only
}

// overMemory reports whether the last sample was above maxmemory.
func (s *Server) overMemory() bool { return s.lim.mem.limit.Load() > 0 && s.lim.mem.over.Load() }

// denyOOM reports whether cmd must be refused now for maxmemory.
func (s *Server) denyOOM(cmd *fsm.Command) bool {
	if !cmd.DenyOOM() || !s.overMemory() {
		return false
	}
	_, policy := s.memPolicy()
	return policy == "noeviction" || s.lim.mem.evictFail.Load()
}

// memPolicy is the cluster's maxmemory and maxmemory-policy (none for a
// server without a node: some tests run one).
func (s *Server) memPolicy() (int64, string) {
	if s.node == nil {
		return 0, "noeviction"
	}
	return s.node.FSM().MemoryPolicy()
}

// maxMemory is the limit in force: the cluster's, else the node's flag.
func (s *Server) maxMemory() int64 {
	if m, _ := s.memPolicy(); m > 0 {
		return m
	}
	return s.cfg.Clients.MaxMemory
}

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
	evictor := fsm.NewEvictor(uint64(time.Now().UnixNano()))
	measured := true // no eviction round since the last collection
	for {
		select {
		case <-s.shutdown:
			return
		case <-t.C:
		}
		limit := s.maxMemory()
		g.limit.Store(limit)
		used := readHeap(samples)
		_, policy := s.memPolicy()
		evicting := limit > 0 && policy != "noeviction" && s.node != nil && s.node.IsLeader() && s.node.FSM().Level() >= fsm.Level2
		if limit > 0 && used > limit {
			switch {
			case evicting && !measured && time.Since(lastGC) >= evictGCEvery,
				!evicting && time.Since(lastGC) >= backoff:
				runtime.GC()
				lastGC, measured = time.Now(), true
				if used = readHeap(samples); used > limit {
					backoff = min(2*backoff, 8*time.Second)
				} else {
					backoff = time.Second
				}
			}
		}
		g.used.Store(used)
		g.peak(used)
		over := limit > 0 && used > limit
		if over && evicting && measured {
			n := s.evictRound(evictor, used-limit)
			g.evictFail.Store(n == 0)
			measured = n == 0
		} else if !over {
			g.evictFail.Store(false)
			measured = true
		}
		if over && !g.over.Load() && time.Since(g.lastWarn) > time.Minute {
			g.lastWarn = time.Now()
			s.log.Warn("memory above maxmemory", "used", used, "maxmemory", limit, "policy", policy)
		}
		g.over.Store(over)
	}
}

// evictRound proposes the deletion of keys the policy picks, adding up to
// about need bytes, and waits for them to apply; it returns how many were
// picked.
func (s *Server) evictRound(e *fsm.Evictor, need int64) int {
	vs := e.Pick(s.node.FSM(), time.Now().UnixMilli(), need, maxEvictRound)
	if len(vs) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var futs []*node.Future
	for _, c := range fsm.EvictCmds(vs) {
		futs = append(futs, s.node.WriteCmd(c))
	}
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			s.log.Debug("eviction round not applied", "err", err)
		}
	}
	return len(vs)
}

// infoMemory is INFO's Memory section, with Redis 7.0's fields: used_memory
// is the Go heap's live and not yet collected objects (the measure
// maxmemory is compared with), rss what the process holds from the OS;
// fields with no counterpart here are 0.
func (s *Server) infoMemory(sb *strings.Builder) {
	used, rss := heapUsage()
	peak := s.lim.mem.peak(used)
	limit := s.maxMemory()
	_, policy := s.memPolicy()
	var scripts, libs, fns int
	if s.node != nil {
		scripts, libs, fns = s.node.FSM().ScriptCounts()
	}
	ratio := func(a, b int64) string {
		if b == 0 {
			return "0.00"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(b))
	}
	for _, f := range []struct {
		k string
		v any
	}{
		{"used_memory", used}, {"used_memory_human", humanBytes(used)},
		{"used_memory_rss", rss}, {"used_memory_rss_human", humanBytes(rss)},
		{"used_memory_peak", peak}, {"used_memory_peak_human", humanBytes(peak)},
		{"used_memory_peak_perc", fmt.Sprintf("%.2f%%", 100*float64(used)/float64(max(peak, 1)))},
		{"used_memory_overhead", 0}, {"used_memory_startup", 0}, {"used_memory_dataset", used},
		{"used_memory_dataset_perc", "100.00%"}, {"allocator_allocated", used}, {"allocator_active", used},
		{"allocator_resident", rss}, {"total_system_memory", 0}, {"total_system_memory_human", "0B"},
		{"used_memory_lua", 0}, {"used_memory_vm_eval", 0}, {"used_memory_lua_human", "0B"},
		{"used_memory_scripts_eval", 0}, {"number_of_cached_scripts", scripts}, {"number_of_functions", fns},
		{"number_of_libraries", libs}, {"used_memory_vm_functions", 0}, {"used_memory_vm_total", 0},
		{"used_memory_vm_total_human", "0B"}, {"used_memory_functions", 0}, {"used_memory_scripts", 0},
		{"used_memory_scripts_human", "0B"},
		{"maxmemory", limit}, {"maxmemory_human", humanBytes(limit)}, {"maxmemory_policy", policy},
		{"allocator_frag_ratio", "1.00"}, {"allocator_frag_bytes", 0}, {"allocator_rss_ratio", ratio(rss, used)},
		{"allocator_rss_bytes", rss - used}, {"rss_overhead_ratio", "1.00"}, {"rss_overhead_bytes", 0},
		{"mem_fragmentation_ratio", ratio(rss, used)}, {"mem_fragmentation_bytes", rss - used},
		{"mem_not_counted_for_evict", 0}, {"mem_replication_backlog", 0}, {"mem_total_replication_buffers", 0},
		{"mem_clients_slaves", 0}, {"mem_clients_normal", 0}, {"mem_cluster_links", 0}, {"mem_aof_buffer", 0},
		{"mem_allocator", "go-" + runtime.Version()}, {"active_defrag_running", 0}, {"lazyfree_pending_objects", 0},
		{"lazyfreed_objects", 0},
	} {
		kv(sb, f.k, f.v)
	}
}

// peak records used and returns the highest seen (used_memory_peak).
func (g *memGauge) peak(used int64) int64 {
	for {
		p := g.peakUsed.Load()
		if used <= p || g.peakUsed.CompareAndSwap(p, used) {
			return max(p, used)
		}
	}
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
