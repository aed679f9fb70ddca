package checker

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FaultRecord is one injected fault: when it was injected and healed, and
// when the cluster was whole again (a leader known to every running node).
type FaultRecord struct {
	N         int    `json:"n"`
	Kind      string `json:"kind"`
	Target    string `json:"target"`
	Start     int64  `json:"start_ns"`
	Healed    int64  `json:"healed_ns"`
	Recovered int64  `json:"recovered_ns"` // Never if it did not recover in time
	Error     string `json:"error,omitempty"`
	Note      string `json:"note,omitempty"`
	Phase     string `json:"phase,omitempty"` // "each": the first pass, every kind alone; "mix": random
	// Filled by the report: the longest gap without a successful write from
	// this fault's start to the next fault's, and the first write after healing.
	WriteGap       Gap   `json:"write_gap"`
	FirstWriteHeal int64 `json:"first_write_after_heal_ns"`
}

// WorkloadSummary is one workload's operations by outcome, and its failures
// by cause.
type WorkloadSummary struct {
	Name    string         `json:"name"`
	Clients int            `json:"clients"`
	Counts  Counts         `json:"counts"`
	Writes  Counts         `json:"writes"`
	Errors  map[string]int `json:"errors,omitempty"`
	Notes   []string       `json:"notes,omitempty"`
}

// NodeState is one node at the end of the run.
type NodeState struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Term    uint64 `json:"term"`
	Applied uint64 `json:"applied_index"`
	Keys    int64  `json:"keys"` // INFO keyspace: keys= summed over every db
	// Digest is DEBUG DIGEST of the node's state, taken at DigestApplied.
	Digest        string `json:"digest,omitempty"`
	DigestApplied uint64 `json:"digest_applied,omitempty"`
	Err           string `json:"error,omitempty"`
}

// Convergence is the final check: every node at the same applied index with
// the same number of keys.
type Convergence struct {
	Converged bool        `json:"converged"`
	Waited    string      `json:"waited"`
	Nodes     []NodeState `json:"nodes"`
	Detail    string      `json:"detail,omitempty"`
}

// InvariantRow is one line of the report's invariant table.
type InvariantRow struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Report is everything a run found; it renders as Markdown and JSON.
type Report struct {
	Verdict      string            `json:"verdict"`               // PASS, FAIL, NOT PROVEN or INTERRUPTED
	Interrupted  bool              `json:"interrupted,omitempty"` // cut short by a signal
	Mode         string            `json:"mode"`
	Seed         int64             `json:"seed"`
	Started      time.Time         `json:"started"`
	Duration     string            `json:"duration"`
	Elapsed      string            `json:"elapsed"`
	Binary       string            `json:"binary,omitempty"`
	Replay       string            `json:"replay"`
	Nodes        []string          `json:"nodes"`
	Invariants   []InvariantRow    `json:"invariants"`
	Faults       []FaultRecord     `json:"faults"`
	Workloads    []WorkloadSummary `json:"workloads"`
	Register     *RegisterVerdict  `json:"register,omitempty"`
	Append       *AppendVerdict    `json:"append,omitempty"`
	Counter      *CounterVerdict   `json:"counter,omitempty"`
	Script       *ScriptVerdict    `json:"script,omitempty"`
	Stream       *StreamVerdict    `json:"stream,omitempty"`
	LeaderTerms  int               `json:"leader_terms"`
	StatusPolls  int               `json:"status_polls"`
	LongestGap   Gap               `json:"longest_write_gap"`
	LostWrites   int64             `json:"lost_acknowledged_writes"`
	Convergence  Convergence       `json:"convergence"`
	Violations   []Violation       `json:"violations"`
	Notes        []string          `json:"notes,omitempty"`
	Files        []string          `json:"files,omitempty"`
	Linearizable string            `json:"linearizable"`
}

var invariantNames = []struct{ id, name string }{
	{"I1", "linearizable"},
	{"I2", "no lost acknowledged write"},
	{"I3", "no stale read"},
	{"I4", "no empty or rolled-back read after restart/election"},
	{"I5", "honest errors"},
	{"I6", "at most one leader per term"},
	{"I7", "convergence"},
	{"I8", "monotonic term and applied index"},
	{"I9", "restart safety"},
	{"I10", "recovery"},
	{"I11", "no duplicate application, no crossed replies"},
}

