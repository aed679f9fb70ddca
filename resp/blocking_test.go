package resp

import (
	"fmt"
	"github.com/understudy/understudy/fsm"
	"testing"
)

// TestBlockersFIFO: per key, the client that blocked first heads the queue,
// a write wakes only the head, and a client that leaves wakes the one after
// it, on every key it headed.
func TestBlockersFIFO(t *testing.T) {
	b := newBlockers()
	a := b.register(0, []string{"k1"})
	bb := b.register(0, []string{"k1", "k2", "k1"}) // a repeated key queues once
	c := b.register(0, []string{"k2"})
	signalled := func(w *waiter) bool {
		select {
		case <-w.ch:
			return true
		default:
			return false
		}
	}
	heads := func(w *waiter) string { return fmt.Sprint(b.heads(w)) }
	for _, tc := range []struct {
		step       func()
		a, bb, c   string // heads
		sa, sb, sc bool   // signalled by the step
	}{
		{func() {}, "[k1]", "[k2]", "[]", false, false, false},
		{func() { b.wake(1, dbKeys("k1")) }, "[k1]", "[k2]", "[]", true, false, false},
		{func() { b.wake(2, dbKeys("k2", "other")) }, "[k1]", "[k2]", "[]", false, true, false},
		{func() { b.unregister(a) }, "[]", "[k1 k2]", "[]", false, true, false},
		{func() { b.unregister(bb) }, "[]", "[]", "[k2]", false, false, true},
		{func() { b.unregister(c) }, "[]", "[]", "[]", false, false, false},
	} {
		tc.step()
		if heads(a) != tc.a || heads(bb) != tc.bb || heads(c) != tc.c {
			t.Fatalf("heads: a %s b %s c %s; want %s %s %s", heads(a), heads(bb), heads(c), tc.a, tc.bb, tc.c)
		}
		if sa, sb, sc := signalled(a), signalled(bb), signalled(c); sa != tc.sa || sb != tc.sb || sc != tc.sc {
			t.Fatalf("signalled: a %v b %v c %v; want %v %v %v", sa, sb, sc, tc.sa, tc.sb, tc.sc)
		}
	}
	if len(b.byKey) != 0 {
		t.Fatalf("queues left: %v", b.byKey)
	}
}

func dbKeys(keys ...string) []fsm.DBKey {
	var out []fsm.DBKey
	for _, k := range keys {
		out = append(out, fsm.DBKey{Key: k})
	}
	return out
}
