package checker

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const checkTimeout = 10 * time.Second

func w(client int, key, v string, o Outcome, call, ret int64) RegisterOp {
	return RegisterOp{Client: client, Kind: RegWrite, Key: key, Value: v, Outcome: o, Call: ms(call), Return: ms(ret)}
}

func r(client int, key, v string, call, ret int64) RegisterOp {
	return RegisterOp{Client: client, Kind: RegRead, Key: key, Value: v, Outcome: OK, Call: ms(call), Return: ms(ret)}
}

func final(key, v string, at int64) RegisterOp {
	op := r(99, key, v, at, at+1)
	op.Final = true
	return op
}

func cas(client int, key, from, to string, o Outcome, result string, call, ret int64) RegisterOp {
	return RegisterOp{Client: client, Kind: RegCAS, Key: key, From: from, Value: to, Outcome: o, Result: result, Call: ms(call), Return: ms(ret)}
}

func TestCheckRegister_LinearizableHistoryPasses(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		r(1, "x", "a", 11, 20),
		w(0, "x", "b", OK, 12, 30),
		r(1, "x", "a", 21, 25), // concurrent with the write of b
		r(2, "y", "", 0, 5),
		cas(2, "x", "b", "c", OK, CASApplied, 31, 40),
		final("x", "c", 100),
	}
	v := CheckRegister(ops, checkTimeout)
	if v.Linearizable != LinYes {
		t.Fatalf("linearizable = %s, want yes", v.Linearizable)
	}
	mustBeClean(t, v.Violations)
	if v.Keys != 2 || v.CheckedOps != len(ops) {
		t.Fatalf("keys %d ops %d", v.Keys, v.CheckedOps)
	}
}

func TestCheckRegister_StaleReadIsNotLinearizable(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(0, "x", "b", OK, 11, 20),
		r(1, "x", "a", 30, 40), // b was acknowledged before this read began
	}
	v := CheckRegister(ops, checkTimeout)
	if v.Linearizable != LinNo {
		t.Fatalf("linearizable = %s, want no", v.Linearizable)
	}
	if len(v.IllegalKeys) != 1 || v.IllegalKeys[0] != "x" {
		t.Fatalf("illegal keys %v", v.IllegalKeys)
	}
	mustHave(t, v.Violations, "I1", "x")
}

func TestCheckRegister_LostAcknowledgedWriteIsCounted(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(1, "x", "b", OK, 20, 30), // acknowledged, then gone: the final read sees a
		final("x", "a", 100),
	}
	v := CheckRegister(ops, checkTimeout)
	if v.LostWrites != 1 {
		t.Fatalf("lost = %d, want 1", v.LostWrites)
	}
	mustHave(t, v.Violations, "I2", "write of b")
	if v.Linearizable != LinNo {
		t.Fatalf("linearizable = %s, want no", v.Linearizable)
	}
}

func TestCheckRegister_MissingKeyAfterAcknowledgedWriteIsLost(t *testing.T) {
	v := CheckRegister([]RegisterOp{w(0, "x", "a", OK, 0, 10), final("x", "", 100)}, checkTimeout)
	if v.LostWrites != 1 {
		t.Fatalf("lost = %d, want 1", v.LostWrites)
	}
	mustHave(t, v.Violations, "I2", "missing")
}

func TestCheckRegister_ConcurrentWriteMayReplaceAcknowledgedOne(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 30),
		w(1, "x", "b", OK, 10, 20), // overlaps a: either may win
		final("x", "a", 100),
	}
	v := CheckRegister(ops, checkTimeout)
	if v.LostWrites != 0 || v.Linearizable != LinYes {
		t.Fatalf("lost %d linearizable %s: %v", v.LostWrites, v.Linearizable, v.Violations)
	}
}

func TestCheckRegister_UnknownWriteMayTakeEffectLate(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(1, "x", "u", Unknown, 20, 25), // timed out; applied later after all
		r(2, "x", "a", 30, 40),
		r(2, "x", "u", 50, 60),
		final("x", "u", 100),
	}
	v := CheckRegister(ops, checkTimeout)
	if v.Linearizable != LinYes {
		t.Fatalf("linearizable = %s, want yes: %v", v.Linearizable, v.Violations)
	}
	mustBeClean(t, v.Violations)
}

