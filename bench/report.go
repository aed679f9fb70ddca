package bench

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Target is one of the lead's goals, evaluated on a run's results.
type Target struct {
	Name     string
	Measured string
	Pass     bool
}

// Status is the PASS/FAIL marker.
func (t Target) Status() string {
	if t.Pass {
		return "PASS"
	}
	return "FAIL"
}

// FindThroughput returns the run of system on workload.
func (r Results) FindThroughput(system, workload string) (Throughput, bool) {
	for _, t := range r.Throughput {
		if t.System == system && t.Workload == workload {
			return t, true
		}
	}
	return Throughput{}, false
}

func (r Results) opsPerSec(system, workload string) float64 {
	t, _ := r.FindThroughput(system, workload)
	return t.OpsPerSec
}

// FindScale returns the scale result of system.
func (r Results) FindScale(system string) (Scale, bool) {
	for _, s := range r.Scale {
		if s.System == system {
			return s, true
		}
	}
	return Scale{}, false
}

// MemPerKey is the growth of the primary's RSS during the load, per key; NaN
// when unmeasured.
func (s Scale) MemPerKey() float64 {
	p, ok := s.Primary()
	if !ok || s.Keys <= 0 {
		return math.NaN()
	}
	return float64(p.RSSAfter-p.RSSBefore) / float64(s.Keys)
}

// AnonPerKey is like MemPerKey for RssAnon (heap, without file-backed pages
// such as a memory-mapped database).
func (s Scale) AnonPerKey() float64 {
	p, ok := s.Primary()
	if !ok || s.Keys <= 0 {
		return math.NaN()
	}
	return float64(p.AnonAfter-p.AnonBefore) / float64(s.Keys)
}

// DiskPerKey is the primary's bytes on disk per key; NaN when unmeasured.
func (s Scale) DiskPerKey() float64 {
	p, ok := s.Primary()
	if !ok || s.Keys <= 0 || p.DiskBytes <= 0 {
		return math.NaN()
	}
	return float64(p.DiskBytes) / float64(s.Keys)
}

// Targets evaluates the lead's goals. A goal whose inputs are missing fails.
func Targets(r Results) []Target {
	var out []Target
	ratioTarget := func(name string, a, b float64, min float64, what string) {
		q := Ratio(a, b)
		out = append(out, Target{
			Name:     name,
			Measured: fmt.Sprintf("%s (%s)", FormatRatio(q), what),
			Pass:     !math.IsNaN(q) && q >= min,
		})
	}
	us, aof := r.opsPerSec(SysUnderstudy, WlSet), r.opsPerSec(SysRedisAOF, WlSet)
	ratioTarget("durable SET throughput >= 0.5x Redis appendfsync always", us, aof, 0.5,
		fmt.Sprintf("%s vs %s ops/s", FormatOps(us), FormatOps(aof)))
	usg, etg := r.opsPerSec(SysUnderstudy, WlGet), r.opsPerSec(SysEtcd, WlGet)
	ratioTarget("linearizable GET >= 2x etcd", usg, etg, 2,
		fmt.Sprintf("%s vs %s ops/s", FormatOps(usg), FormatOps(etg)))
	usp := r.opsPerSec(SysUnderstudy, WlPipeSet)
	ratioTarget("pipelined SET (16/round trip) >= 3x our unpipelined SET", usp, us, 3,
		fmt.Sprintf("%s vs %s ops/s", FormatOps(usp), FormatOps(us)))

	found := false
	for _, f := range r.Failover {
		if f.System != SysUnderstudy {
			continue
		}
		found = true
		ok, failed := f.Unavailabilities()
		med := Median(ok)
		pass := failed == 0 && len(ok) > 0 && med < time.Second && f.Lost == 0 && f.Verified
		m := fmt.Sprintf("median %s, worst %s, %d lost of %d acked", FormatSeconds(med), FormatSeconds(MaxDuration(ok)), f.Lost, f.Acked)
		if failed > 0 {
			m += fmt.Sprintf(", %d of %d rounds did not recover", failed, len(f.Rounds))
		}
		if !f.Verified {
			m += ", acknowledged writes NOT verified"
		}
		out = append(out, Target{Name: "failover median < 1.0 s with zero lost writes (" + f.Client + ")", Measured: m, Pass: pass})
	}
	if !found {
		out = append(out, Target{Name: "failover median < 1.0 s with zero lost writes", Measured: "not measured"})
	}

	uss, _ := r.FindScale(SysUnderstudy)
	rs, _ := r.FindScale(SysRedisAOF)
	// Judged on anonymous memory, the process's own: bolt maps raft.db, so
	// the pages of it a leader reads (replicating to a follower catching
	// up) count in its RSS as file-backed page cache, which Redis's AOF
	// also occupies but, written with write(2), never maps. RSS is shown too.
	ua, ra := uss.AnonPerKey(), rs.AnonPerKey()
	um, rm := uss.MemPerKey(), rs.MemPerKey()
	q := Ratio(ua, ra)
	out = append(out, Target{
		Name: "memory per key <= 2x Redis",
		Measured: fmt.Sprintf("%s (%s vs %s bytes/key anonymous, leader; RSS incl. mapped raft.db %s vs %s, %s)",
			FormatRatio(q), formatBytes(ua), formatBytes(ra), formatBytes(um), formatBytes(rm), FormatRatio(Ratio(um, rm))),
		Pass: !math.IsNaN(q) && q <= 2,
	})
	return out
}

