package resp

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// Per-command and per-error counters (INFO commandstats and errorstats, the
// Prometheus metrics) and the hook that feeds them and the slow log.
//
// The hot path costs one read of an immutable map (the command's index,
// looked up at dispatch), two clock reads and a few atomic adds per command;
// nothing takes a lock. A command is timed from its dispatch until the
// writer has its reply ready and written to the connection's buffer, so a
// write's time includes its Raft commit and a forwarded command's the round
// trip to the leader.

// cmdCounter is one command's counters.
type cmdCounter struct {
	name   string
	calls  atomic.Int64
	failed atomic.Int64 // answered with an error
	// rejected: refused before it ran (arity, permissions, OOM ...), as
	// Redis's rejected_calls; not counted in calls.
	rejected atomic.Int64
	nanos    atomic.Int64
	// untimed commands (blocking ones) count calls but no time, as Redis
	// leaves the blocked time out.
	untimed bool
	noSlow  bool
	fast    bool // Redis's fast flag: its slow calls are "fast-command" latency events
	// hist counts the calls by duration while latency-tracking is on: hist[k]
	// those of at most 1024<<k ns, Redis's histogram_usec buckets (latency.go).
	hist [histBuckets]atomic.Int64
}

const histBuckets = 32

// histBucket is the bucket of a call that took d.
func histBucket(d time.Duration) int {
	for k := range histBuckets {
		if d <= time.Duration(1024)<<k {
			return k
		}
	}
	return histBuckets - 1
}

// maxErrorKinds bounds the distinct error prefixes counted, as Redis does
// (errors past it are counted in the total only).
const maxErrorKinds = 128

// cmdStats holds one server's counters.
type cmdStats struct {
	table []cmdCounter // parallel to statSpecs (table.go)

	mu     sync.Mutex
	errors map[string]*atomic.Int64
	errAll atomic.Int64
}

func newCmdStats() *cmdStats {
	s := &cmdStats{
		table:  make([]cmdCounter, len(statSpecs)),
		errors: map[string]*atomic.Int64{},
	}
	for i, spec := range statSpecs {
		s.table[i].name = spec.Name
		s.table[i].untimed = untimed(spec)
		s.table[i].noSlow = noSlowlog(spec)
		s.table[i].fast = spec.Has(cmdtab.Fast)
	}
	return s
}

// reset zeroes every counter (CONFIG RESETSTAT).
func (s *cmdStats) reset() {
	for i := range s.table {
		c := &s.table[i]
		c.calls.Store(0)
		c.failed.Store(0)
		c.rejected.Store(0)
		c.nanos.Store(0)
		for k := range c.hist {
			c.hist[k].Store(0)
		}
	}
	s.mu.Lock()
	s.errors = map[string]*atomic.Int64{}
	s.mu.Unlock()
	s.errAll.Store(0)
}

// counter returns the counters of a (sub)command, or nil for none (an
// unknown command counts as an error only).
func (s *cmdStats) counter(spec *cmdtab.Spec) *cmdCounter {
	if i, ok := statIndex[spec]; ok {
		return &s.table[i]
	}
	return nil
}

// countError counts one error reply by its prefix ("ERR", "WRONGTYPE").
func (s *cmdStats) countError(prefix string) {
	s.errAll.Add(1)
	s.mu.Lock()
	n := s.errors[prefix]
	if n == nil && len(s.errors) < maxErrorKinds {
		n = new(atomic.Int64)
		s.errors[prefix] = n
	}
	s.mu.Unlock()
	if n != nil {
		n.Add(1)
	}
}

// each calls fn for every command called at least once, by name.
func (s *cmdStats) each(fn func(c *cmdCounter)) {
	var all []*cmdCounter
	for i := range s.table {
		if s.table[i].calls.Load() > 0 || s.table[i].rejected.Load() > 0 {
			all = append(all, &s.table[i])
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, c := range all {
		fn(c)
	}
}

// eachError calls fn for every error prefix seen, sorted.
func (s *cmdStats) eachError(fn func(prefix string, n int64)) {
	type kind struct {
		prefix string
		n      *atomic.Int64
	}
	s.mu.Lock()
	all := make([]kind, 0, len(s.errors))
	for k, n := range s.errors {
		all = append(all, kind{k, n})
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].prefix < all[j].prefix })
	for _, k := range all {
		fn(k.prefix, k.n.Load())
	}
}

// curCmd is the command being dispatched on a connection: the first slot
// pushed for it carries its counters, start time and (for the slow log) a
// copy of its arguments. Reader goroutine only.
type curCmd struct {
	counter  *cmdCounter
	start    time.Time
	argv     [][]byte
	pending  bool
	rejected bool
}

// cmdMeta rides on a slot (embedded) to the writer.
type cmdMeta struct {
	counter  *cmdCounter
	start    time.Time
	rejected bool
	args     []byte // packed arguments for the slow log (packArgs), or nil
	argBuf   [48]byte
}

// beginCmd notes the command about to be dispatched.
func (c *conn) beginCmd(spec *cmdtab.Spec, argv [][]byte) {
	c.cur = curCmd{counter: c.srv.cmdstats.counter(spec), start: time.Now(), argv: argv, pending: true}
}

