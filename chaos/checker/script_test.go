package checker

import (
	"testing"
	"time"
)

const total = 100

func move(client int, a, b, n int64, o Outcome, call, ret int64) TransferOp {
	return TransferOp{Client: client, Kind: TrTransfer, Pair: 0, Amount: 10, Moved: o == OK, A: a, B: b, N: n, Outcome: o, Call: ms(call), Return: ms(ret)}
}

func balances(a, b, n int64, call, ret int64) TransferOp {
	return TransferOp{Client: 9, Kind: TrRead, Pair: 0, A: a, B: b, N: n, Outcome: OK, Call: ms(call), Return: ms(ret)}
}

func finalBalances(a, b, n int64) TransferOp {
	op := balances(a, b, n, 1000, 1001)
	op.Final = true
	return op
}

func casRead(client int, v string, call, ret int64) RegisterOp {
	return RegisterOp{Client: client, Kind: RegRead, Key: "k", Value: v, Outcome: OK, Call: ms(call), Return: ms(ret)}
}

func scriptCAS(client int, from, to, result string, o Outcome, call, ret int64) RegisterOp {
	return RegisterOp{Client: client, Kind: RegCAS, Key: "k", From: from, Value: to, Result: result, Outcome: o, Call: ms(call), Return: ms(ret)}
}

func casFinal(v string) RegisterOp {
	op := casRead(20, v, 1000, 1001)
	op.Final = true
	return op
}

// A history as the workload records it: CAS after a read, an aborted CAS
// with the value it found, transfers and reads that keep the sum, an
// unknown transfer that did happen.
func TestCheckScript_ConsistentHistoryPasses(t *testing.T) {
	cas := []RegisterOp{
		casRead(0, "", 0, 5),
		scriptCAS(0, "", "v1", CASApplied, OK, 6, 10),
		casRead(1, "", 1, 4),
		scriptCAS(1, "", "v2", CASAborted, OK, 11, 15),
		casRead(1, "v1", 11, 15), // what the aborted CAS found
		scriptCAS(1, "v1", "v3", "", Unknown, 20, 25),
		casFinal("v3"),
	}
	tr := []TransferOp{
		move(0, 90, 10, 1, OK, 0, 10),
		balances(90, 10, 1, 11, 12),
		move(1, 0, 0, 0, Unknown, 13, 20),
		move(0, 70, 30, 3, OK, 21, 30), // the unknown one moved 10 too
		{Client: 2, Kind: TrTransfer, Amount: 500, A: 70, B: 30, N: 3, Outcome: OK, Call: ms(31), Return: ms(32)}, // refused
		finalBalances(70, 30, 3),
	}
	v := CheckScript(cas, tr, total, 10*time.Second)
	mustBeClean(t, v.Violations)
	if v.CAS.Linearizable != LinYes || v.Moved != 2 || v.Refused != 1 || v.SumChecked != 5 {
		t.Fatalf("%+v", v)
	}
}

func TestCheckScript_BrokenSumFails(t *testing.T) {
	tr := []TransferOp{
		move(0, 90, 10, 1, OK, 0, 10),
		balances(80, 10, 1, 11, 12), // half a transfer seen
		finalBalances(90, 10, 1),
	}
	mustHave(t, CheckScript(nil, tr, total, time.Second).Violations, "I1", "80 + 10 = 90, want 100")
}

func TestCheckScript_BrokenFinalSumFails(t *testing.T) {
	tr := []TransferOp{move(0, 90, 10, 1, OK, 0, 10), finalBalances(90, 20, 1)}
	mustHave(t, CheckScript(nil, tr, total, time.Second).Violations, "I1", "final read")
}

func TestCheckScript_MissingAccountsFail(t *testing.T) {
	op := finalBalances(0, 0, 0)
	op.Broken = "read [(nil) (nil) 0]"
	mustHave(t, CheckScript(nil, []TransferOp{op}, total, time.Second).Violations, "I1", "(the sum broke)")
}

