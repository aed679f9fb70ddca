package resp

import (
	"errors"
	"strings"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
)

// Error replies that are ours rather than Redis's. TRYAGAIN means the command
// was not executed and may be retried (go-redis and most clients retry it by
// themselves); UNCERTAIN means a write was proposed and may or may not have
// taken effect, so the client must not assume either.
const (
	replyNoLeader  = "TRYAGAIN no leader"
	replyNotLeader = "TRYAGAIN not leader"
	replyNotReady  = "TRYAGAIN leader not ready, retry shortly"
	replyQueueFull = "TRYAGAIN write queue full"
	replyShutdown  = "TRYAGAIN node shutting down"
	replyUncertain = "UNCERTAIN outcome unknown, the write may or may not have been applied: "
)

// errorReply maps node errors to RESP error replies, in one place.
func (s *Server) errorReply(err error, write bool) fsm.Value {
	switch {
	case errors.Is(err, node.ErrUncertain):
		s.stats.uncertain.Add(1)
		return fsm.Err(replyUncertain + oneLine(err.Error()))
	case errors.Is(err, errUpstreamLost):
		if write {
			s.stats.uncertain.Add(1)
			return fsm.Err(replyUncertain + oneLine(err.Error()))
		}
		return fsm.Err("TRYAGAIN leader connection lost: " + oneLine(err.Error()))
	case errors.Is(err, errUpstreamDial):
		s.stats.rejected.Add(1)
		return fsm.Err("TRYAGAIN cannot reach leader: " + oneLine(err.Error()))
	}
	s.stats.rejected.Add(1)
	switch {
	case errors.Is(err, node.ErrNoLeader):
		return fsm.Err(replyNoLeader)
	case errors.Is(err, node.ErrNotLeader):
		return fsm.Err(replyNotLeader)
	case errors.Is(err, node.ErrNotReady):
		return fsm.Err(replyNotReady)
	case errors.Is(err, node.ErrQueueFull):
		return fsm.Err(replyQueueFull)
	case errors.Is(err, node.ErrShutdown):
		return fsm.Err(replyShutdown)
	}
	return fsm.Err("ERR " + oneLine(err.Error()))
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