// Finish fills the derived fields: per-fault gaps, totals, the invariant
// table and the verdict. successes are the sorted times of successful
// writes; end is when the workload stopped.
func (r *Report) Finish(successes []int64, start, end int64) {
	for i := range r.Faults {
		f := &r.Faults[i]
		to := end
		if i+1 < len(r.Faults) {
			to = r.Faults[i+1].Start
		}
		f.WriteGap = LongestGap(successes, f.Start, max(to, f.Start))
		f.FirstWriteHeal = FirstAfter(successes, f.Healed)
	}
	r.LongestGap = LongestGap(successes, start, end)
	if r.Register != nil {
		r.LostWrites += int64(r.Register.LostWrites)
		r.Linearizable = r.Register.Linearizable
	} else {
		r.Linearizable = LinSkipped
	}
	if r.Append != nil {
		r.LostWrites += int64(r.Append.LostAppends)
	}
	if r.Counter != nil {
		r.LostWrites += r.Counter.LostIncrs
	}
	if r.Script != nil {
		r.LostWrites += int64(r.Script.CAS.LostWrites) + r.Script.LostTransfers
		// Its CAS history is a second porcupine check: either one not
		// proven leaves the run not proven.
		if r.Linearizable != LinNo && r.Script.CAS.Linearizable == LinUnknown {
			r.Linearizable = LinUnknown
		}
		if r.Script.CAS.Linearizable == LinNo {
			r.Linearizable = LinNo
		}
	}
	if r.Stream != nil {
		r.LostWrites += int64(r.Stream.LostAdds)
	}
	byInv := map[string][]Violation{}
	for _, v := range r.Violations {
		byInv[v.Invariant] = append(byInv[v.Invariant], v)
	}
	restarts := 0
	for _, f := range r.Faults {
		if strings.HasPrefix(f.Kind, "kill") || f.Kind == "wipe-follower" {
			restarts++
		}
	}
	r.Invariants = nil
	for _, in := range invariantNames {
		row := InvariantRow{ID: in.id, Name: in.name, Status: "ok"}
		switch in.id {
		case "I1":
			switch r.Linearizable {
			case LinUnknown:
				row.Status, row.Detail = "not proven", "porcupine timed out on the register history (appends and counters checked)"
			case LinSkipped:
				row.Detail = "no register history; append and counter histories checked"
			default:
				row.Detail = fmt.Sprintf("register (and script CAS, when run): porcupine says %s; script transfers keep their sums", r.Linearizable)
			}
		case "I2":
			row.Detail = fmt.Sprintf("%d lost acknowledged writes", r.LostWrites)
		case "I3":
			row.Detail = "register reads (porcupine); append and counter reads bounded by what was acknowledged before them; stream deliveries never go back, none after an acknowledged XACK"
		case "I5":
			row.Detail = "no value of a write reported failed (or aborted) was ever read; counters <= acknowledged + unknown"
		case "I8":
			row.Detail = "term per node across restarts, applied index per process, from the status polls"
		case "I11":
			row.Detail = "every written value, pushed element and stream entry applied at most once; INCR replies distinct; RPUSH replies match positions, XADD replies the entries' IDs"
		case "I4":
			row.Detail = fmt.Sprintf("checked by I1/I3 across %d elections and %d crash/restart faults", r.LeaderTerms, restarts)
		case "I6":
			row.Detail = fmt.Sprintf("%d status polls, leaders seen in %d terms", r.StatusPolls, r.LeaderTerms)
		case "I7":
			if !r.Convergence.Converged {
				row.Status = "violated"
			}
			row.Detail = r.Convergence.Detail
		case "I9":
			row.Detail = fmt.Sprintf("%d crash/restart faults", restarts)
		case "I10":
			recovered := 0
			for _, f := range r.Faults {
				if f.Recovered != Never {
					recovered++
				}
			}
			row.Detail = fmt.Sprintf("%d of %d faults recovered", recovered, len(r.Faults))
		}
		if vs := byInv[in.id]; len(vs) > 0 {
			row.Status = fmt.Sprintf("violated (%d)", len(vs))
			row.Detail = vs[0].String()
		}
		r.Invariants = append(r.Invariants, row)
	}
	switch {
	case len(r.Violations) > 0 || !r.Convergence.Converged:
		r.Verdict = VerdictFail
	case r.Interrupted:
		r.Verdict = VerdictInterrupted
	case r.Linearizable == LinUnknown:
		r.Verdict = VerdictNotProven
	default:
		r.Verdict = VerdictPass
	}
}

