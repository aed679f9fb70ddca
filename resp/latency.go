package resp

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// LATENCY: the latency monitor of the node that answers, as Redis keeps one
// per instance. With latency-monitor-threshold (ms, node-local CONFIG) above
// 0, a command that took at least that long adds a sample to its event,
// "command" or "fast-command" (Redis's only events that have a counterpart
// here: no fork, AOF or expire cycle). Each event keeps Redis's 160 samples,
// one per second (the worst of that second), and its all-time worst.
// LATENCY HISTOGRAM reports each command's latencies in Redis's power-of-two
// microsecond buckets, counted in cmdstats.go while latency-tracking is yes.

const latencySamples = 160 // Redis's LATENCY_TS_LEN

type latencySample struct{ time, ms int64 }

type latencyEvent struct {
	samples [latencySamples]latencySample
	idx     int // next slot
	max     int64
}

type latencyMonitor struct {
	thresholdMs atomic.Int64
	mu          sync.Mutex
	events      map[string]*latencyEvent
}

// observe records a command's duration if the monitor is on and it is slow.
func (m *latencyMonitor) observe(fast bool, d time.Duration) {
	th := m.thresholdMs.Load()
	ms := d.Milliseconds()
	if th <= 0 || ms < th {
		return
	}
	event := "command"
	if fast {
		event = "fast-command"
	}
	now := time.Now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		m.events = map[string]*latencyEvent{}
	}
	e := m.events[event]
	if e == nil {
		e = &latencyEvent{}
		m.events[event] = e
	}
	e.max = max(e.max, ms)
	prev := &e.samples[(e.idx+latencySamples-1)%latencySamples]
	if prev.time == now { // one sample a second: the worst
		prev.ms = max(prev.ms, ms)
		return
	}
	e.samples[e.idx] = latencySample{time: now, ms: ms}
	e.idx = (e.idx + 1) % latencySamples
}

// history is an event's samples, oldest first.
func (e *latencyEvent) history() []latencySample {
	var out []latencySample
	for j := range latencySamples {
		if s := e.samples[(e.idx+j)%latencySamples]; s.time != 0 {
			out = append(out, s)
		}
	}
	return out
}

var latencyHelp = []string{
	"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return a human readable latency analysis report.",
	"GRAPH <event>",
	"    Return an ASCII latency graph for the <event> class.",
	"HISTORY <event>",
	"    Return time-latency samples for the <event> class.",
	"LATEST",
	"    Return the latest latency samples for all events.",
	"RESET [<event> ...]",
	"    Reset latency data of one or more <event> classes.",
	"    (default: reset all data for all event classes)",
	"HISTOGRAM [COMMAND ...]",
	"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
	"    If no commands are specified then all histograms are replied.",
	"HELP",
	"    Prints this help.",
}

func cmdLatency(c *conn, argv [][]byte) fsm.Value {
	m := &c.srv.latency
	sub := strings.ToLower(string(argv[1]))
	switch {
	case sub == "help" && len(argv) == 2:
		out := make([]fsm.Value, len(latencyHelp))
		for i, l := range latencyHelp {
			out[i] = fsm.Simple(l)
		}
		return fsm.Array(out)
	case sub == "histogram":
		return c.srv.latencyHistogram(argv[2:])
	case sub == "latest" && len(argv) == 2:
		m.mu.Lock()
		defer m.mu.Unlock()
		out := []fsm.Value{}
		for _, name := range sortedEvents(m.events) {
			e := m.events[name]
			last := e.samples[(e.idx+latencySamples-1)%latencySamples]
			out = append(out, fsm.Array([]fsm.Value{fsm.BulkString(name), fsm.Int(last.time), fsm.Int(last.ms), fsm.Int(e.max)}))
		}
		return fsm.Array(out)
	case sub == "history" && len(argv) == 3:
		m.mu.Lock()
		defer m.mu.Unlock()
		out := []fsm.Value{}
		if e := m.events[string(argv[2])]; e != nil {
			for _, s := range e.history() {
				out = append(out, fsm.Array([]fsm.Value{fsm.Int(s.time), fsm.Int(s.ms)}))
			}
		}
		return fsm.Array(out)
	case sub == "graph" && len(argv) == 3:
		m.mu.Lock()
		defer m.mu.Unlock()
		e := m.events[string(argv[2])]
		if e == nil {
			return fsm.Err(fmt.Sprintf("ERR No samples available for event '%s'", argv[2]))
		}
		return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(latencyGraph(string(argv[2]), e, time.Now().Unix()))}
	case sub == "doctor" && len(argv) == 2:
		return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(c.srv.latencyDoctor())}
	case sub == "reset":
		m.mu.Lock()
		defer m.mu.Unlock()
		n := 0
		if len(argv) == 2 {
			n = len(m.events)
			m.events = nil
		}
		for _, ev := range argv[2:] {
			if _, ok := m.events[string(ev)]; ok {
				delete(m.events, string(ev))
				n++
			}
		}
		return fsm.Int(int64(n))
	}
	return fsm.Err(cmdtab.UnknownSubcommand(lookupCommand([]byte("latency")).Spec, argv[1]))
}

