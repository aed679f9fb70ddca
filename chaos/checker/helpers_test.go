package checker

import (
	"strings"
	"testing"
	"time"
)

// ms turns milliseconds into the nanosecond times histories use.
func ms(n int64) int64 { return n * int64(time.Millisecond) }

func mustHave(t *testing.T, vs []Violation, inv, substr string) {
	t.Helper()
	for _, v := range vs {
		if v.Invariant == inv && strings.Contains(v.Detail, substr) {
			return
		}
	}
	t.Fatalf("no %s violation mentioning %q in %v", inv, substr, vs)
}

func mustBeClean(t *testing.T, vs []Violation) {
	t.Helper()
	if len(vs) > 0 {
		t.Fatalf("unexpected violations: %v", vs)
	}
}