// Verdicts of a run. NOT PROVEN is no pass: no violation was found, but a
// check could not finish (porcupine timed out), so safety was not shown.
// INTERRUPTED: a signal cut the run short and nothing was violated in what
// it recorded; it did not run as asked, which is not a pass either.
const (
	VerdictPass        = "PASS"
	VerdictFail        = "FAIL"
	VerdictNotProven   = "NOT PROVEN"
	VerdictInterrupted = "INTERRUPTED"
)

// Exit codes of the chaos binary and scripts/chaos.sh.
const (
	ExitPass        = 0 // every invariant checked and held
	ExitViolation   = 1 // a safety or recovery invariant was violated
	ExitCouldNotRun = 2 // setup, build or the run itself failed: nothing was checked
	ExitNotProven   = 3 // no violation found, but a check did not finish
)

// Failed reports whether the run found a violation.
func (r *Report) Failed() bool { return r.Verdict == VerdictFail }

// ExitCode maps the verdict to the exit code.
func (r *Report) ExitCode() int {
	switch r.Verdict {
	case VerdictPass:
		return ExitPass
	case VerdictNotProven:
		return ExitNotProven
	case VerdictInterrupted:
		return ExitCouldNotRun
	}
	return ExitViolation
}

// Write stores report.md and report.json in dir.
func (r *Report) Write(dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	r.Markdown(f)
	return f.Close()
}

