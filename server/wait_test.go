package server_test

import (
	"math"
	"strconv"
	"testing"
	"time"
)

// WAIT with a timeout too large to express in nanoseconds waits as long as
// it must (here: until both followers hold the write), rather than
// overflowing into an immediate answer.
func TestWait_HugeTimeoutDoesNotOverflow(t *testing.T) {
	nodes := startCluster(t, 3)
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 10*time.Second)
	c := mustClient(t, l.ClientAddr())
	c.Timeout = 10 * time.Second
	c.MustReply(t, okReply(), "SET", "k", "v")
	for _, timeout := range []int64{math.MaxInt64, math.MaxInt64 / 1000, 1 << 53} {
		r := c.MustDo(t, "WAIT", "2", strconv.FormatInt(timeout, 10))
		if r.Kind != ':' || r.Int != 2 {
			t.Fatalf("WAIT 2 %d after SET: got %s, want :2", timeout, r)
		}
	}
}
