// Package checker turns the histories a chaos run records into verdicts. It
// is pure: no processes, no network, no clock. Every check is a function from
// operations (with call and return times on one monotonic base, in
// nanoseconds) to violations, and the tests feed it hand-written histories.
//
// The workloads and what their histories prove:
//   - register (GET/SET/WATCH-MULTI-EXEC on a few keys, unique values):
//     linearizability per key with porcupine (I1), no lost acknowledged write
//     (I2), no value from a write reported as failed (I5);
//   - append (RPUSH of unique values, LRANGE 0 -1 of the whole list): every
//     acknowledged value exactly once and in an order consistent with real
//     time, values of unknown pushes at most once, reads monotonic and
//     prefixes of one history, replies that match the value's position
//     (I1 I2 I3 I5 I11);
//   - counter (INCR, GET): acknowledged <= final <= acknowledged + unknown,
//     distinct INCR replies, reads within bounds (I2 I3 I11);
//   - script (CAS by EVALSHA, transfers between two accounts): the CAS
//     history as a register, every transfer's and read's pair summing to
//     its total, the count of moves as a counter (I1 I2 I3 I5 I11);
//   - stream (XADD; a consumer group's XREADGROUP, XAUTOCLAIM and XACK):
//     every acknowledged entry once under its replied ID, IDs increasing
//     with real time, delivered at least once, never again after an
//     acknowledged XACK (I1 I2 I3 I5 I11; see CheckStream).
package checker

import (
	"fmt"
	"math"
	"time"
)

// Outcome is what a client knows about one operation.
type Outcome string

// The outcomes of docs/reliability.md: an unknown write may or may not have happened.
const (
	OK      Outcome = "ok"
	Failed  Outcome = "fail"
	Unknown Outcome = "unknown"
)

// Never is the return time of an operation whose outcome is unknown: for
// porcupine it may take effect at any time after its call.
const Never = int64(math.MaxInt64)

// Violation is one broken invariant, with enough detail to find it in the
// history.
type Violation struct {
	Invariant string `json:"invariant"` // I1..I11
	Workload  string `json:"workload"`
	Key       string `json:"key,omitempty"`
	Detail    string `json:"detail"`
}

func (v Violation) String() string {
	if v.Key != "" {
		return fmt.Sprintf("%s %s key %s: %s", v.Invariant, v.Workload, v.Key, v.Detail)
	}
	return fmt.Sprintf("%s %s: %s", v.Invariant, v.Workload, v.Detail)
}

// Counts are a workload's operations by outcome.
type Counts struct {
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
}

// Add counts one outcome.
func (c *Counts) Add(o Outcome) {
	switch o {
	case OK:
		c.OK++
	case Failed:
		c.Failed++
	case Unknown:
		c.Unknown++
	}
}

// Total is every operation counted.
func (c Counts) Total() int { return c.OK + c.Failed + c.Unknown }

// At formats a time on the run's base as seconds, "12.345s".
func At(t int64) string {
	if t == Never {
		return "never"
	}
	return fmt.Sprintf("%.3fs", time.Duration(t).Seconds())
}
