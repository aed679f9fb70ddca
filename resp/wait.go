package resp

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/understudy/understudy/fsm"
)

// waitCmd answers WAIT numreplicas timeout. Every acknowledged write is
// already in a majority's log, so WAIT here reports the truth Redis cannot:
// how many followers hold this connection's last write (have applied it).
func (c *conn) waitCmd(argv [][]byte, s *slot) {
	if len(argv) != 3 {
		s.val = fsm.ErrArity("wait")
		return
	}
	want, err1 := strconv.ParseInt(string(argv[1]), 10, 64)
	timeout, err2 := strconv.ParseInt(string(argv[2]), 10, 64)
	if err1 != nil || err2 != nil {
		s.val = fsm.Err("ERR value is not an integer or out of range")
		return
	}
	if timeout < 0 {
		s.val = fsm.Err("ERR timeout is negative")
		return
	}
	var idx uint64
	if w := c.lastWrite; w != nil && w.fut != nil {
		c.flushUpstream()
		<-w.fut.Done()
		idx = w.fut.Index()
	}
	d := time.Duration(timeout) * time.Millisecond
	if timeout > int64(math.MaxInt64/time.Millisecond) {
		d = math.MaxInt64 // the product would overflow into the past
	}
	s.val = fsm.Int(int64(c.srv.replicasHolding(idx, int(want), d)))
}

// replicasHolding counts the followers that hold index: whose applied index
// has reached it, which means they hold that committed entry itself (a
// follower's log may hold a different, uncommitted entry at the same index,
// which is not the write). The followers are asked over the node's pooled
// admin connections, with its TLS settings and token (rpc.Peers), until
// want of them hold it or the timeout passes (0: a bound of one minute
// rather than forever).
func (s *Server) replicasHolding(index uint64, want int, timeout time.Duration) int {
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() { // a server that shuts down answers at once
		select {
		case <-s.shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()
	return s.cfg.Peers.Holding(ctx, index, want)
}