func sortedEvents(m map[string]*latencyEvent) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// latencyGraph draws an event's samples as Redis's LATENCY GRAPH does: a
// header, then an 80-column sparkline four rows high with each sample's age
// written downwards under it.
func latencyGraph(event string, e *latencyEvent, now int64) string {
	h := e.history()
	lo, hi := h[0].ms, h[0].ms
	for _, s := range h {
		lo, hi = min(lo, s.ms), max(hi, s.ms)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, e.max)
	b.WriteString(strings.Repeat("-", 80) + "\n")
	labels := make([]string, len(h))
	for i, s := range h {
		switch age := now - s.time; {
		case age < 60:
			labels[i] = fmt.Sprintf("%ds", age)
		case age < 3600:
			labels[i] = fmt.Sprintf("%dm", age/60)
		case age < 86400:
			labels[i] = fmt.Sprintf("%dh", age/3600)
		default:
			labels[i] = fmt.Sprintf("%dd", age/86400)
		}
	}
	for start := 0; start < len(h); start += 80 {
		if start > 0 {
			b.WriteString("\n")
		}
		end := min(start+80, len(h))
		sparkline(&b, h[start:end], labels[start:end], lo, hi)
	}
	return b.String()
}

// sparkline renders samples in four rows of "_o#" (filled below with '|'),
// a blank row, then the labels one character a row.
func sparkline(b *strings.Builder, h []latencySample, labels []string, lo, hi int64) {
	const rows, levels = 4, 3
	span := float64(hi - lo)
	if span == 0 {
		span = 1
	}
	steps := make([]int, len(h))
	for i, s := range h {
		st := int(float64(s.ms-lo) * rows * levels / span)
		steps[i] = min(max(st, 0), rows*levels-1)
	}
	line := make([]byte, len(h))
	for row := 0; row < rows; row++ {
		for i, st := range steps {
			switch idx := st - (rows-row-1)*levels; {
			case idx >= 0 && idx < levels:
				line[i] = "_o#"[idx]
			case idx >= levels:
				line[i] = '|'
			default:
				line[i] = ' '
			}
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	longest := 0
	for _, l := range labels {
		longest = max(longest, len(l))
	}
	b.WriteString(strings.Repeat(" ", len(h)) + "\n")
	for r := 0; r < longest; r++ {
		for i, l := range labels {
			line[i] = ' '
			if r < len(l) {
				line[i] = l[r]
			}
		}
		b.Write(line)
		b.WriteByte('\n')
	}
}

// latencyDoctor is LATENCY DOCTOR: Redis's texts when the monitor is off
// or saw nothing, else a summary of each event.
func (s *Server) latencyDoctor() string {
	m := &s.latency
	if m.thresholdMs.Load() <= 0 {
		return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. " +
			"You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. " +
			"If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) == 0 {
		return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. " +
			"I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
	}
	var b strings.Builder
	b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
	for i, name := range sortedEvents(m.events) {
		e := m.events[name]
		h := e.history()
		var sum int64
		for _, x := range h {
			sum += x.ms
		}
		avg := float64(sum) / float64(len(h))
		var dev float64
		for _, x := range h {
			dev += math.Abs(float64(x.ms) - avg)
		}
		period := 1.0
		if len(h) > 1 {
			period = float64(h[len(h)-1].time-h[0].time) / float64(len(h)-1)
		}
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.\n",
			i+1, name, len(h), int64(avg), int64(dev/float64(len(h))), period, e.max)
	}
	b.WriteString("\nI have a few advices for you:\n\n" +
		"- Check your Slow Log to understand what are the commands you are running which are too slow to execute. " +
		"Please check https://redis.io/commands/slowlog for more information.\n" +
		"- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. " +
		"If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n")
	return b.String()
}

// latencyHistogram is LATENCY HISTOGRAM [command ...]: for each command (a
// container's subcommands one by one) called while latency-tracking was
// on, its calls and the cumulative count at each bucket where it grows,
// keyed by the bucket's bound in microseconds.
func (s *Server) latencyHistogram(names [][]byte) fsm.Value {
	var counters []*cmdCounter
	if len(names) == 0 {
		for i := range s.cmdstats.table {
			counters = append(counters, &s.cmdstats.table[i])
		}
	} else {
		seen := map[*cmdCounter]bool{}
		for _, n := range names {
			cmd := lookupCommand(n)
			if cmd == nil {
				continue
			}
			specs := []*cmdtab.Spec{cmd.Spec}
			if len(cmd.Subs) > 0 {
				specs = specs[:0]
				for _, sub := range cmd.Subs {
					specs = append(specs, sub)
				}
				sortSpecs(specs)
			}
			for _, sp := range specs {
				if ct := s.cmdstats.counter(sp); ct != nil && !seen[ct] {
					seen[ct] = true
					counters = append(counters, ct)
				}
			}
		}
	}
	if len(names) == 0 {
		sort.Slice(counters, func(i, j int) bool { return counters[i].name < counters[j].name })
	}
	out := []fsm.Value{}
	for _, ct := range counters {
		var buckets []fsm.Value
		var total int64
		for k := range ct.hist {
			n := ct.hist[k].Load()
			if n == 0 {
				continue
			}
			total += n
			buckets = append(buckets, fsm.Int(int64(1024<<k)/1000), fsm.Int(total))
		}
		if total == 0 {
			continue
		}
		out = append(out, fsm.BulkString(ct.name), fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
			fsm.BulkString("calls"), fsm.Int(total),
			fsm.BulkString("histogram_usec"), fsm.Value{Kind: fsm.KindMap, Arr: buckets},
		}})
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: out}
}