func TestCheckScript_LostTransferFails(t *testing.T) {
	tr := []TransferOp{
		move(0, 90, 10, 1, OK, 0, 10),
		move(0, 80, 20, 2, OK, 11, 20),
		finalBalances(90, 10, 1), // the second move is gone, sum intact
	}
	v := CheckScript(nil, tr, total, time.Second)
	mustHave(t, v.Violations, "I2", "below the 2 acknowledged")
	if v.LostTransfers != 1 {
		t.Fatalf("lost transfers %d, want 1", v.LostTransfers)
	}
}

func TestCheckScript_TransferAppliedTwiceFails(t *testing.T) {
	tr := []TransferOp{
		move(0, 90, 10, 1, OK, 0, 10),
		move(1, 80, 20, 1, OK, 11, 20), // the same count twice
		finalBalances(80, 20, 2),
	}
	mustHave(t, CheckScript(nil, tr, total, time.Second).Violations, "I11", "both replied 1")
}

func TestCheckScript_FailedTransferAppliedFails(t *testing.T) {
	tr := []TransferOp{
		move(0, 90, 10, 1, OK, 0, 10),
		move(1, 0, 0, 0, Failed, 11, 12),
		finalBalances(80, 20, 2),
	}
	mustHave(t, CheckScript(nil, tr, total, time.Second).Violations, "I11", "exceeds the 1 acknowledged plus 0 unknown")
}

func TestCheckScript_LostCASFails(t *testing.T) {
	cas := []RegisterOp{
		casRead(0, "", 0, 5),
		scriptCAS(0, "", "v1", CASApplied, OK, 6, 10),
		casFinal(""),
	}
	v := CheckScript(cas, nil, total, time.Second)
	mustHave(t, v.Violations, "I2", "acknowledged cas of v1")
	if v.CAS.LostWrites != 1 {
		t.Fatalf("lost CAS %d, want 1", v.CAS.LostWrites)
	}
	for _, x := range v.Violations {
		if x.Workload != "script CAS" {
			t.Fatalf("violation labelled %q: %v", x.Workload, x)
		}
	}
}

func TestCheckScript_AbortedCASValueReadFails(t *testing.T) {
	cas := []RegisterOp{
		scriptCAS(0, "x", "v1", CASAborted, OK, 0, 10),
		casRead(1, "v1", 11, 12),
		casFinal("v1"),
	}
	mustHave(t, CheckScript(cas, nil, total, time.Second).Violations, "I5", "reported aborted")
}

func TestCheckScript_CASOnStaleValueNotLinearizable(t *testing.T) {
	cas := []RegisterOp{
		scriptCAS(0, "", "v1", CASApplied, OK, 0, 10),
		scriptCAS(1, "", "v2", CASApplied, OK, 20, 30), // "" was gone since 10
		casFinal("v2"),
	}
	v := CheckScript(cas, nil, total, 10*time.Second)
	if v.CAS.Linearizable != LinNo {
		t.Fatalf("linearizable %s, want no", v.CAS.Linearizable)
	}
	mustHave(t, v.Violations, "I1", "not linearizable")
}

func TestReport_ScriptVerdictCounts(t *testing.T) {
	sv := CheckScript([]RegisterOp{scriptCAS(0, "", "v1", CASApplied, OK, 0, 10), casFinal("")},
		[]TransferOp{move(0, 90, 10, 1, OK, 0, 10), finalBalances(100, 0, 0)}, total, time.Second)
	r := &Report{Script: &sv, Violations: sv.Violations, Convergence: Convergence{Converged: true}}
	r.Finish(nil, 0, ms(2000))
	if r.LostWrites != 2 || r.Verdict != VerdictFail {
		t.Fatalf("lost %d verdict %s, want 2 FAIL", r.LostWrites, r.Verdict)
	}
}
