package resp

import (
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/fsm"
)

// MEMORY answers on the node that receives it, as on one Redis instance:
// USAGE estimates a key's size from this node's own state (the estimate the
// eviction rounds use, fsm.KeyMemory) once it has applied the connection's
// own writes, STATS reports this process's Go heap
// in Redis's fields, PURGE returns freed memory to the OS, MALLOC-STATS says
// what Redis says for an allocator other than jemalloc.

var memoryHelp = []string{
	"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
	"HELP",
	"    Prints this help.",
}

// Redis's MEMORY DOCTOR texts for an instance under 5 MB and for one with
// nothing to report.
const (
	doctorEmpty = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. " +
		"Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
	doctorFine = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
)

func cmdMemory(c *conn, argv [][]byte) fsm.Value {
	switch strings.ToLower(string(argv[1])) {
	case "help":
		out := make([]fsm.Value, len(memoryHelp))
		for i, l := range memoryHelp {
			out[i] = fsm.Simple(l)
		}
		return fsm.Array(out)
	case "usage":
		return c.memoryUsage(argv)
	case "doctor":
		if used, _ := heapUsage(); used < 5<<20 {
			return fsm.BulkString(doctorEmpty)
		}
		return fsm.BulkString(doctorFine)
	case "malloc-stats":
		return fsm.BulkString("Stats not supported for the current allocator")
	case "purge":
		debug.FreeOSMemory()
		return fsm.OK
	case "stats":
		return c.srv.memoryStats()
	}
	return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Try MEMORY HELP.")
}

// memoryUsage: MEMORY USAGE key [SAMPLES count]. The estimate counts every
// element, so SAMPLES is checked as Redis checks it and then has no effect.
func (c *conn) memoryUsage(argv [][]byte) fsm.Value {
	for j := 3; j < len(argv); j++ {
		if !strings.EqualFold(string(argv[j]), "samples") || j+1 >= len(argv) {
			return fsm.Err("ERR syntax error")
		}
		n, err := strconv.ParseInt(string(argv[j+1]), 10, 64)
		if err != nil {
			return fsm.Err("ERR value is not an integer or out of range")
		}
		if n < 0 {
			return fsm.Err("ERR syntax error")
		}
		j++
	}
	if !c.srv.node.IsLeader() {
		// This node's state, but not older than the connection's own
		// writes (forwarded through its relay): read your writes.
		c.askWriteIndex()
		c.ownWriteApplied()
	}
	size, ok := c.srv.node.FSM().KeyMemory(c.db, time.Now().UnixMilli(), argv[2])
	if !ok {
		return fsm.Null
	}
	return fsm.Int(size)
}

// heapUsage is the heap's objects (used_memory) and what the process holds
// from the OS (used_memory_rss).
func heapUsage() (used, rss int64) {
	samples := []metrics.Sample{{Name: heapObjects}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	val := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	return val(0), val(1) - val(2)
}

// memoryStats is MEMORY STATS with Redis 7.0's fields in its order: the
// same measures as INFO memory; what has no counterpart here is 0.
func (s *Server) memoryStats() fsm.Value {
	used, rss := heapUsage()
	peak := s.lim.mem.peak(used)
	ratio := func(a, b int64) fsm.Value {
		if b == 0 {
			return fsm.Value{Kind: fsm.KindDouble, Str: []byte("0")}
		}
		return fsm.Value{Kind: fsm.KindDouble, Str: []byte(strconv.FormatFloat(float64(a)/float64(b), 'g', 17, 64))}
	}
	var out []fsm.Value
	add := func(k string, v fsm.Value) { out = append(out, fsm.BulkString(k), v) }
	num := func(k string, n int64) { add(k, fsm.Int(n)) }
	num("peak.allocated", peak)
	num("total.allocated", used)
	num("startup.allocated", 0)
	for _, k := range []string{"replication.backlog", "clients.slaves", "clients.normal", "cluster.links", "aof.buffer", "lua.caches", "functions.caches"} {
		num(k, 0)
	}
	keys := 0
	for _, d := range s.node.FSM().DBStats() {
		keys += d.Keys
		add("db."+strconv.Itoa(d.DB), fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
			fsm.BulkString("overhead.hashtable.main"), fsm.Int(0),
			fsm.BulkString("overhead.hashtable.expires"), fsm.Int(0),
			fsm.BulkString("overhead.hashtable.slot-to-keys"), fsm.Int(0),
		}})
	}
	num("overhead.total", 0)
	num("keys.count", int64(keys))
	perKey := int64(0)
	if keys > 0 {
		perKey = used / int64(keys)
	}
	num("keys.bytes-per-key", perKey)
	num("dataset.bytes", used)
	add("dataset.percentage", ratio(100*used, max(used, 1)))
	add("peak.percentage", ratio(100*used, max(peak, 1)))
	num("allocator.allocated", used)
	num("allocator.active", used)
	num("allocator.resident", rss)
	add("allocator-fragmentation.ratio", ratio(1, 1))
	num("allocator-fragmentation.bytes", 0)
	add("allocator-rss.ratio", ratio(rss, used))
	num("allocator-rss.bytes", rss-used)
	add("rss-overhead.ratio", ratio(1, 1))
	num("rss-overhead.bytes", 0)
	add("fragmentation", ratio(rss, used))
	num("fragmentation.bytes", rss-used)
	return fsm.Value{Kind: fsm.KindMap, Arr: out}
}