// infoLatencystats is INFO latencystats: each command's percentiles
// (latency-tracking-info-percentiles) in microseconds, from its histogram:
// the bound of the bucket holding the percentile, coarser than Redis's HDR
// histogram (docs/compat.md).
func (s *Server) infoLatencystats(sb *strings.Builder) {
	if !s.latencyTracking.Load() {
		return
	}
	s.conf.mu.Lock()
	pcts := strings.Fields(s.conf.vals["latency-tracking-info-percentiles"])
	s.conf.mu.Unlock()
	counters := make([]*cmdCounter, 0, len(s.cmdstats.table))
	for i := range s.cmdstats.table {
		counters = append(counters, &s.cmdstats.table[i])
	}
	sort.Slice(counters, func(i, j int) bool { return counters[i].name < counters[j].name })
	for _, ct := range counters {
		var hist [histBuckets]int64
		var total int64
		for k := range ct.hist {
			hist[k] = ct.hist[k].Load()
			total += hist[k]
		}
		if total == 0 {
			continue
		}
		parts := make([]string, 0, len(pcts))
		for _, p := range pcts {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil {
				continue
			}
			want := int64(math.Ceil(f / 100 * float64(total)))
			var seen int64
			k := 0
			for ; k < histBuckets-1; k++ {
				if seen += hist[k]; seen >= max(want, 1) {
					break
				}
			}
			parts = append(parts, fmt.Sprintf("p%s=%.3f", p, float64(int64(1024)<<k)/1000))
		}
		fmt.Fprintf(sb, "latency_percentiles_usec_%s:%s\r\n", ct.name, strings.Join(parts, ","))
	}
}
