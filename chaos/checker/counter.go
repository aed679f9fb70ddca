package checker

import (
	"fmt"
	"sort"
)

// Counter operation kinds.
const (
	CntIncr = "incr"
	CntRead = "read"
)

// CounterOp is one operation of the counter workload: INCR key (Value is the
// reply) or GET key (Value is the number read, 0 when missing).
type CounterOp struct {
	Client  int     `json:"client"`
	Kind    string  `json:"kind"`
	Key     string  `json:"key"`
	Value   int64   `json:"value"`
	Outcome Outcome `json:"outcome"`
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Final   bool    `json:"final,omitempty"`
}

// CounterKey is one counter's tally.
type CounterKey struct {
	Key          string `json:"key"`
	Acknowledged int    `json:"acknowledged"`
	Unknown      int    `json:"unknown"`
	Final        *int64 `json:"final"` // nil: no final read
}

// CounterVerdict is the counter workload's result.
type CounterVerdict struct {
	Keys       []CounterKey `json:"keys"`
	LostIncrs  int64        `json:"lost_incrs"`
	Violations []Violation  `json:"violations,omitempty"`
}

// CheckCounter checks each counter:
//   - final value >= acknowledged INCRs (I2) and <= acknowledged + unknown
//     (more means some INCR was applied twice, or one reported failed was
//     applied: I11, I5);
//   - no two acknowledged INCRs got the same reply (I11);
//   - a read or INCR reply lies between the INCRs acknowledged before its
//     call and those (acknowledged or unknown) called before its return (I3, I1).
func CheckCounter(ops []CounterOp) CounterVerdict {
	byKey := map[string][]CounterOp{}
	var keys []string
	for _, op := range ops {
		if _, ok := byKey[op.Key]; !ok {
			keys = append(keys, op.Key)
		}
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	sort.Strings(keys)
	var v CounterVerdict
	for _, k := range keys {
		v.Keys = append(v.Keys, checkCounterKey(k, byKey[k], &v))
	}
	return v
}

func checkCounterKey(key string, ops []CounterOp, v *CounterVerdict) CounterKey {
	ck := CounterKey{Key: key}
	shown := 0
	add := func(inv, detail string) {
		shown++
		if shown <= maxPerKind {
			v.Violations = append(v.Violations, Violation{Invariant: inv, Workload: "counter", Key: key, Detail: detail})
		}
	}
	var ackedRet, calls []int64 // return times of acked INCRs; call times of acked or unknown
	replies := map[int64]int64{}
	for _, op := range ops {
		if op.Kind != CntIncr {
			continue
		}
		switch op.Outcome {
		case OK:
			ck.Acknowledged++
			ackedRet = append(ackedRet, op.Return)
			calls = append(calls, op.Call)
			if prev, dup := replies[op.Value]; dup {
				add("I11", fmt.Sprintf("two acknowledged INCRs (called %s and %s) both replied %d", At(prev), At(op.Call), op.Value))
			}
			replies[op.Value] = op.Call
		case Unknown:
			ck.Unknown++
			calls = append(calls, op.Call)
		}
	}
	sort.Slice(ackedRet, func(i, j int) bool { return ackedRet[i] < ackedRet[j] })
	sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
	// countBefore: how many of the sorted times are < t.
	countBefore := func(ts []int64, t int64) int64 {
		return int64(sort.Search(len(ts), func(i int) bool { return ts[i] >= t }))
	}
	for _, op := range ops {
		if op.Outcome != OK {
			continue
		}
		lo := countBefore(ackedRet, op.Call)
		hi := countBefore(calls, op.Return+1)
		what := "read"
		if op.Kind == CntIncr {
			what = "INCR reply"
			lo++ // its own increment counts
		}
		switch {
		case op.Final:
		case op.Value < lo:
			add("I3", fmt.Sprintf("%s at %s was %d, but %d INCRs had been acknowledged before it began", what, At(op.Call), op.Value, lo))
		case op.Value > hi:
			add("I1", fmt.Sprintf("%s at %s was %d, but only %d INCRs had been called before it returned", what, At(op.Call), op.Value, hi))
		}
		if op.Final && op.Kind == CntRead {
			val := op.Value
			ck.Final = &val
			if val < int64(ck.Acknowledged) {
				v.LostIncrs += int64(ck.Acknowledged) - val
				add("I2", fmt.Sprintf("final value %d is below the %d acknowledged INCRs", val, ck.Acknowledged))
			}
			if val > int64(ck.Acknowledged+ck.Unknown) {
				add("I11", fmt.Sprintf("final value %d exceeds the %d acknowledged plus %d unknown INCRs", val, ck.Acknowledged, ck.Unknown))
			}
		}
	}
	if shown > maxPerKind {
		v.Violations = append(v.Violations, Violation{Invariant: "I3", Workload: "counter", Key: key, Detail: fmt.Sprintf("%d more violations on this key not shown", shown-maxPerKind)})
	}
	return ck
}
