package checker

import (
	"fmt"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// Register operation kinds.
const (
	RegRead  = "read"
	RegWrite = "write"
	RegCAS   = "cas"
)

// CAS results besides an error: the EXEC ran, or WATCH aborted it.
const (
	CASApplied = "applied"
	CASAborted = "aborted"
)

// RegisterOp is one register operation. Values are unique across the run
// and never empty, so "" stands for a missing key.
//
// A CAS is the WATCH k; GET k; MULTI; SET k new; EXEC sequence of Redis's
// optimistic locking: its GET is recorded as a read of its own, and the CAS
// itself from MULTI to EXEC with From set to the value that GET returned.
// WATCH guarantees that k did not change between the GET and the EXEC, so an
// applied CAS must find From at its linearization point.
type RegisterOp struct {
	Client  int     `json:"client"`
	Kind    string  `json:"kind"`
	Key     string  `json:"key"`
	Value   string  `json:"value,omitempty"` // read: the value read; write/cas: the value written
	From    string  `json:"from,omitempty"`  // cas: the value expected
	Result  string  `json:"result,omitempty"`
	Outcome Outcome `json:"outcome"`
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Final   bool    `json:"final,omitempty"` // the read after the run, once healed
}

type regInput struct {
	kind, key, value, from string
}

type regOutput struct {
	value   string // read
	outcome Outcome
	result  string // cas
}

// RegisterModel is the porcupine model: one register per key, a string,
// "" when missing.
func RegisterModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range history {
				k := op.Input.(regInput).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			sort.Strings(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() interface{} { return "" },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			s, in, out := state.(string), input.(regInput), output.(regOutput)
			switch in.kind {
			case RegRead:
				return out.value == s, s
			case RegWrite:
				return true, in.value // ok or unknown: an unknown write linearized late is one never seen
			case RegCAS:
				switch {
				case out.outcome == Unknown:
					if s == in.from {
						return true, in.value
					}
					return true, s
				case out.result == CASApplied:
					return s == in.from, in.value
				default: // aborted: no effect
					return true, s
				}
			}
			return false, s
		},
		DescribeOperation: func(input, output interface{}) string {
			in, out := input.(regInput), output.(regOutput)
			switch in.kind {
			case RegRead:
				return fmt.Sprintf("get(%s) -> %s", in.key, show(out.value))
			case RegWrite:
				if out.outcome == Unknown {
					return fmt.Sprintf("set(%s, %s) -> ?", in.key, in.value)
				}
				return fmt.Sprintf("set(%s, %s)", in.key, in.value)
			default:
				res := out.result
				if out.outcome == Unknown {
					res = "?"
				}
				return fmt.Sprintf("cas(%s, %s -> %s) -> %s", in.key, show(in.from), in.value, res)
			}
		},
		DescribeState: func(state interface{}) string { return show(state.(string)) },
	}
}

func show(v string) string {
	if v == "" {
		return "nil"
	}
	return v
}

// porcupineOps converts the checkable operations: successful ones, and
// writes (and CAS) of unknown outcome with Return = Never. Failed operations
// are left out, as are unknown reads.
func porcupineOps(ops []RegisterOp) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		if op.Outcome == Failed || (op.Outcome == Unknown && op.Kind == RegRead) {
			continue
		}
		ret := op.Return
		if op.Outcome == Unknown {
			ret = Never
		}
		out = append(out, porcupine.Operation{
			ClientId: op.Client,
			Input:    regInput{kind: op.Kind, key: op.Key, value: op.Value, from: op.From},
			Call:     op.Call,
			Output:   regOutput{value: op.Value, outcome: op.Outcome, result: op.Result},
			Return:   ret,
		})
	}
	return out
}

// Linearizability verdicts: porcupine's Ok, Illegal and Unknown (timed out:
// not proven, never "passed"), and Skipped when there was nothing to check.
const (
	LinYes     = "yes"
	LinNo      = "no"
	LinUnknown = "unknown"
	LinSkipped = "skipped"
)

// RegisterVerdict is the register workload's result.
type RegisterVerdict struct {
	Linearizable string      `json:"linearizable"`
	CheckedOps   int         `json:"checked_ops"`
	Keys         int         `json:"keys"`
	IllegalKeys  []string    `json:"illegal_keys,omitempty"`
	CheckTime    string      `json:"check_time"`
	LostWrites   int         `json:"lost_writes"`
	Violations   []Violation `json:"violations,omitempty"`

	// Info and IllegalOps are for the visualization (VisualizeRegister).
	Info       porcupine.LinearizationInfo `json:"-"`
	IllegalOps []porcupine.Operation       `json:"-"`
}

