package resp

import (
	"context"
	"strconv"
	"time"

	"github.com/understudy/understudy/rpc"

	"github.com/understudy/understudy/fsm"
)

// waitCmd answers WAIT numreplicas timeout. Every acknowledged write is
// already in a majority's log, so WAIT here reports the truth Redis cannot:
// how many followers hold this connection's last write in their log.
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
	s.val = fsm.Int(int64(c.srv.replicasHolding(idx, int(want), time.Duration(timeout)*time.Millisecond)))
}

// replicasHolding counts followers whose log holds index, asking each over
// the admin API until want of them do or the timeout passes (0: a bound of
// one minute rather than forever).
func (s *Server) replicasHolding(index uint64, want int, timeout time.Duration) int {
	if timeout == 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		n := 0
		members, err := s.node.Members()
		if err == nil {
			for _, m := range members {
				if m.ID == s.node.ID() || m.AdminAddr == "" {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				st, err := rpc.NewClient(m.AdminAddr, "").StatusOf(ctx, m.AdminAddr)
				cancel()
				if err == nil && st.LastLogIndex >= index {
					n++
				}
			}
		}
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond) // polling followers; not a test synchronisation
	}
}
