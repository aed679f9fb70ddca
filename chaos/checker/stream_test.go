package checker

import "testing"

// xadd is an XADD of value to stream "s" that replied id (when ok).
func xadd(value string, o Outcome, id string, call, ret int64) StreamOp {
	return StreamOp{Client: 1, Kind: StrAdd, Key: "s", Value: value, ID: id, Outcome: o, Call: ms(call), Return: ms(ret)}
}

// ents builds entries from id/value pairs.
func ents(kv ...string) []StreamEntry {
	var out []StreamEntry
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, StreamEntry{ID: kv[i], Value: kv[i+1]})
	}
	return out
}

// deliver is a successful delivery of kind (StrNew, StrHistory, StrClaim).
func deliver(kind string, call, ret int64, kv ...string) StreamOp {
	return StreamOp{Client: 2, Kind: kind, Key: "s", Consumer: "c0", Entries: ents(kv...), Outcome: OK, Call: ms(call), Return: ms(ret)}
}

func xack(call, ret int64, ids ...string) StreamOp {
	return StreamOp{Client: 2, Kind: StrAck, Key: "s", IDs: ids, Acked: int64(len(ids)), Outcome: OK, Call: ms(call), Return: ms(ret)}
}

// streamEnd is the final XRANGE and the completed drain.
func streamEnd(kv ...string) []StreamOp {
	return []StreamOp{
		{Client: -1, Kind: StrRange, Key: "s", Entries: ents(kv...), Outcome: OK, Call: ms(1000), Return: ms(1001), Final: true},
		{Client: -1, Kind: StrDrained, Key: "s", Outcome: OK, Call: ms(1002), Return: ms(1002), Final: true},
	}
}

func group() StreamOp {
	return StreamOp{Kind: StrGroup, Key: "s", Outcome: OK, Call: 0, Return: ms(1)}
}

func hist(ops ...[]StreamOp) []StreamOp {
	var out []StreamOp
	for _, o := range ops {
		out = append(out, o...)
	}
	return out
}

func one(ops ...StreamOp) []StreamOp { return ops }

// cleanStream is a correct history: two producers, an unknown XADD that took
// effect, a new-entry read, an ack, a history read of what was not acked,
// a claim, and the final drain delivering the rest.
func cleanStream() []StreamOp {
	return hist(one(
		group(),
		xadd("a", OK, "5-0", 2, 10),
		xadd("b", OK, "5-1", 4, 12),
		xadd("c", Unknown, "", 20, 30),
		deliver(StrNew, 13, 15, "5-0", "a", "5-1", "b"),
		xack(16, 18, "5-0"),
		deliver(StrHistory, 19, 21, "5-1", "b"),
		xadd("d", OK, "9-0", 40, 45),
		deliver(StrNew, 46, 48, "7-0", "c"),
		xack(49, 50, "5-1", "7-0"),
		deliver(StrClaim, 51, 52), // nothing pending
		xadd("e", Failed, "", 53, 54),
		deliver(StrNew, 1002, 1003, "9-0", "d"),
	), streamEnd("5-0", "a", "5-1", "b", "7-0", "c", "9-0", "d"))
}

func TestCheckStream_CleanHistory(t *testing.T) {
	v := CheckStream(cleanStream())
	mustBeClean(t, v.Violations)
	if v.Acknowledged != 3 || v.Entries != 4 || v.Delivered != 4 || v.Acks != 3 || v.Undelivered != 0 {
		t.Fatalf("verdict %+v", v)
	}
}

func TestCheckStream_UnknownAddMayBeAbsent(t *testing.T) {
	v := CheckStream(hist(one(group(), xadd("a", OK, "1-0", 0, 5), xadd("b", Unknown, "", 6, 7),
		deliver(StrNew, 8, 9, "1-0", "a")), streamEnd("1-0", "a")))
	mustBeClean(t, v.Violations)
}