// FormatRatio prints a ratio as "1.23x", or "n/a" when unmeasured.
func FormatRatio(q float64) string {
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return "n/a"
	}
	if q >= 100 {
		return fmt.Sprintf("%.0fx", q)
	}
	return fmt.Sprintf("%.2fx", q)
}

// FormatOps prints a rate with thousands separators and no decimals.
func FormatOps(v float64) string {
	if math.IsNaN(v) || v <= 0 {
		return "-"
	}
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// FormatMs prints milliseconds with three significant digits or so.
func FormatMs(v Ms) string {
	f := float64(v)
	switch {
	case math.IsNaN(f) || f <= 0:
		return "-"
	case f < 1:
		return fmt.Sprintf("%.3f", f)
	case f < 10:
		return fmt.Sprintf("%.2f", f)
	case f < 100:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.0f", f)
}

// FormatSeconds prints a duration in seconds, "0.84 s".
func FormatSeconds(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func formatBytes(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

func formatMiB(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }

// Label is the human name of a system in tables and charts, with the log
// store an Understudy cluster ran.
func (r Results) Label(s string) string { return r.label(s) }

func (r Results) label(s string) string {
	if st := r.Stores[s]; st != "" && (s == SysUnderstudy || s == SysUnderstudyAlt) {
		return "Understudy (3 nodes, " + st + ")"
	}
	return systemLabel(s)
}

// systemLabel is the human name of a system in tables.
func systemLabel(s string) string {
	switch s {
	case SysUnderstudy:
		return "Understudy (3 nodes)"
	case SysUnderstudyAlt:
		return "Understudy (3 nodes, other log store)"
	case SysRedisAOF:
		return "Redis AOF always"
	case SysRedisMem:
		return "Redis no persistence"
	case SysEtcd:
		return "etcd (3 nodes)"
	case SysSentinel:
		return "Redis + 2 replicas + 3 Sentinels"
	}
	return s
}

var workloadOrder = []string{WlSet, WlGet, WlPipeSet, WlSet1K, WlSet16K, WlMixed, WlEvalSha}
var systemOrder = []string{SysUnderstudy, SysUnderstudyAlt, SysRedisAOF, SysRedisMem, SysEtcd, SysSentinel}

func orderIndex(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return len(list)
}

// Markdown renders the whole report: targets, throughput and latency with
// the Understudy/peer ratios, failover, scale, redis-benchmark, and every
// distinct error text seen.
func Markdown(r Results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Understudy benchmark, %s (%s mode)\n\n", r.Started, r.Mode)
	if r.Host != "" {
		p("Host: %s. Every system ran on this one machine at the same time, measured in turn, so read the ratios; absolute numbers are noisy.\n\n", r.Host)
	}

	p("## Targets\n\n| target | measured | result |\n|---|---|---|\n")
	for _, t := range Targets(r) {
		p("| %s | %s | **%s** |\n", t.Name, t.Measured, t.Status())
	}

	if len(r.Throughput) > 0 {
		p("\n## Throughput and latency\n\n")
		p("Latency is per round trip (a pipeline of 16 counts once). CPU is the server processes' user+system time per operation over the measured window, all nodes together (leader + followers for Understudy). The last column is %s's ops/s divided by that system's.\n\n", r.label(SysUnderstudy))
		p("| workload | system | clients | pipeline | value | ops/s | p50 ms | p99 ms | p99.9 ms | errors | CPU µs/op | Understudy / system |\n")
		p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		ts := append([]Throughput(nil), r.Throughput...)
		sort.SliceStable(ts, func(i, j int) bool {
			wi, wj := orderIndex(workloadOrder, ts[i].Workload), orderIndex(workloadOrder, ts[j].Workload)
			if wi != wj {
				return wi < wj
			}
			return orderIndex(systemOrder, ts[i].System) < orderIndex(systemOrder, ts[j].System)
		})
		for _, t := range ts {
			ratio := "-"
			if t.System != SysUnderstudy {
				ratio = FormatRatio(Ratio(r.opsPerSec(SysUnderstudy, t.Workload), t.OpsPerSec))
			}
			name := r.label(t.System)
			if t.Notes != "" {
				name += " (" + t.Notes + ")"
			}
			p("| %s | %s | %d | %d | %s | %s | %s | %s | %s | %d | %s | %s |\n", t.Workload, name, t.Clients, t.Pipeline,
				formatSize(t.ValueSize), FormatOps(t.OpsPerSec), FormatMs(t.P50), FormatMs(t.P99), FormatMs(t.P999), t.Errors,
				formatCPU(t), ratio)
		}
		r.cpuSection(p)
	}
	r.curveSection(p)

	if len(r.Failover) > 0 {
		p("\n## Failover: SIGKILL the leader under writes\n\n")
		p("Unavailability is the last acknowledgement before the kill to the first after it, as the writers saw it. Lost writes: acknowledged keys missing or wrong when read back from the new leader at the end.\n\n")
		p("| system | client | writers | rounds | median unavailable | worst | per round | acked writes | lost | errors |\n")
		p("|---|---|--:|--:|--:|--:|---|--:|--:|--:|\n")
		for _, f := range r.Failover {
			ok, failed := f.Unavailabilities()
			var per []string
			for _, rd := range f.Rounds {
				s := "no recovery"
				if rd.Recovered {
					s = fmt.Sprintf("%.2f", float64(rd.Unavailable)/1000)
				}
				if !rd.Rejoined {
					s += " (killed node did not rejoin)"
				}
				per = append(per, s)
			}
			worst := FormatSeconds(MaxDuration(ok))
			if failed > 0 {
				worst = fmt.Sprintf("%d not recovered", failed)
			}
			lost := fmt.Sprintf("%d", f.Lost)
			if !f.Verified {
				lost += " (not verified)"
			}
			p("| %s | %s | %d | %d | %s | %s | %s | %d | %s | %d |\n", r.label(f.System), f.Client, f.Writers, len(f.Rounds),
				FormatSeconds(Median(ok)), worst, strings.Join(per, ", "), f.Acked, lost, f.Errors)
		}
	}

	if len(r.Scale) > 0 {
		p("\n## Scale: bulk load, memory, disk, catch-up\n\n")
		p("RSS is VmRSS from /proc/PID/status before and after the load; per key is the growth of the leader's (or the single node's) RSS divided by the keys loaded. Disk is `du` of the node's data directory (Understudy: raft.db and snapshots; Redis: the AOF directory).\n\n")
		p("| system | keys | load time | keys/s | RSS growth per key | RssAnon growth per key | disk bytes per key | per node: role, RSS before -> after, disk | follower catch-up |\n")
		p("|---|--:|--:|--:|--:|--:|--:|---|--:|\n")
		for _, s := range r.Scale {
			var nodes []string
			for _, n := range s.Nodes {
				before := formatMiB(n.RSSBefore)
				if n.RSSBefore == 0 {
					before = "stopped"
				}
				nodes = append(nodes, fmt.Sprintf("%s %s: %s -> %s, %s", n.Node, n.Role, before, formatMiB(n.RSSAfter), formatMiB(n.DiskBytes)))
			}
			catch := "-"
			if s.System == SysUnderstudy {
				catch = "did not catch up"
				if s.CaughtUp {
					catch = FormatSeconds(time.Duration(float64(s.CatchUp) * float64(time.Millisecond)))
				}
			}
			rate := 0.0
			if s.LoadSeconds > 0 {
				rate = float64(s.Keys) / s.LoadSeconds
			}
			p("| %s | %d | %.2f s | %s | %s | %s | %s | %s | %s |\n", r.label(s.System), s.Keys, s.LoadSeconds, FormatOps(rate),
				formatBytes(s.MemPerKey()), formatBytes(s.AnonPerKey()), formatBytes(s.DiskPerKey()), strings.Join(nodes, "; "), catch)
		}
		us, _ := r.FindScale(SysUnderstudy)
		rs, _ := r.FindScale(SysRedisAOF)
		p("\nUnderstudy / Redis: load time %s, memory per key %s anonymous (RSS %s), disk per key %s.\n",
			FormatRatio(Ratio(us.LoadSeconds, rs.LoadSeconds)), FormatRatio(Ratio(us.AnonPerKey(), rs.AnonPerKey())),
			FormatRatio(Ratio(us.MemPerKey(), rs.MemPerKey())), FormatRatio(Ratio(us.DiskPerKey(), rs.DiskPerKey())))
		for _, s := range r.Scale {
			if s.Notes != "" {
				p("\n%s: %s\n", r.label(s.System), s.Notes)
			}
		}
	}

	if len(r.RedisBench) > 0 {
		p("\n## redis-benchmark (`-q -c 50 -t set,get`, with and without `-P 16`)\n\n")
		p("| target | pipeline | SET req/s | SET p50 ms | GET req/s | GET p50 ms | Understudy / target (SET, GET) |\n")
		p("|---|--:|--:|--:|--:|--:|---|\n")
		find := func(target string, pipe int, test string) RedisBenchLine {
			for _, rb := range r.RedisBench {
				if rb.Target == target && rb.Pipeline == pipe {
					for _, l := range rb.Lines {
						if l.Test == test {
							return l
						}
					}
				}
			}
			return RedisBenchLine{}
		}
		rbs := append([]RedisBench(nil), r.RedisBench...)
		sort.SliceStable(rbs, func(i, j int) bool {
			oi, oj := orderIndex(systemOrder, rbs[i].Target), orderIndex(systemOrder, rbs[j].Target)
			if oi != oj {
				return oi < oj
			}
			return rbs[i].Pipeline < rbs[j].Pipeline
		})
		for _, rb := range rbs {
			set, get := find(rb.Target, rb.Pipeline, "SET"), find(rb.Target, rb.Pipeline, "GET")
			ratio := "-"
			if rb.Target != SysUnderstudy {
				us, ug := find(SysUnderstudy, rb.Pipeline, "SET"), find(SysUnderstudy, rb.Pipeline, "GET")
				ratio = FormatRatio(Ratio(us.RPS, set.RPS)) + ", " + FormatRatio(Ratio(ug.RPS, get.RPS))
			}
			p("| %s | %d | %s | %s | %s | %s | %s |\n", r.label(rb.Target), rb.Pipeline, FormatOps(set.RPS), FormatMs(set.P50),
				FormatOps(get.RPS), FormatMs(get.P50), ratio)
		}
	}

	var errs []string
	for _, t := range r.Throughput {
		for _, e := range t.ErrorSamples {
			errs = append(errs, fmt.Sprintf("- %s / %s: %dx `%s`", t.System, t.Workload, e.Count, e.Text))
		}
	}
	for _, f := range r.Failover {
		for _, e := range f.ErrorSamples {
			errs = append(errs, fmt.Sprintf("- failover %s (%s): %dx `%s`", f.System, f.Client, e.Count, e.Text))
		}
		if f.Notes != "" {
			errs = append(errs, fmt.Sprintf("- failover %s (%s): %s", f.System, f.Client, f.Notes))
		}
	}
	for _, rb := range r.RedisBench {
		for _, e := range rb.Errors {
			errs = append(errs, fmt.Sprintf("- redis-benchmark %s -P %d: `%s`", rb.Target, rb.Pipeline, e))
		}
	}
	if len(errs) > 0 {
		p("\n## Errors seen (verbatim)\n\n%s\n", strings.Join(errs, "\n"))
	}
	return b.String()
}

func formatSize(n int) string {
	switch {
	case n <= 0:
		return "-"
	case n%1024 == 0:
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// formatCPU is a throughput row's CPU per operation, all processes.
func formatCPU(t Throughput) string {
	if len(t.CPU) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", t.CPUPerOp())
}

// cpuSection details, for the durable SET workload, each process's CPU
// time per acknowledged write, and the ratio to Redis's.
func (r Results) cpuSection(p func(string, ...any)) {
	var rows []Throughput
	for _, sys := range systemOrder {
		if t, ok := r.FindThroughput(sys, WlSet); ok && len(t.CPU) > 0 {
			rows = append(rows, t)
		}
	}
	if len(rows) == 0 {
		return
	}
	redis, _ := r.FindThroughput(SysRedisAOF, WlSet)
	p("\n### CPU per acknowledged SET\n\n")
	p("User+system CPU time of each server process over the measured window of the `set` workload, divided by the SETs acknowledged in it. The load generator's own CPU is not counted.\n\n")
	p("| system | per process (µs per SET) | all processes | / Redis AOF always |\n|---|---|--:|--:|\n")
	for _, t := range rows {
		var per []string
		for _, c := range t.CPU {
			per = append(per, fmt.Sprintf("%s %s %.0f", c.Name, c.Role, c.MicrosPerOp))
		}
		p("| %s | %s | %.0f | %s |\n", r.label(t.System), strings.Join(per, ", "), t.CPUPerOp(),
			FormatRatio(Ratio(t.CPUPerOp(), redis.CPUPerOp())))
	}
}

// curveSection is the throughput curve: SET at each client count.
func (r Results) curveSection(p func(string, ...any)) {
	if len(r.Curve) == 0 {
		return
	}
	var systems []string
	var counts []int
	for _, t := range r.Curve {
		if !slices.Contains(systems, t.System) {
			systems = append(systems, t.System)
		}
		if !slices.Contains(counts, t.Clients) {
			counts = append(counts, t.Clients)
		}
	}
	slices.SortFunc(systems, func(a, b string) int { return orderIndex(systemOrder, a) - orderIndex(systemOrder, b) })
	slices.Sort(counts)
	find := func(sys string, n int) (Throughput, bool) {
		for _, t := range r.Curve {
			if t.System == sys && t.Clients == n {
				return t, true
			}
		}
		return Throughput{}, false
	}
	p("\n## Throughput curve: SET of 100-byte values by number of clients\n\n")
	p("Each cell: ops/s, p50 latency, CPU µs per SET (all server processes). The last columns divide Understudy's ops/s by Redis AOF always's.\n\n")
	p("| clients |")
	for _, sys := range systems {
		p(" %s |", r.label(sys))
	}
	var us []string
	for _, sys := range []string{SysUnderstudy, SysUnderstudyAlt} {
		if slices.Contains(systems, sys) {
			us = append(us, sys)
			p(" %s / Redis AOF always |", r.label(sys))
		}
	}
	p("\n|--:|%s%s\n", strings.Repeat("--:|", len(systems)), strings.Repeat("--:|", len(us)))
	for _, n := range counts {
		p("| %d |", n)
		for _, sys := range systems {
			if t, ok := find(sys, n); ok {
				p(" %s, %s ms, %s |", FormatOps(t.OpsPerSec), FormatMs(t.P50), formatCPU(t))
			} else {
				p(" - |")
			}
		}
		redis, _ := find(SysRedisAOF, n)
		for _, sys := range us {
			t, _ := find(sys, n)
			p(" %s |", FormatRatio(Ratio(t.OpsPerSec, redis.OpsPerSec)))
		}
		p("\n")
	}
}
