package node

import "time"

// grouper decides when the batcher proposes. Under load the clients of one
// round send their next writes a fraction of a millisecond after its replies;
// proposing the first arrival at once would split them into a tiny entry and a
// large one that waits a whole commit behind it, halving what each fsync
// carries. So while the previous entry was large, the batcher waits for the
// pending writes to reach its size, but never longer than a quarter of a
// recent commit nor the configured bound. At low load the previous entry was
// small and nothing waits.
type grouper struct {
	max     time.Duration // upper bound on a wait; 0 turns waiting off
	timer   *time.Timer
	waiting bool          // the timer runs for the pending writes
	ready   bool          // the wait ended: propose whatever is pending
	last    int           // writes in the previous entry
	commit  time.Duration // moving average of propose-to-apply time
}

// minGroup is the previous entry size below which waiting cannot pay off.
const minGroup = 4

func newGrouper(max time.Duration) *grouper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &grouper{max: max, timer: t}
}

// wait reports whether to hold back the pending writes for now, arming the
// timer on the first hold.
func (g *grouper) wait(pending int) bool {
	if g.ready || g.max <= 0 || g.last < minGroup || pending >= g.last {
		g.stop()
		return false
	}
	if !g.waiting {
		d := min(g.max, g.commit/4)
		if d <= 0 {
			return false
		}
		g.waiting = true
		g.timer.Reset(d)
	}
	return true
}

func (g *grouper) expired() {
	g.waiting = false
	g.ready = true
}

func (g *grouper) stop() {
	if g.waiting {
		g.timer.Stop() // since Go 1.23 no stale tick survives Stop
		g.waiting = false
	}
}

func (g *grouper) proposed(size int) {
	g.last = size
	g.ready = false
}

func (g *grouper) committed(d time.Duration) {
	if g.commit == 0 {
		g.commit = d
		return
	}
	g.commit += (d - g.commit) / 8
}