func TestCheckStream_BadHistories(t *testing.T) {
	cases := []struct {
		name      string
		ops       []StreamOp
		inv, text string
		check     func(StreamVerdict) bool
	}{
		{
			name: "acknowledged XADD lost",
			ops:  hist(one(xadd("a", OK, "1-0", 0, 5), xadd("b", OK, "2-0", 6, 8), deliver(StrNew, 9, 10, "1-0", "a")), streamEnd("1-0", "a")),
			inv:  "I2", text: "missing from the final XRANGE",
			check: func(v StreamVerdict) bool { return v.LostAdds == 1 },
		},
		{
			name: "entry duplicated",
			ops:  hist(one(xadd("a", OK, "1-0", 0, 5), deliver(StrNew, 6, 7, "1-0", "a", "2-0", "a")), streamEnd("1-0", "a", "2-0", "a")),
			inv:  "I11", text: "in the stream twice",
			check: func(v StreamVerdict) bool { return v.Duplicated == 1 },
		},
		{
			name: "XADD reply names another ID",
			ops:  hist(one(xadd("a", OK, "1-0", 0, 5), deliver(StrNew, 6, 7, "1-1", "a")), streamEnd("1-1", "a")),
			inv:  "I11", text: "replied ID 1-0",
		},
		{
			name: "IDs go backwards across a failover",
			ops: hist(one(xadd("a", OK, "100-0", 0, 5), xadd("b", OK, "90-0", 10, 15),
				deliver(StrNew, 20, 21, "90-0", "b", "100-0", "a")), streamEnd("90-0", "b", "100-0", "a")),
			inv: "I1", text: "not above 100-0",
		},
		{
			name: "final range out of order",
			ops:  hist(one(xadd("a", OK, "2-0", 0, 5), xadd("b", OK, "3-0", 0, 5)), streamEnd("3-0", "b", "2-0", "a")),
			inv:  "I1", text: "follows",
		},
		{
			name: "failed XADD took effect",
			ops:  hist(one(xadd("a", Failed, "", 0, 5), deliver(StrNew, 6, 7, "1-0", "a")), streamEnd("1-0", "a")),
			inv:  "I5", text: "reported failed",
		},
		{
			name: "value nobody added",
			ops:  hist(one(deliver(StrNew, 6, 7, "1-0", "zz")), streamEnd("1-0", "zz")),
			inv:  "I1", text: "no client added",
		},
		{
			name: "entry delivered before it was added",
			ops:  hist(one(deliver(StrNew, 1, 2, "1-0", "a"), xadd("a", OK, "1-0", 5, 6)), streamEnd("1-0", "a")),
			inv:  "I1", text: "added only at",
		},
		{
			name: "XACKed entry delivered again from history",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5), deliver(StrNew, 6, 7, "1-0", "a"), xack(8, 9, "1-0"),
				deliver(StrHistory, 10, 11, "1-0", "a")), streamEnd("1-0", "a")),
			inv: "I3", text: "whose XACK was acknowledged",
			check: func(v StreamVerdict) bool { return v.Redelivered == 1 },
		},
		{
			name: "XACKed entry claimed again",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5), deliver(StrNew, 6, 7, "1-0", "a"), xack(8, 9, "1-0"),
				deliver(StrClaim, 10, 11, "1-0", "a")), streamEnd("1-0", "a")),
			inv: "I3", text: "whose XACK was acknowledged",
		},
		{
			name: "entry delivered as new twice",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5), deliver(StrNew, 6, 7, "1-0", "a"),
				deliver(StrNew, 8, 9, "1-0", "a")), streamEnd("1-0", "a")),
			inv: "I11", text: "delivered as new twice",
		},
		{
			name: "group position rolled back",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5), xadd("b", OK, "2-0", 0, 5), deliver(StrNew, 6, 7, "2-0", "b"),
				deliver(StrNew, 8, 9, "1-0", "a")), streamEnd("1-0", "a", "2-0", "b")),
			inv: "I3", text: "position went back",
		},
		{
			name: "acknowledged entry never delivered",
			ops:  hist(one(xadd("a", OK, "1-0", 0, 5), xadd("b", OK, "2-0", 0, 5), deliver(StrNew, 6, 7, "1-0", "a")), streamEnd("1-0", "a", "2-0", "b")),
			inv:  "I2", text: "never delivered",
			check: func(v StreamVerdict) bool { return v.Undelivered == 1 },
		},
		{
			name: "delivery disagrees with the stream",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5), xadd("b", OK, "2-0", 0, 5),
				deliver(StrNew, 6, 7, "1-0", "a", "2-0", "a")), streamEnd("1-0", "a", "2-0", "b")),
			inv: "I1", text: "the stream holds",
		},
		{
			name: "pending entry deleted",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5),
				StreamOp{Kind: StrClaim, Key: "s", Entries: []StreamEntry{{ID: "1-0", Deleted: true}}, Outcome: OK, Call: ms(6), Return: ms(7)}),
				streamEnd("1-0", "a")),
			inv: "I2", text: "deleted",
		},
		{
			name: "XACK counts more than it names",
			ops: hist(one(xadd("a", OK, "1-0", 0, 5), deliver(StrNew, 6, 7, "1-0", "a"),
				StreamOp{Kind: StrAck, Key: "s", IDs: []string{"1-0"}, Acked: 2, Outcome: OK, Call: ms(8), Return: ms(9)}), streamEnd("1-0", "a")),
			inv: "I11", text: "replied 2",
		},
		{
			name: "group lost after its creation was acknowledged",
			ops: hist(one(group(), StreamOp{Kind: StrNew, Key: "s", NoGroup: true, Outcome: Failed, Call: ms(5), Return: ms(6)}),
				streamEnd()),
			inv: "I2", text: "NOGROUP",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := CheckStream(c.ops)
			mustHave(t, v.Violations, c.inv, c.text)
			if c.check != nil && !c.check(v) {
				t.Fatalf("verdict counts %+v", v)
			}
		})
	}
}

func TestCheckStream_NoFinalRead(t *testing.T) {
	v := CheckStream(one(xadd("a", OK, "1-0", 0, 5)))
	mustBeClean(t, v.Violations)
	if v.KeysUnchecked != 1 {
		t.Fatalf("keys unchecked %d", v.KeysUnchecked)
	}
	// Without a completed drain, undelivered entries are not held against the group.
	ops := hist(one(xadd("a", OK, "1-0", 0, 5)), streamEnd("1-0", "a")[:1])
	mustBeClean(t, CheckStream(ops).Violations)
}