// reject marks the current command as refused before it ran (Redis's
// rejected_calls): unknown arguments, permissions, memory, subscribe mode.
func (c *conn) reject() { c.cur.rejected = true }

// stamp hands the current command's accounting to its first reply slot.
func (c *conn) stamp(s *slot) {
	if !c.cur.pending {
		return
	}
	c.cur.pending = false
	s.counter, s.start, s.rejected = c.cur.counter, c.cur.start, c.cur.rejected
	// Unknown commands are not logged (Redis rejects them before running
	// them); nor are those whose arguments may hold secrets.
	if c.srv.slowlog.enabled() && s.counter != nil && !s.counter.noSlow {
		s.args = packArgs(s.argBuf[:0], c.cur.argv)
	}
	c.cur.argv = nil
}

// finish accounts for a reply the writer has just written: v, or raw when
// it relayed the leader's reply as it came.
func (c *conn) finish(s *slot, v fsm.Value, raw []byte) {
	var prefix []byte
	switch {
	case raw != nil:
		if len(raw) > 0 && raw[0] == '-' {
			prefix = errPrefix(raw[1:])
		}
	case v.Kind == fsm.KindError:
		prefix = errPrefix(v.Str)
	}
	if prefix != nil {
		c.srv.cmdstats.countError(string(prefix))
	}
	if s.start.IsZero() {
		return // not the first reply of a command (or a protocol error)
	}
	d := time.Since(s.start)
	if ct := s.counter; ct != nil && s.rejected {
		ct.rejected.Add(1)
		return
	}
	if ct := s.counter; ct != nil {
		ct.calls.Add(1)
		if prefix != nil {
			ct.failed.Add(1)
		}
		if ct.untimed {
			return
		}
		ct.nanos.Add(int64(d))
		if c.srv.latencyTracking.Load() {
			ct.hist[histBucket(d)].Add(1)
		}
		c.srv.latency.observe(ct.fast, d)
	}
	if s.args != nil {
		c.srv.slowlog.maybeAdd(c, s.args, d)
	}
}

// errPrefix is an error reply's code: its first word ("ERR", "WRONGTYPE").
func errPrefix(msg []byte) []byte {
	end := bytes.IndexAny(msg, " \r\n")
	if end < 0 {
		end = len(msg)
	}
	if end == 0 || end > 32 {
		return []byte("ERR")
	}
	return msg[:end]
}

// infoCommandstats renders INFO commandstats as Redis 7 does.
func (s *Server) infoCommandstats(sb *strings.Builder) {
	s.cmdstats.each(func(c *cmdCounter) {
		calls := c.calls.Load()
		usec := c.nanos.Load() / 1000
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		fmt.Fprintf(sb, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			c.name, calls, usec, perCall, c.rejected.Load(), c.failed.Load())
	})
}

// infoErrorstats renders INFO errorstats as Redis 7 does.
func (s *Server) infoErrorstats(sb *strings.Builder) {
	s.cmdstats.eachError(func(prefix string, n int64) {
		fmt.Fprintf(sb, "errorstat_%s:count=%d\r\n", prefix, n)
	})
}

// Stats is a snapshot of the RESP server's counters, for metrics.
type Stats struct {
	ConnectedClients int
	ConnectionsTotal int64
	Commands         int64 // requests parsed
	Reads, Writes    int64 // served on this node as leader
	Forwarded        int64 // relayed to the leader
	Redirected       int64 // answered -MOVED
	Rejected         int64 // answered TRYAGAIN (not executed)
	Uncertain        int64 // answered UNCERTAIN
	ProtocolErrors   int64
	ErrorReplies     int64
	SlowlogLen       int
}

// Stats returns the server's counters now.
func (s *Server) Stats() Stats {
	st := &s.stats
	return Stats{
		ConnectedClients: s.numConns(),
		ConnectionsTotal: st.connsTotal.Load(),
		Commands:         st.commands.Load(),
		Reads:            st.readsServed.Load(),
		Writes:           st.writesServed.Load(),
		Forwarded:        st.forwarded.Load(),
		Redirected:       st.redirected.Load(),
		Rejected:         st.rejected.Load(),
		Uncertain:        st.uncertain.Load(),
		ProtocolErrors:   st.protoErrors.Load(),
		ErrorReplies:     s.cmdstats.errAll.Load(),
		SlowlogLen:       s.slowlog.len(),
	}
}

// CommandStat is one command's counters.
type CommandStat struct {
	Name   string // lower case
	Calls  int64
	Failed int64 // answered with an error
	Time   time.Duration
}

// CommandStats calls fn for each command called at least once, by name.
func (s *Server) CommandStats(fn func(CommandStat)) {
	s.cmdstats.each(func(c *cmdCounter) {
		fn(CommandStat{Name: c.name, Calls: c.calls.Load(), Failed: c.failed.Load(), Time: time.Duration(c.nanos.Load())})
	})
}

// ErrorStats calls fn for each error code replied at least once ("ERR",
// "WRONGTYPE", "TRYAGAIN", ...), sorted.
func (s *Server) ErrorStats(fn func(prefix string, n int64)) {
	s.cmdstats.eachError(fn)
}
