package checker

import (
	"fmt"
	"sort"
	"strings"
)

// Append operation kinds.
const (
	AppAppend = "append"
	AppRead   = "read"
)

// AppendOp is one operation of the append workload: APPEND key ",token"
// (Length is the reply, the string's new length) or GET key (Raw is the
// string read, "" when missing).
type AppendOp struct {
	Client  int     `json:"client"`
	Kind    string  `json:"kind"`
	Key     string  `json:"key"`
	Token   string  `json:"token,omitempty"`
	Length  int64   `json:"length,omitempty"`
	Raw     string  `json:"raw,omitempty"`
	Outcome Outcome `json:"outcome"`
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Final   bool    `json:"final,omitempty"`
}

// Sep precedes every token in an append key's value.
const Sep = ","

// ParseTokens splits a value built of ",token" pieces.
func ParseTokens(raw string) []string {
	if raw == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(raw, Sep), Sep)
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
	appends map[string]AppendOp // token -> append
	reads   []AppendOp
	final   *AppendOp
}

// CheckAppend checks every key's reads against its appends:
//   - a token appears at most once in any read (I11: no duplicate application);
//   - every token read was appended, and not by an APPEND reported as failed (I5);
//   - a read contains every append acknowledged before it was called, and
//     the final read every acknowledged append (I2 lost, I3 stale);
//   - tokens appear in an order real time allows: if b was acknowledged
//     before a was called, a never precedes b (I1);
//   - all reads of a key are prefixes of its longest read, and a read that
//     starts after another returned is at least as long (I1, I3);
//   - an acknowledged APPEND's reply is the length at which its token ends
//     (I11: each reply answers its own request).
func CheckAppend(ops []AppendOp) AppendVerdict {
	keys := map[string]*appendKey{}
	var order []string
	get := func(k string) *appendKey {
		ak, ok := keys[k]
		if !ok {
			ak = &appendKey{appends: map[string]AppendOp{}}
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
			ak.appends[op.Token] = op
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
	for _, a := range ak.appends {
		if a.Outcome == OK {
			acked = append(acked, a)
		}
	}
	sort.Slice(acked, func(i, j int) bool { return acked[i].Call < acked[j].Call })
	v.Acknowledged += len(acked)

	longest := ""
	for _, r := range ak.reads {
		if len(r.Raw) > len(longest) {
			longest = r.Raw
		}
	}
	for _, r := range ak.reads {
		toks := ParseTokens(r.Raw)
		seen := map[string]bool{}
		maxCall := int64(-1)
		var maxCallTok string
		for _, t := range toks {
			a, ok := ak.appends[t]
			switch {
			case seen[t]:
				if r.Final {
					v.Duplicated++
				}
				add("I11", "duplicate", fmt.Sprintf("read at %s contains token %s twice", At(r.Call), t))
			case !ok:
				add("I1", "unknown token", fmt.Sprintf("read at %s contains token %q that no client appended", At(r.Call), t))
			case a.Outcome == Failed:
				add("I5", "failed append seen", fmt.Sprintf("read at %s contains token %s, whose APPEND at %s was reported failed", At(r.Call), t, At(a.Call)))
			}
			seen[t] = true
			if ok {
				if a.Return < maxCall {
					add("I1", "order", fmt.Sprintf("read at %s has %s (called %s) before %s, which was acknowledged at %s, before that call",
						At(r.Call), maxCallTok, At(maxCall), t, At(a.Return)))
				}
				if a.Call > maxCall {
					maxCall, maxCallTok = a.Call, t
				}
			}
		}
		for _, a := range acked {
			if a.Return < r.Call && !seen[a.Token] {
				if r.Final {
					v.LostAppends++
					add("I2", "lost", fmt.Sprintf("acknowledged append of %s (at %s) is missing from the final read", a.Token, At(a.Call)))
				} else {
					add("I3", "stale read", fmt.Sprintf("read at %s misses %s, acknowledged at %s before the read began", At(r.Call), a.Token, At(a.Return)))
				}
			}
		}
		if !strings.HasPrefix(longest, r.Raw) {
			add("I1", "divergent read", fmt.Sprintf("read at %s (%d bytes) is not a prefix of the longest read of the key", At(r.Call), len(r.Raw)))
		}
	}
	for _, r1 := range ak.reads {
		for _, r2 := range ak.reads {
			if r1.Return < r2.Call && len(r2.Raw) < len(r1.Raw) {
				add("I3", "stale read", fmt.Sprintf("read at %s returned %d bytes, shorter than the %d bytes of a read that returned at %s, before it began",
					At(r2.Call), len(r2.Raw), len(r1.Raw), At(r1.Return)))
			}
		}
	}
	if ak.final == nil {
		if len(acked) > 0 {
			v.KeysUnchecked++
		}
		return
	}
	for _, a := range acked {
		if a.Length <= 0 || int(a.Length) > len(longest) {
			continue // lost, reported above
		}
		if !strings.HasSuffix(longest[:a.Length], Sep+a.Token) {
			add("I11", "reply mismatch", fmt.Sprintf("APPEND of %s at %s replied length %d, but the token does not end there", a.Token, At(a.Call), a.Length))
		}
	}
}
