package checker

import "testing"

func incr(client int, v int64, o Outcome, call, ret int64) CounterOp {
	return CounterOp{Client: client, Kind: CntIncr, Key: "c", Value: v, Outcome: o, Call: ms(call), Return: ms(ret)}
}

func get(v int64, call, ret int64) CounterOp {
	return CounterOp{Client: 9, Kind: CntRead, Key: "c", Value: v, Outcome: OK, Call: ms(call), Return: ms(ret)}
}

func cfinal(v int64) CounterOp {
	op := get(v, 1000, 1001)
	op.Final = true
	return op
}

func TestCheckCounter_WithinBoundsPasses(t *testing.T) {
	ops := []CounterOp{
		incr(0, 1, OK, 0, 10),
		incr(1, 0, Unknown, 5, 15),
		incr(0, 3, OK, 20, 30), // the unknown one took effect
		get(3, 40, 50),
		incr(1, 0, Failed, 41, 42),
		cfinal(3),
	}
	v := CheckCounter(ops)
	mustBeClean(t, v.Violations)
	k := v.Keys[0]
	if k.Acknowledged != 2 || k.Unknown != 1 || k.Final == nil || *k.Final != 3 {
		t.Fatalf("%+v", k)
	}
}

func TestCheckCounter_UnknownIncrMayBeMissing(t *testing.T) {
	ops := []CounterOp{incr(0, 1, OK, 0, 10), incr(1, 0, Unknown, 11, 20), cfinal(1)}
	mustBeClean(t, CheckCounter(ops).Violations)
}

func TestCheckCounter_LostIncrementDetected(t *testing.T) {
	ops := []CounterOp{incr(0, 1, OK, 0, 10), incr(0, 2, OK, 11, 20), cfinal(1)}
	v := CheckCounter(ops)
	if v.LostIncrs != 1 {
		t.Fatalf("lost = %d, want 1", v.LostIncrs)
	}
	mustHave(t, v.Violations, "I2", "below")
}

func TestCheckCounter_ExtraIncrementDetected(t *testing.T) {
	ops := []CounterOp{incr(0, 1, OK, 0, 10), incr(0, 0, Failed, 11, 12), cfinal(2)}
	mustHave(t, CheckCounter(ops).Violations, "I11", "exceeds")
}

func TestCheckCounter_DuplicateReplyDetected(t *testing.T) {
	ops := []CounterOp{incr(0, 1, OK, 0, 10), incr(1, 1, OK, 0, 10), cfinal(2)}
	mustHave(t, CheckCounter(ops).Violations, "I11", "both replied 1")
}

func TestCheckCounter_StaleReadDetected(t *testing.T) {
	ops := []CounterOp{incr(0, 1, OK, 0, 10), incr(0, 2, OK, 11, 20), get(1, 30, 40), cfinal(2)}
	mustHave(t, CheckCounter(ops).Violations, "I3", "was 1")
}

func TestCheckCounter_ReadFromTheFutureDetected(t *testing.T) {
	ops := []CounterOp{get(1, 0, 5), incr(0, 1, OK, 10, 20), cfinal(1)}
	mustHave(t, CheckCounter(ops).Violations, "I1", "only 0 INCRs")
}