func TestCheckRegister_UnknownWriteMayNeverTakeEffect(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(1, "x", "u", Unknown, 20, 25),
		final("x", "a", 100),
	}
	v := CheckRegister(ops, checkTimeout)
	if v.Linearizable != LinYes || v.LostWrites != 0 {
		t.Fatalf("linearizable %s lost %d: %v", v.Linearizable, v.LostWrites, v.Violations)
	}
}

func TestCheckRegister_UnknownReadIsIgnored(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		{Client: 1, Kind: RegRead, Key: "x", Value: "garbage", Outcome: Unknown, Call: ms(20), Return: ms(30)},
	}
	if v := CheckRegister(ops, checkTimeout); v.Linearizable != LinYes || v.CheckedOps != 1 {
		t.Fatalf("linearizable %s checked %d", v.Linearizable, v.CheckedOps)
	}
}

func TestCheckRegister_ValueOfFailedWriteReadIsDishonest(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(1, "x", "f", Failed, 20, 25), // TRYAGAIN: promised not executed
		r(2, "x", "f", 30, 40),
	}
	v := CheckRegister(ops, checkTimeout)
	mustHave(t, v.Violations, "I5", "reported failed")
	if v.Linearizable != LinNo {
		t.Fatalf("linearizable = %s, want no (failed writes are left out)", v.Linearizable)
	}
}

func TestCheckRegister_AppliedCASMustSeeItsExpectedValue(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(0, "x", "b", OK, 11, 20),
		cas(1, "x", "a", "c", OK, CASApplied, 30, 40), // WATCH should have aborted it
	}
	if v := CheckRegister(ops, checkTimeout); v.Linearizable != LinNo {
		t.Fatalf("linearizable = %s, want no", v.Linearizable)
	}
}

func TestCheckRegister_AbortedCASHasNoEffect(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		cas(1, "x", "a", "c", OK, CASAborted, 5, 40),
		r(2, "x", "a", 50, 60),
	}
	v := CheckRegister(ops, checkTimeout)
	if v.Linearizable != LinYes {
		t.Fatalf("linearizable = %s, want yes", v.Linearizable)
	}
	// ...and if its value shows up, the abort was a lie.
	ops = append(ops, r(2, "x", "c", 70, 80))
	v = CheckRegister(ops, checkTimeout)
	mustHave(t, v.Violations, "I5", "aborted by WATCH")
}

func TestCheckRegister_UnknownCASAppliesOnlyOnItsExpectedValue(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		cas(1, "x", "a", "c", Unknown, "", 20, 30),
		r(2, "x", "c", 40, 50),
	}
	if v := CheckRegister(ops, checkTimeout); v.Linearizable != LinYes {
		t.Fatalf("linearizable = %s, want yes", v.Linearizable)
	}
	ops = []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(0, "x", "b", OK, 11, 15),
		cas(1, "x", "a", "c", Unknown, "", 20, 30), // x is b when it may apply
		r(2, "x", "c", 40, 50),
	}
	if v := CheckRegister(ops, checkTimeout); v.Linearizable != LinNo {
		t.Fatalf("linearizable = %s, want no", v.Linearizable)
	}
}

func TestCheckRegister_EmptyHistoryIsSkipped(t *testing.T) {
	if v := CheckRegister(nil, checkTimeout); v.Linearizable != LinSkipped {
		t.Fatalf("linearizable = %s", v.Linearizable)
	}
}

func TestVisualizeRegister_WritesHTMLForIllegalKeys(t *testing.T) {
	ops := []RegisterOp{
		w(0, "x", "a", OK, 0, 10),
		w(0, "x", "b", OK, 11, 20),
		r(1, "x", "a", 30, 40),
		r(1, "y", "", 0, 5),
	}
	v := CheckRegister(ops, checkTimeout)
	path := filepath.Join(t.TempDir(), "lin.html")
	if err := VisualizeRegister(v, []Span{{Start: ms(12), End: ms(25), Description: "kill-leader n1"}}, checkTimeout, path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		t.Fatalf("visualization: %v, %v", st, err)
	}
}