func dur(ns int64) string {
	if ns == Never {
		return "never"
	}
	d := time.Duration(ns)
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func since(from, to int64) string {
	if to == Never {
		return "never"
	}
	return "+" + dur(to-from)
}

// Markdown renders the report.
func (r *Report) Markdown(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Chaos run: %s\n\n", r.Verdict)
	p("- mode: %s, nodes: %s\n", r.Mode, strings.Join(r.Nodes, ", "))
	p("- seed: %d, duration: %s (elapsed %s), started %s\n", r.Seed, r.Duration, r.Elapsed, r.Started.UTC().Format(time.RFC3339))
	p("- replay: `%s`\n", r.Replay)
	p("- linearizable: **%s**, lost acknowledged writes: **%d**, violations: **%d**, converged: **%s**\n\n",
		r.Linearizable, r.LostWrites, len(r.Violations), yesNo(r.Convergence.Converged))
	if r.Verdict == VerdictNotProven {
		p("**Not proven** (exit code %d): no violation was found, but porcupine did not finish checking the register history in time, so linearizability (I1) was not shown. This is not a pass.\n\n", ExitNotProven)
	}

	p("## Invariants\n\n| | invariant | status | detail |\n|---|---|---|---|\n")
	for _, in := range r.Invariants {
		p("| %s | %s | %s | %s |\n", in.ID, in.Name, in.Status, cell(in.Detail))
	}

	p("\n## Faults\n\n")
	if len(r.Faults) == 0 {
		p("None injected.\n")
	} else {
		p("| # | phase | at | fault | target | healed | recovered | first write after heal | longest write gap (until next fault) | note |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range r.Faults {
			note := f.Note
			if f.Error != "" {
				note = strings.TrimSpace(note + " error: " + f.Error)
			}
			p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f.N, orDash(f.Phase), At(f.Start), f.Kind, cell(f.Target),
				since(f.Start, f.Healed), since(f.Healed, f.Recovered), since(f.Healed, f.FirstWriteHeal),
				dur(f.WriteGap.Length), cell(note))
		}
	}

	p("\n## Workloads\n\n| workload | clients | ops | ok | failed | unknown | writes ok/failed/unknown |\n|---|---|---|---|---|---|---|\n")
	for _, wl := range r.Workloads {
		p("| %s | %d | %d | %d | %d | %d | %d / %d / %d |\n", wl.Name, wl.Clients, wl.Counts.Total(), wl.Counts.OK, wl.Counts.Failed, wl.Counts.Unknown,
			wl.Writes.OK, wl.Writes.Failed, wl.Writes.Unknown)
	}
	for _, wl := range r.Workloads {
		if len(wl.Errors) > 0 {
			p("\n%s failures by cause: %s\n", wl.Name, errorList(wl.Errors))
		}
		for _, n := range wl.Notes {
			p("\n%s: %s\n", wl.Name, n)
		}
	}

	p("\n## Checks\n\n")
	if rv := r.Register; rv != nil {
		p("- register: linearizable **%s** (porcupine, %d operations on %d keys, %s); lost acknowledged writes %d\n",
			rv.Linearizable, rv.CheckedOps, rv.Keys, orDash(rv.CheckTime), rv.LostWrites)
		if len(rv.IllegalKeys) > 0 {
			p("  - not linearizable: %s\n", strings.Join(rv.IllegalKeys, ", "))
		}
	}
	if av := r.Append; av != nil {
		p("- append: %d keys, %d acknowledged appends, lost %d, duplicated %d, keys without a final read %d\n",
			av.Keys, av.Acknowledged, av.LostAppends, av.Duplicated, av.KeysUnchecked)
	}
	if cv := r.Counter; cv != nil {
		for _, k := range cv.Keys {
			final := "no final read"
			if k.Final != nil {
				final = fmt.Sprintf("%d", *k.Final)
			}
			p("- counter %s: final %s, acknowledged %d, unknown %d (must be %d <= final <= %d)\n",
				k.Key, final, k.Acknowledged, k.Unknown, k.Acknowledged, k.Acknowledged+k.Unknown)
		}
	}
	if sv := r.Script; sv != nil {
		p("- script CAS: linearizable **%s** (porcupine, %d operations on %d keys, %s); lost acknowledged CAS %d\n",
			sv.CAS.Linearizable, sv.CAS.CheckedOps, sv.CAS.Keys, orDash(sv.CAS.CheckTime), sv.CAS.LostWrites)
		if len(sv.CAS.IllegalKeys) > 0 {
			p("  - not linearizable: %s\n", strings.Join(sv.CAS.IllegalKeys, ", "))
		}
		p("- script transfers: %d moved, %d refused, sums checked in %d replies; lost acknowledged transfers %d\n",
			sv.Moved, sv.Refused, sv.SumChecked, sv.LostTransfers)
		for _, k := range sv.Transfers.Keys {
			final := "no final read"
			if k.Final != nil {
				final = fmt.Sprintf("%d", *k.Final)
			}
			p("  - %s: moves final %s, acknowledged %d, unknown %d\n", k.Key, final, k.Acknowledged, k.Unknown)
		}
	}
	if sv := r.Stream; sv != nil {
		p("- stream: %d streams, %d acknowledged XADDs, %d entries in the final XRANGEs, lost %d, duplicated %d; %d entries delivered to the group, never delivered %d, delivered after an acknowledged XACK %d (%d acknowledged); streams without a final read %d\n",
			sv.Keys, sv.Acknowledged, sv.Entries, sv.LostAdds, sv.Duplicated, sv.Delivered, sv.Undelivered, sv.Redelivered, sv.Acks, sv.KeysUnchecked)
	}
	p("- status polls: %d, terms with a leader: %d\n", r.StatusPolls, r.LeaderTerms)

	p("\n## Availability\n\nLongest time without a successful write: **%s** (from %s to %s).\n",
		dur(r.LongestGap.Length), At(r.LongestGap.From), At(r.LongestGap.To))

	p("\n## Convergence\n\n")
	p("%s after waiting %s.\n\n| node | role | term | applied index | keys |\n|---|---|---|---|---|\n",
		map[bool]string{true: "Converged", false: "**Not converged**"}[r.Convergence.Converged], orDash(r.Convergence.Waited))
	for _, n := range r.Convergence.Nodes {
		if n.Err != "" {
			p("| %s | - | - | - | - (%s) |\n", n.ID, cell(n.Err))
			continue
		}
		p("| %s | %s | %d | %d | %d |\n", n.ID, n.Role, n.Term, n.Applied, n.Keys)
	}
	if r.Convergence.Detail != "" {
		p("\n%s\n", r.Convergence.Detail)
	}

	if len(r.Violations) > 0 {
		p("\n## Violations\n\n")
		for i, v := range r.Violations {
			if i == 100 {
				p("- ... %d more in report.json\n", len(r.Violations)-100)
				break
			}
			p("- %s\n", v.String())
		}
	}
	if len(r.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	if len(r.Files) > 0 {
		p("\n## Files (in the output directory)\n\n")
		for _, f := range r.Files {
			p("- %s\n", f)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

func errorList(m map[string]int) string {
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range m {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || (l[i].n == l[j].n && l[i].k < l[j].k) })
	var parts []string
	for i, e := range l {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("%d other causes", len(l)-8))
			break
		}
		parts = append(parts, fmt.Sprintf("`%s` %d", e.k, e.n))
	}
	return strings.Join(parts, ", ")
}
