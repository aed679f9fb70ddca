package resp

import (
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// dispatch routes one command; it reports whether the connection should end.
func (c *conn) dispatch(argv [][]byte) bool {
	n := c.srv.node
	cmd, spec, errv := resolve(argv)
	rejected := errv.Kind == fsm.KindError
	c.skipThis, c.skipNext = c.skipNext, false
	if c.track.flags&trackOn != 0 {
		defer c.afterCommand()
	}
	c.beginCmd(spec, argv)
	c.lastActive.Store(c.cur.start.UnixNano())
	c.lastCmd.Store(lastCmdName(spec, argv))
	// One atomic load for an authenticated client with every permission.
	if !rejected && (!c.auth.full.Load() || c.fwdTx || cmd.Has(cmdtab.NoAuth)) && c.authGate(cmd, spec, argv) {
		return false
	}
	if !rejected {
		c.feedMonitors(cmd, spec, argv) // monitor.go
	}
	leads := n.IsLeader() || c.forwarded.Load()
	c.led = c.led || leads
	quit := !rejected && cmd.quits
	if leads && c.upTx {
		// This node took over: the client's WATCHes or transaction were
		// on its relay to the old leader (forward.go).
		c.dropUpstream()
		c.txLost = true
	}
	if c.fwdTx && !quit && c.txAborted(cmd) {
		return false
	}
	if c.fwdTx && !quit && !leads {
		// The leader holds the transaction: it answers, and queues.
		c.forwardTx(cmd, rejected, argv)
		return false
	}
	if rejected {
		c.reject()
		if cmd != nil && cmd.rejectAborts {
			// EXEC refused: the transaction is discarded, as in Redis.
			c.tx.reset()
			c.push(&slot{val: fsm.Err("EXECABORT Transaction discarded because of: " + strings.TrimPrefix(string(errv.Str), "ERR "))})
			return false
		}
		if c.tx.active {
			c.tx.dirty = true // as Redis: a rejected command aborts the transaction
		}
		c.push(&slot{val: errv})
		return false
	}
	if c.busy(spec) { // a script has run past busy-reply-threshold (scripts.go)
		return false
	}
	if !cmd.unpaused && !c.srv.pause.wait(mayWrite(cmd, spec), c.srv.shutdown) {
		c.push(&slot{val: fsm.Err(replyShutdown), quit: true})
		return true
	}
	if cmd.route == routeTx {
		if leads {
			c.txControl(cmd.Name, argv)
		} else if !c.txAborted(cmd) {
			c.push(c.srv.routeToLeader(c, argv, true))
			c.fwdTx, c.txDB = cmd.startsTx, -1
			// MULTI and WATCH leave state on the leader connection; EXEC
			// and DISCARD end a transaction (and its WATCHes) only inside
			// MULTI (forwardTx).
			c.upTx = c.upTx || !cmd.rejectAborts && !cmd.endsTx
		}
		return false
	}
	if c.tx.active && !quit {
		c.queue(cmd, spec, argv)
		return false
	}
	if local := scriptLocal(spec); local != nil {
		// About the scripts running here; a follower where none runs asks
		// the leader, where its clients' scripts run (scripts.go).
		if !leads && c.srv.scripts.n.Load() == 0 && spec.Name != "function|stats" {
			c.push(c.srv.routeToLeader(c, argv, false))
			return false
		}
		s := &slot{val: local(c)}
		c.order(classLocal, s)
		c.push(s)
		return false
	}
	if c.inSubscribeMode() && !cmdtab.AllowedInSubscribe(cmd.Spec) {
		c.reject()
		c.push(&slot{val: fsm.Err("ERR Can't execute '" + spec.Name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")})
		return false
	}
	route := cmd.route
	if cmd.xread {
		if _, blocks := xreadBlocks(argv); blocks {
			route = routeBlocking
		}
	}
	switch route {
	case routeSubscribe:
		c.subscribeCmd(cmd.Name, argv)
		return false
	case routeBlocking:
		if !leads {
			// The leader holds the reply back while the client is blocked:
			// the wait for it must allow for that.
			block := 24 * time.Hour
			if d := blockTimeout(cmd, argv); d > 0 {
				block = d
			}
			c.push(c.srv.routeToLeaderBlocking(c, argv, block))
			return false
		}
		s := &slot{}
		c.order(classWrite, s)
		s.val = c.block(cmd, argv)
		c.push(s)
		return false
	case routeWait:
		// A leader command that is not a log entry.
		if !leads {
			c.push(c.srv.routeToLeader(c, argv, false))
			return false
		}
		s := &slot{}
		c.order(classLocal, s)
		c.waitCmd(argv, s)
		c.push(s)
		return false
	case routeLeader:
		if !leads {
			c.push(c.srv.routeToLeaderBlocking(c, argv, migrateBlock(argv)))
			return false
		}
		// After every earlier command of the connection completed, so the
		// side effect sees their writes.
		argv = cloneArgs(argv)
		if c.last != nil {
			c.flushUpstream()
			c.last.wait()
		}
		s := &slot{write: true}
		c.order(classWrite, s)
		s.val = cmd.local(c, argv)
		c.push(s)
		return false
	case routeLocal:
		// The reply may alias argv (ECHO), and the reader reuses argv's
		// memory before the writer sends the reply.
		argv = cloneArgs(argv)
		s := &slot{val: cmd.local(c, argv)}
		s.quit = quit || c.closeAfterReply
		c.order(classLocal, s)
		c.push(s)
		return s.quit
	}
	data := cmd.dataFor(argv)
	write := c.srv.scriptWrite(data, argv) // a no-writes script is a read (scripts.go)
	if c.track.flags&trackOn != 0 {
		if write {
			c.trackWrite(spec, argv)
		} else {
			c.trackRead(spec, argv)
		}
	}
	if leads {
		if level := n.FSM().Level(); data.Since() > level {
			c.reject()
			c.push(&slot{val: fsm.ErrLevel(data.Name, data.Since(), level)})
			return false
		}
		if c.srv.denyOOM(data) { // maxmemory (memory.go)
			c.reject()
			c.push(&slot{val: errOOM})
			return false
		}
		if v, refused := c.srv.scriptOOM(data, argv, write); refused { // scripts.go
			c.reject()
			c.push(&slot{val: v})
			return false
		}
	}
	argv = c.scriptACL(data, argv) // after tracking: it reads the keys at their positions
	if leads {
		s := &slot{write: write}
		if s.write {
			c.order(classWrite, s)
			s.fut = n.WriteCmd(fsm.Cmd{Op: fsm.OpClient, DB: c.db, Argv: argv})
			c.lastWrite = s
			if data.Has(cmdtab.PubSub) {
				// Like Redis, PUBLISH answers how many subscribers of this
				// node received it; every node delivers it on apply.
				ch := string(argv[1])
				s.post = func(fsm.Value) fsm.Value { return fsm.Int(c.srv.hub.receivers(data.Spec, ch)) }
			}
			c.srv.stats.writesServed.Add(1)
		} else {
			c.order(classRead, s)
			s.fut = n.ReadDB(c.db, cloneArgs(argv))
			c.srv.stats.readsServed.Add(1)
		}
		c.push(s)
		return false
	}
	if c.readonly.Load() && !write && !cmd.hidden && c.ownWriteApplied() {
		// Ordered after the connection's earlier commands (a forwarded
		// write first completes), and after this node applied its own last
		// write (readonly.go).
		s := &slot{}
		c.order(classRead, s)
		s.val = n.FSM().Read(c.db, time.Now().UnixMilli(), uint64(time.Now().UnixNano()), cloneArgs(argv))
		c.push(s)
		return false
	}
	sl := c.srv.routeToLeader(c, argv, write)
	if write && (c.readonly.Load() || strings.HasPrefix(data.Name, "function|")) {
		// FUNCTION STATS, answered here, then counts the libraries this
		// connection just loaded or deleted (scripts.go).
		c.askWriteIndex()
	}
	if data.Has(cmdtab.PubSub) {
		ch := string(argv[1])
		sl.post = func(fsm.Value) fsm.Value { return fsm.Int(c.srv.hub.receivers(data.Spec, ch)) }
	}
	c.push(sl)
	return false
}

// forwardTx relays a command of a transaction held by the leader. A SELECT
// queued there moves the connection (and the leader's side of its relay) to
// its database only if EXEC runs the transaction, which the follower learns
// from EXEC's reply before it reads on.
func (c *conn) forwardTx(cmd *command, rejected bool, argv [][]byte) {
	sl := c.srv.routeToLeader(c, argv, true)
	c.push(sl)
	if cmd == nil || rejected || cmd.route != routeTx && !cmd.changesDB {
		return
	}
	switch {
	case cmd.changesDB:
		if n, err := strconv.Atoi(string(argv[1])); err == nil && n >= 0 {
			c.txDB = n
		}
	case cmd.rejectAborts: // EXEC
		c.fwdTx, c.upTx, c.txLost = false, false, false
		if c.txDB >= 0 && c.up != nil {
			c.flushUpstream()
			sl.wait()
			if len(sl.raw) > 1 && sl.raw[0] == '*' && sl.raw[1] != '-' && sl.err == nil {
				c.setDB(c.txDB)
				c.up.db = c.txDB
			}
		}
		c.txDB = -1
	case cmd.endsTx: // DISCARD
		c.fwdTx, c.txDB, c.upTx, c.txLost = false, -1, false, false
	}
}

// mayWrite: the command may change data (what CLIENT PAUSE WRITE holds).
func mayWrite(cmd *command, spec *cmdtab.Spec) bool {
	return spec.Has(cmdtab.Write) || spec.Has(cmdtab.MayReplicate) || (cmd.data != nil && cmd.data.IsWrite()) ||
		cmd.route == routeBlocking || cmd.rejectAborts
}

// lastCmdName is the command as CLIENT LIST's cmd= shows it: Redis 7 names
// a container command's subcommand too (client|info, config|get).
func lastCmdName(spec *cmdtab.Spec, argv [][]byte) *string {
	name := lowerName(argv[0])
	if spec != nil {
		name = spec.Name
	}
	return &name
}

// cloneArgs copies argv into one allocation: the reader reuses its buffers.
func cloneArgs(argv [][]byte) [][]byte {
	size := 0
	for _, a := range argv {
		size += len(a)
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, len(argv))
	for i, a := range argv {
		start := len(buf)
		buf = append(buf, a...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}
