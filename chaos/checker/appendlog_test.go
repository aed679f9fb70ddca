package checker

import (
	"testing"
)

// push is an RPUSH of value to key "k"; length is the reply (0 if not ok).
func push(client int, value string, o Outcome, length, call, ret int64) AppendOp {
	return AppendOp{Client: client, Kind: AppAppend, Key: "k", Value: value, Length: length, Outcome: o, Call: ms(call), Return: ms(ret)}
}

// lrange is an LRANGE k 0 -1 that returned list.
func lrange(call, ret int64, list ...string) AppendOp {
	return AppendOp{Client: 9, Kind: AppRead, Key: "k", List: list, Outcome: OK, Call: ms(call), Return: ms(ret)}
}

// fin is the final read after healing.
func fin(list ...string) AppendOp {
	op := lrange(1000, 1001, list...)
	op.Final = true
	return op
}

func TestCheckAppend(t *testing.T) {
	type want struct {
		inv, substr          string // "" : no violation at all
		lost, dup, unchecked int
	}
	cases := []struct {
		name string
		ops  []AppendOp
		want want
	}{
		{
			name: "clean history with a concurrent push and an unknown one that took effect",
			ops: []AppendOp{
				push(0, "a", OK, 1, 0, 10),
				push(1, "b", OK, 2, 5, 15),
				lrange(11, 12, "a"), // b concurrent: may or may not be there
				push(0, "c", Unknown, 0, 20, 30),
				lrange(16, 18, "a", "b"),
				fin("a", "b", "c"),
			},
		},
		{
			name: "unknown push may be absent",
			ops: []AppendOp{
				push(0, "a", OK, 1, 0, 10),
				push(1, "b", Unknown, 0, 11, 12),
				fin("a"),
			},
		},
		{
			name: "unknown push may take effect after later acknowledged pushes",
			ops: []AppendOp{
				push(1, "u", Unknown, 0, 0, 5),
				push(0, "a", OK, 1, 10, 20),
				push(0, "b", OK, 2, 30, 40),
				fin("a", "b", "u"),
			},
		},
		{
			name: "failed push with no effect is fine",
			ops: []AppendOp{
				push(0, "a", OK, 1, 0, 10),
				push(1, "b", Failed, 0, 11, 12),
				fin("a"),
			},
		},
		{
			name: "empty list read before any push",
			ops: []AppendOp{
				lrange(0, 1),
				push(0, "a", OK, 1, 2, 10),
				fin("a"),
			},
		},
		{
			name: "lost acknowledged push",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10), push(0, "b", OK, 2, 11, 20), fin("a")},
			want: want{inv: "I2", substr: "RPUSH of b", lost: 1},
		},
		{
			name: "every acknowledged push lost: key missing at the end",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10), fin()},
			want: want{inv: "I2", substr: "a", lost: 1},
		},
		{
			name: "duplicated acknowledged push (a retried forward, say)",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10), push(1, "b", OK, 2, 11, 20), fin("a", "b", "b")},
			want: want{inv: "I11", substr: "b twice", dup: 1},
		},
		{
			name: "unknown push applied twice",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10), push(1, "u", Unknown, 0, 11, 20), fin("a", "u", "u")},
			want: want{inv: "I11", substr: "u twice", dup: 1},
		},
		{
			name: "reordered acknowledged pushes",
			ops: []AppendOp{
				push(0, "a", OK, 2, 0, 10),
				push(0, "b", OK, 1, 11, 20), // called after a was acknowledged, yet before it
				fin("b", "a"),
			},
			want: want{inv: "I1", substr: "before a"},
		},
		{
			name: "unknown push placed before a value acknowledged before its call",
			ops: []AppendOp{
				push(0, "a", OK, 2, 0, 10),
				push(1, "u", Unknown, 0, 20, 30),
				fin("u", "a"),
			},
			want: want{inv: "I1", substr: "before a"},
		},
		{
			name: "value of a failed push read",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10), push(1, "b", Failed, 0, 11, 12), fin("a", "b")},
			want: want{inv: "I5", substr: "b"},
		},
		{
			name: "stale read misses an acknowledged push",
			ops: []AppendOp{
				push(0, "a", OK, 1, 0, 10),
				push(0, "b", OK, 2, 11, 20),
				lrange(30, 40, "a"), // b acknowledged before the read began
				fin("a", "b"),
			},
			want: want{inv: "I3", substr: "misses b"},
		},
		{
			name: "reads going backwards",
			ops: []AppendOp{
				push(0, "a", OK, 1, 0, 10),
				push(1, "u", Unknown, 0, 0, 10),
				lrange(20, 30, "a", "u"),
				lrange(40, 50, "a"),
				fin("a", "u"),
			},
			want: want{inv: "I3", substr: "fewer"},
		},
		{
			name: "divergent read",
			ops: []AppendOp{
				push(0, "a", Unknown, 0, 0, 10),
				push(1, "b", Unknown, 0, 0, 10),
				lrange(20, 30, "b"),
				fin("a", "b"),
			},
			want: want{inv: "I1", substr: "not a prefix"},
		},
		{
			name: "crossed replies: lengths swapped",
			ops: []AppendOp{
				push(0, "a", OK, 2, 0, 10),
				push(1, "b", OK, 1, 0, 10),
				fin("a", "b"),
			},
			want: want{inv: "I11", substr: "replied length 2"},
		},
		{
			name: "value nobody pushed",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10), fin("a", "zz")},
			want: want{inv: "I1", substr: "zz"},
		},
		{
			name: "read contains a value pushed after it returned",
			ops: []AppendOp{
				lrange(0, 5, "a"),
				push(0, "a", OK, 1, 10, 20),
				fin("a"),
			},
			want: want{inv: "I1", substr: "pushed only at"},
		},
		{
			name: "key without a final read is unchecked",
			ops:  []AppendOp{push(0, "a", OK, 1, 0, 10)},
			want: want{unchecked: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := CheckAppend(c.ops)
			if c.want.inv == "" {
				mustBeClean(t, v.Violations)
			} else {
				mustHave(t, v.Violations, c.want.inv, c.want.substr)
			}
			if v.LostAppends != c.want.lost || v.Duplicated != c.want.dup || v.KeysUnchecked != c.want.unchecked {
				t.Fatalf("lost %d duplicated %d unchecked %d, want %d %d %d",
					v.LostAppends, v.Duplicated, v.KeysUnchecked, c.want.lost, c.want.dup, c.want.unchecked)
			}
		})
	}
}

func TestCheckAppend_Counts(t *testing.T) {
	ops := []AppendOp{
		push(0, "a", OK, 1, 0, 10),
		push(1, "b", OK, 2, 5, 15),
		push(2, "c", Unknown, 0, 20, 30),
		push(2, "d", Failed, 0, 40, 41),
		fin("a", "b"),
	}
	v := CheckAppend(ops)
	mustBeClean(t, v.Violations)
	if v.Keys != 1 || v.Acknowledged != 2 {
		t.Fatalf("%+v", v)
	}
}
