package resp

import (
	"strings"

	"github.com/understudy/understudy/fsm"
)

// SHUTDOWN stops the node that receives it, as it stops one Redis instance:
// the same graceful stop as SIGTERM (Config.OnShutdown: clients drained, a
// leader hands leadership over, the stores close). The log already holds
// every acknowledged write, so nothing needs saving; SAVE takes a snapshot
// first (failing unless FORCE if it cannot), NOSAVE and NOW change nothing.
// Success has no reply: the connection closes, as Redis's does when it
// exits. There is no wait for lagging replicas, so ABORT never finds a
// shutdown to abort.

func cmdShutdown(c *conn, argv [][]byte) fsm.Value {
	var save, nosave, now, force, abort bool
	for _, a := range argv[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			nosave = true
		case "save":
			save = true
		case "now":
			now = true
		case "force":
			force = true
		case "abort":
			abort = true
		default:
			return fsm.Err("ERR syntax error")
		}
	}
	if (abort && (save || nosave || now || force)) || (save && nosave) {
		return fsm.Err("ERR syntax error")
	}
	if abort {
		return fsm.Err("ERR No shutdown in progress.")
	}
	if c.srv.cfg.OnShutdown == nil {
		return fsm.Err("ERR Errors trying to SHUTDOWN. Check logs.")
	}
	if save {
		if err := c.srv.snapshot(); err != nil && !force {
			c.srv.log.Warn("SHUTDOWN SAVE: the snapshot failed", "err", err)
			return fsm.Err("ERR Errors trying to SHUTDOWN. Check logs.")
		}
	}
	c.srv.log.Info("SHUTDOWN by a client", "client", c.nc.RemoteAddr().String())
	c.srv.requestShutdown()
	// No reply; the connection closes after its (silent) slot.
	c.skipThis = true
	c.closeAfterReply = true
	return fsm.OK
}

// requestShutdown asks the owner of the server to stop it, once.
func (s *Server) requestShutdown() {
	s.shutdownAsked.Do(func() { go s.cfg.OnShutdown() })
}
