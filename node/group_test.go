package node

import (
	"testing"
	"time"
)

// The grouper holds a round's writes back only while the previous entry was
// large enough to be worth matching, and never longer than a quarter of a
// recent commit nor its bound.
func TestGrouper_WaitsOnlyAfterALargeEntryAndWithinItsBounds(t *testing.T) {
	g := newGrouper(time.Millisecond)
	defer g.timer.Stop()
	if g.wait(1) {
		t.Fatal("waited before any entry was proposed")
	}
	g.committed(8 * time.Millisecond)
	g.proposed(minGroup - 1)
	if g.wait(1) {
		t.Fatalf("waited after an entry of %d writes (below minGroup %d)", minGroup-1, minGroup)
	}
	g.proposed(10)
	if g.wait(10) || g.wait(11) {
		t.Fatal("waited although as many writes as the previous entry's were pending")
	}
	if !g.wait(3) || !g.waiting {
		t.Fatal("did not wait with 3 of the previous entry's 10 writes pending")
	}
	if !g.wait(4) {
		t.Fatal("stopped waiting before the timer or the previous entry's size")
	}
	// The timer was armed for min(max, commit/4) = 1ms, not 2ms.
	select {
	case <-g.timer.C:
	case <-time.After(5 * time.Second):
		t.Fatal("the group timer never fired")
	}
	g.expired()
	if g.wait(4) {
		t.Fatal("waited again after the timer expired")
	}
	g.proposed(10)
	if !g.wait(2) {
		t.Fatal("a new entry did not restart the policy")
	}
	if g.wait(10) || g.waiting {
		t.Fatal("reaching the previous entry's size did not end the wait and stop the timer")
	}
}

func TestGrouper_OffOrWithoutACommitTimeNeverWaits(t *testing.T) {
	off := newGrouper(0)
	off.committed(10 * time.Millisecond)
	off.proposed(100)
	if off.wait(1) {
		t.Fatal("GroupWait 0 waited")
	}
	fresh := newGrouper(time.Millisecond)
	fresh.proposed(100) // no commit measured yet: a quarter of 0 is no wait
	if fresh.wait(1) || fresh.waiting {
		t.Fatal("waited without a commit time")
	}
}

// The commit time is a moving average (1/8 of each new sample), so one slow
// commit does not make the next rounds wait long.
func TestGrouper_CommitTimeIsAMovingAverage(t *testing.T) {
	g := newGrouper(time.Second)
	g.committed(8 * time.Millisecond)
	if g.commit != 8*time.Millisecond {
		t.Fatalf("first sample: commit %v, want 8ms", g.commit)
	}
	g.committed(88 * time.Millisecond)
	if g.commit != 18*time.Millisecond {
		t.Fatalf("after an 88ms commit: %v, want 8ms + 80ms/8 = 18ms", g.commit)
	}
}
