package checker

import (
	"strings"
	"testing"
)

// ap is an append of token to key "k"; length is the reply (0 if not ok).
func ap(client int, token string, o Outcome, length, call, ret int64) AppendOp {
	return AppendOp{Client: client, Kind: AppAppend, Key: "k", Token: token, Length: length, Outcome: o, Call: ms(call), Return: ms(ret)}
}

func rd(raw string, call, ret int64) AppendOp {
	return AppendOp{Client: 9, Kind: AppRead, Key: "k", Raw: raw, Outcome: OK, Call: ms(call), Return: ms(ret)}
}

func fin(raw string) AppendOp {
	op := rd(raw, 1000, 1001)
	op.Final = true
	return op
}

func TestParseTokens(t *testing.T) {
	if got := ParseTokens(",a,b,c"); strings.Join(got, " ") != "a b c" {
		t.Fatalf("got %q", got)
	}
	if got := ParseTokens(""); got != nil {
		t.Fatalf("got %q", got)
	}
}

func TestCheckAppend_CleanHistoryPasses(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(1, "t2", OK, 6, 5, 15),
		rd(",t1", 11, 12), // t2 concurrent: may or may not be there
		ap(0, "t3", Unknown, 0, 20, 30),
		rd(",t1,t2", 16, 18),
		fin(",t1,t2,t3"), // the unknown append took effect
	}
	v := CheckAppend(ops)
	mustBeClean(t, v.Violations)
	if v.Acknowledged != 2 || v.LostAppends != 0 || v.Keys != 1 {
		t.Fatalf("%+v", v)
	}
}

func TestCheckAppend_LostAppendDetected(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(0, "t2", OK, 6, 11, 20),
		fin(",t1"),
	}
	v := CheckAppend(ops)
	if v.LostAppends != 1 {
		t.Fatalf("lost = %d, want 1", v.LostAppends)
	}
	mustHave(t, v.Violations, "I2", "t2")
}

func TestCheckAppend_DuplicatedAppendDetected(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(1, "t2", OK, 6, 11, 20),
		fin(",t1,t2,t2"), // applied twice (a retried forward, say)
	}
	v := CheckAppend(ops)
	if v.Duplicated != 1 {
		t.Fatalf("duplicated = %d, want 1", v.Duplicated)
	}
	mustHave(t, v.Violations, "I11", "twice")
}

func TestCheckAppend_ReorderedAppendsDetected(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 6, 0, 10),
		ap(0, "t2", OK, 3, 11, 20), // called after t1 was acknowledged, yet before it
		fin(",t2,t1"),
	}
	v := CheckAppend(ops)
	mustHave(t, v.Violations, "I1", "before t1")
}

func TestCheckAppend_FailedAppendMustNotAppear(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(1, "t2", Failed, 0, 11, 12),
		fin(",t1,t2"),
	}
	mustHave(t, CheckAppend(ops).Violations, "I5", "t2")
}

func TestCheckAppend_UnknownAppendMayBeAbsent(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(1, "t2", Unknown, 0, 11, 12),
		fin(",t1"),
	}
	v := CheckAppend(ops)
	mustBeClean(t, v.Violations)
}

func TestCheckAppend_StaleReadDetected(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(0, "t2", OK, 6, 11, 20),
		rd(",t1", 30, 40), // t2 acknowledged before the read began
		fin(",t1,t2"),
	}
	mustHave(t, CheckAppend(ops).Violations, "I3", "misses t2")
}

func TestCheckAppend_ReadsGoingBackwardsDetected(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 3, 0, 10),
		ap(1, "t2", Unknown, 0, 0, 10),
		rd(",t1,t2", 20, 30),
		rd(",t1", 40, 50),
		fin(",t1,t2"),
	}
	mustHave(t, CheckAppend(ops).Violations, "I3", "shorter")
}

func TestCheckAppend_DivergentReadDetected(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", Unknown, 0, 0, 10),
		ap(1, "t2", Unknown, 0, 0, 10),
		rd(",t2", 20, 30),
		fin(",t1,t2"),
	}
	mustHave(t, CheckAppend(ops).Violations, "I1", "not a prefix")
}

func TestCheckAppend_ReplyLengthMustMatchPosition(t *testing.T) {
	ops := []AppendOp{
		ap(0, "t1", OK, 6, 0, 10), // crossed replies: t1 got t2's length
		ap(1, "t2", OK, 3, 0, 10),
		fin(",t1,t2"),
	}
	mustHave(t, CheckAppend(ops).Violations, "I11", "replied length")
}

func TestCheckAppend_TokenNobodyAppendedDetected(t *testing.T) {
	ops := []AppendOp{ap(0, "t1", OK, 3, 0, 10), fin(",t1,zz")}
	mustHave(t, CheckAppend(ops).Violations, "I1", "zz")
}

func TestCheckAppend_KeyWithoutFinalReadIsUnchecked(t *testing.T) {
	v := CheckAppend([]AppendOp{ap(0, "t1", OK, 3, 0, 10)})
	if v.KeysUnchecked != 1 || v.LostAppends != 0 {
		t.Fatalf("%+v", v)
	}
}
