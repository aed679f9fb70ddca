package checker

import (
	"fmt"
	"sort"
)

// Append operation kinds.
const (
	AppAppend = "append"
	AppRead   = "read"
)

// AppendOp is one operation of the append workload: RPUSH key value (Value
// is unique in the run; Length is the reply, the list's new length) or
// LRANGE key 0 -1 (List is the whole list read, empty when the key is
// missing).
type AppendOp struct {
	Client  int      `json:"client"`
	Kind    string   `json:"kind"`
	Key     string   `json:"key"`
	Value   string   `json:"value,omitempty"`
	Length  int64    `json:"length,omitempty"`
	List    []string `json:"list,omitempty"`
	Outcome Outcome  `json:"outcome"`
	Call    int64    `json:"call"`
	Return  int64    `json:"return"`
	Final   bool     `json:"final,omitempty"`
}

// AppendVerdict is the append workload's result.
type AppendVerdict struct {
	Keys          int         `json:"keys"`
	Acknowledged  int         `json:"acknowledged"`
	LostAppends   int         `json:"lost_appends"`
	Duplicated    int         `json:"duplicated"`
	KeysUnchecked int         `json:"keys_unchecked"` // no final read
	Violations    []Violation `json:"violations,omitempty"`
}

// maxPerKind bounds the violations reported per key and kind: one lost
// write can make hundreds of later reads wrong.
const maxPerKind = 5

type appendKey struct {
	pushes map[string]AppendOp // value -> its RPUSH
	reads  []AppendOp
	final  *AppendOp
}

// CheckAppend checks every key's reads against its pushes. A push of
// unknown outcome may or may not appear, but at most once, and never
// anywhere real time forbids; an acknowledged one must appear exactly once.
//   - a value appears at most once in any read (I11: no duplicate application);
//   - every value read was pushed, not by an RPUSH reported as failed (I5),
//     and not by one called after the read returned (I1);
//   - a read contains every push acknowledged before it was called, and the
//     final read every acknowledged push (I3 stale, I2 lost);
//   - values appear in an order real time allows: if b was acknowledged
//     before a was called, a never precedes b (I1);
//   - all reads of a key are prefixes of its longest read, and a read that
//     starts after another returned is at least as long (I1, I3);
//   - an acknowledged RPUSH's reply, the list's new length, is one past the
//     position of its value (I11: each reply answers its own request).
func CheckAppend(ops []AppendOp) AppendVerdict {
	keys := map[string]*appendKey{}
	var order []string
	get := func(k string) *appendKey {
		ak, ok := keys[k]
		if !ok {
			ak = &appendKey{pushes: map[string]AppendOp{}}
			keys[k] = ak
			order = append(order, k)
		}
		return ak
	}
	for i := range ops {
		op := ops[i]
		ak := get(op.Key)
		switch {
		case op.Kind == AppAppend:
			if op.Outcome == Unknown {
				op.Return = Never
			}
			ak.pushes[op.Value] = op
		case op.Outcome == OK:
			ak.reads = append(ak.reads, op)
			if op.Final {
				ak.final = &ops[i]
			}
		}
	}
	var v AppendVerdict
	v.Keys = len(order)
	for _, k := range order {
		checkAppendKey(k, keys[k], &v)
	}
	return v
}

// isPrefix reports whether p is a prefix of l.
func isPrefix(p, l []string) bool {
	if len(p) > len(l) {
		return false
	}
	for i := range p {
		if p[i] != l[i] {
			return false
		}
	}
	return true
}

func checkAppendKey(key string, ak *appendKey, v *AppendVerdict) {
	count := map[string]int{}
	add := func(inv, kind, detail string) {
		count[kind]++
		if count[kind] <= maxPerKind {
			v.Violations = append(v.Violations, Violation{Invariant: inv, Workload: "append", Key: key, Detail: detail})
		} else if count[kind] == maxPerKind+1 {
			v.Violations = append(v.Violations, Violation{Invariant: inv, Workload: "append", Key: key, Detail: "more " + kind + " violations on this key not shown"})
		}
	}
	var acked []AppendOp
	for _, a := range ak.pushes {
		if a.Outcome == OK {
			acked = append(acked, a)
		}
	}
	sort.Slice(acked, func(i, j int) bool { return acked[i].Call < acked[j].Call })
	v.Acknowledged += len(acked)

	var longest []string
	for _, r := range ak.reads {
		if len(r.List) > len(longest) {
			longest = r.List
		}
	}
	for _, r := range ak.reads {
		seen := map[string]bool{}
		maxCall := int64(-1)
		var maxCallVal string
		for _, e := range r.List {
			a, ok := ak.pushes[e]
			switch {
			case seen[e]:
				if r.Final {
					v.Duplicated++
				}
				add("I11", "duplicate", fmt.Sprintf("read at %s contains %s twice", At(r.Call), e))
			case !ok:
				add("I1", "unknown value", fmt.Sprintf("read at %s contains %q, which no client pushed", At(r.Call), e))
			case a.Outcome == Failed:
				add("I5", "failed push seen", fmt.Sprintf("read at %s contains %s, whose RPUSH at %s was reported failed", At(r.Call), e, At(a.Call)))
			case a.Call > r.Return:
				add("I1", "future value", fmt.Sprintf("read at %s (returned %s) contains %s, pushed only at %s", At(r.Call), At(r.Return), e, At(a.Call)))
			}
			seen[e] = true
			if ok {
				if a.Return < maxCall {
					add("I1", "order", fmt.Sprintf("read at %s has %s (called %s) before %s, which was acknowledged at %s, before that call",
						At(r.Call), maxCallVal, At(maxCall), e, At(a.Return)))
				}
				if a.Call > maxCall {
					maxCall, maxCallVal = a.Call, e
				}
			}
		}
		for _, a := range acked {
			if a.Return < r.Call && !seen[a.Value] {
				if r.Final {
					v.LostAppends++
					add("I2", "lost", fmt.Sprintf("acknowledged RPUSH of %s (at %s) is missing from the final read", a.Value, At(a.Call)))
				} else {
					add("I3", "stale read", fmt.Sprintf("read at %s misses %s, acknowledged at %s before the read began", At(r.Call), a.Value, At(a.Return)))
				}
			}
		}
		if !isPrefix(r.List, longest) {
			add("I1", "divergent read", fmt.Sprintf("read at %s (%d elements) is not a prefix of the longest read of the key", At(r.Call), len(r.List)))
		}
	}
	for _, r1 := range ak.reads {
		for _, r2 := range ak.reads {
			if r1.Return < r2.Call && len(r2.List) < len(r1.List) {
				add("I3", "stale read", fmt.Sprintf("read at %s returned %d elements, fewer than the %d of a read that returned at %s, before it began",
					At(r2.Call), len(r2.List), len(r1.List), At(r1.Return)))
			}
		}
	}
	if ak.final == nil {
		if len(acked) > 0 {
			v.KeysUnchecked++
		}
		return
	}
	pos := map[string]int{}
	for i, e := range longest {
		if _, dup := pos[e]; !dup {
			pos[e] = i
		}
	}
	for _, a := range acked {
		p, ok := pos[a.Value]
		if !ok {
			continue // lost, reported above
		}
		if int64(p)+1 != a.Length {
			add("I11", "reply mismatch", fmt.Sprintf("RPUSH of %s at %s replied length %d, but the value is element %d", a.Value, At(a.Call), a.Length, p+1))
		}
	}
}