// CheckRegister checks ops for linearizability (porcupine, partitioned by
// key, within timeout), counts lost acknowledged writes against the final
// reads, and flags reads of values whose writes were reported failed.
func CheckRegister(ops []RegisterOp, timeout time.Duration) RegisterVerdict {
	var v RegisterVerdict
	v.Violations = append(v.Violations, honestRegisterErrors(ops)...)
	lost, lostV := lostRegisterWrites(ops)
	v.LostWrites = lost
	v.Violations = append(v.Violations, lostV...)

	pops := porcupineOps(ops)
	v.CheckedOps = len(pops)
	keys := map[string]bool{}
	for _, op := range pops {
		keys[op.Input.(regInput).key] = true
	}
	v.Keys = len(keys)
	if len(pops) == 0 {
		v.Linearizable = LinSkipped
		return v
	}
	start := time.Now()
	model := RegisterModel()
	res, info := porcupine.CheckOperationsVerbose(model, pops, timeout)
	v.CheckTime = time.Since(start).Round(time.Millisecond).String()
	v.Info = info
	switch res {
	case porcupine.Ok:
		v.Linearizable = LinYes
	case porcupine.Unknown:
		v.Linearizable = LinUnknown
	case porcupine.Illegal:
		v.Linearizable = LinNo
		v.IllegalKeys, v.IllegalOps = illegalKeys(model, pops, timeout)
		detail := "history not linearizable"
		if len(v.IllegalKeys) > 0 {
			detail = fmt.Sprintf("history not linearizable on key(s) %v", v.IllegalKeys)
		}
		v.Violations = append(v.Violations, Violation{Invariant: "I1", Workload: "register", Detail: detail})
	}
	return v
}

// illegalKeys finds the keys whose histories are not linearizable (checked
// one by one, each with the full timeout) and returns their operations, for a
// visualization small enough to read.
func illegalKeys(model porcupine.Model, pops []porcupine.Operation, timeout time.Duration) ([]string, []porcupine.Operation) {
	var keys []string
	var ops []porcupine.Operation
	for _, part := range model.Partition(pops) {
		if porcupine.CheckOperationsTimeout(model, part, timeout) == porcupine.Illegal {
			keys = append(keys, part[0].Input.(regInput).key)
			ops = append(ops, part...)
		}
		if len(keys) >= 5 {
			break
		}
	}
	return keys, ops
}

// honestRegisterErrors: a value written by an operation reported as failed
// (or a CAS reported aborted) must never be read (I5).
func honestRegisterErrors(ops []RegisterOp) []Violation {
	failed := map[string]RegisterOp{}
	for _, op := range ops {
		if op.Kind == RegRead {
			continue
		}
		if op.Outcome == Failed || (op.Outcome == OK && op.Kind == RegCAS && op.Result == CASAborted) {
			failed[op.Value] = op
		}
	}
	var out []Violation
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Kind != RegRead || op.Outcome != OK || op.Value == "" || seen[op.Value] {
			continue
		}
		if w, ok := failed[op.Value]; ok {
			seen[op.Value] = true
			what := "reported failed"
			if w.Outcome == OK {
				what = "reported aborted by WATCH"
			}
			out = append(out, Violation{Invariant: "I5", Workload: "register", Key: op.Key,
				Detail: fmt.Sprintf("read at %s returned %s, whose %s at %s was %s", At(op.Call), op.Value, w.Kind, At(w.Call), what)})
		}
	}
	return out
}

// lostRegisterWrites compares each key's final read with its acknowledged
// writes: an acknowledged write is lost if the final value is missing, or
// was written by an operation that returned before the acknowledged write
// was even called (so it cannot have replaced it). Writes of unknown outcome
// count as possible replacements.
func lostRegisterWrites(ops []RegisterOp) (int, []Violation) {
	final := map[string]RegisterOp{}
	writers := map[string]RegisterOp{} // value -> the op that wrote it
	for _, op := range ops {
		switch {
		case op.Final && op.Kind == RegRead && op.Outcome == OK:
			final[op.Key] = op
		case op.Kind != RegRead && (op.Outcome == Unknown || (op.Outcome == OK && op.Result != CASAborted)):
			writers[op.Value] = op
		}
	}
	lost := 0
	var out []Violation
	for _, op := range ops {
		acked := op.Outcome == OK && (op.Kind == RegWrite || (op.Kind == RegCAS && op.Result == CASApplied))
		if !acked {
			continue
		}
		f, ok := final[op.Key]
		if !ok || f.Value == op.Value {
			continue
		}
		w, known := writers[f.Value]
		switch {
		case f.Value == "":
			lost++
			out = append(out, Violation{Invariant: "I2", Workload: "register", Key: op.Key,
				Detail: fmt.Sprintf("acknowledged %s of %s at %s, but the key is missing at the end", op.Kind, op.Value, At(op.Call))})
		case !known:
			lost++
			out = append(out, Violation{Invariant: "I2", Workload: "register", Key: op.Key,
				Detail: fmt.Sprintf("final value %s was never written", f.Value)})
		case w.Outcome == OK && w.Return < op.Call:
			lost++
			out = append(out, Violation{Invariant: "I2", Workload: "register", Key: op.Key,
				Detail: fmt.Sprintf("acknowledged %s of %s at %s lost: the final value %s was written by an operation that returned at %s, before it",
					op.Kind, op.Value, At(op.Call), f.Value, At(w.Return))})
		}
	}
	return lost, out
}
