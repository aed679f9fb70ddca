package resp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// Scripts on this node (fsm/scripting.go runs them). The state machine
// tells this layer of every run as it starts and ends (fsm.ScriptHooks):
// a write script inside Apply, on every node, or a read-only one served as
// a read here. While one has run longer than busy-reply-threshold, other
// clients' commands are answered BUSY, as Redis does, except those Redis
// flags allow-busy (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS ...).
// SCRIPT KILL and FUNCTION KILL stop a read-only run (its Interrupt); a
// write run must end at the same instruction on every node, so it is
// UNKILLABLE, bounded by lua-instruction-limit instead.

// scriptRun is one run in progress.
type scriptRun struct {
	run   fsm.ScriptRun
	argv  [][]byte
	start time.Time
}

// scriptRuns is the node's runs in progress; n lets dispatch skip the lock
// when there are none.
type scriptRuns struct {
	n    atomic.Int32
	mu   sync.Mutex
	runs map[*scriptRun]struct{}
}

// started is fsm.ScriptHooks.Start.
func (r *scriptRuns) started(run fsm.ScriptRun) func() {
	sr := &scriptRun{run: run, argv: cloneArgs(run.Argv), start: time.Now()}
	r.mu.Lock()
	if r.runs == nil {
		r.runs = map[*scriptRun]struct{}{}
	}
	r.runs[sr] = struct{}{}
	r.mu.Unlock()
	r.n.Add(1)
	return func() {
		r.n.Add(-1)
		r.mu.Lock()
		delete(r.runs, sr)
		r.mu.Unlock()
	}
}

// oldest returns the run that started first, if any.
func (r *scriptRuns) oldest() *scriptRun {
	if r.n.Load() == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var old *scriptRun
	for sr := range r.runs {
		if old == nil || sr.start.Before(old.start) {
			old = sr
		}
	}
	return old
}

// killAll stops every read-only run (the server is closing).
func (r *scriptRuns) killAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sr := range r.runs {
		if sr.run.Kill != nil {
			sr.run.Kill.Store(true)
		}
	}
}

// Redis's shared.slowevalerr and shared.slowscripterr.
var (
	replyBusyEval     = fsm.Err("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
	replyBusyFunction = fsm.Err("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
	replyUnkillable   = fsm.Err("UNKILLABLE Sorry the script already executed write commands against the dataset. " +
		"You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
)

func busyReply(sr *scriptRun) fsm.Value {
	if sr.run.Eval {
		return replyBusyEval
	}
	return replyBusyFunction
}

// busy answers BUSY for a command while a script has run past
// busy-reply-threshold; it reports whether it did.
func (c *conn) busy(spec *cmdtab.Spec) bool {
	if c.srv.scripts.n.Load() == 0 || spec.Has(cmdtab.AllowBusy) || (spec.Parent != nil && spec.Parent.Has(cmdtab.AllowBusy)) {
		return false
	}
	sr := c.srv.scripts.oldest()
	if sr == nil || time.Since(sr.start) < sr.run.Busy {
		return false
	}
	c.reject()
	c.push(&slot{val: busyReply(sr)})
	return true
}

// scriptLocal returns the handler of a scripting subcommand this node
// answers itself: SCRIPT KILL, FUNCTION KILL, FUNCTION STATS (about the
// scripts running here); nil for the others.
func scriptLocal(spec *cmdtab.Spec) func(c *conn) fsm.Value {
	switch spec.Name {
	case "script|kill":
		return func(c *conn) fsm.Value { return c.srv.killScript(true) }
	case "function|kill":
		return func(c *conn) fsm.Value { return c.srv.killScript(false) }
	case "function|stats":
		return func(c *conn) fsm.Value {
			c.ownWriteApplied() // a follower first applies this connection's FUNCTION LOAD ... (conn_dispatch.go)
			return c.srv.functionStats()
		}
	}
	return nil
}

// killScript is scriptKill: SCRIPT KILL (eval) or FUNCTION KILL.
func (s *Server) killScript(eval bool) fsm.Value {
	sr := s.scripts.oldest()
	switch {
	case sr == nil:
		return fsm.Err(fsm.ErrNotBusy)
	case sr.run.Kill == nil:
		return replyUnkillable
	case eval && !sr.run.Eval:
		return replyBusyFunction
	case !eval && sr.run.Eval:
		return replyBusyEval
	}
	sr.run.Kill.Store(true)
	return fsm.OK
}

// functionStats is FUNCTION STATS: the running function, if any, and the
// replicated counts.
func (s *Server) functionStats() fsm.Value {
	sr := s.scripts.oldest()
	if sr != nil && sr.run.Eval {
		return replyBusyEval
	}
	running := fsm.Null
	if sr != nil {
		cmd := make([]fsm.Value, len(sr.argv))
		for i, a := range sr.argv {
			cmd[i] = fsm.Bulk(a)
		}
		running = fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{fsm.BulkString("name"), fsm.BulkString(sr.run.Name),
			fsm.BulkString("command"), fsm.Array(cmd), fsm.BulkString("duration_ms"), fsm.Int(time.Since(sr.start).Milliseconds())}}
	}
	_, libs, fns := s.node.FSM().ScriptCounts()
	return fsm.FunctionStats(running, libs, fns)
}

// scriptWrite reports whether data, run with argv, goes through the log:
// EVAL, EVALSHA and FCALL of a no-writes script are reads.
func (s *Server) scriptWrite(data *fsm.Command, argv [][]byte) bool {
	if !data.IsWrite() {
		return false
	}
	return !data.RunsScript() || !s.node.FSM().ReadOnlyScript(argv)
}

// scriptACL wraps the script command of a user who may not publish, so
// that every node running the script refuses PUBLISH inside it
// (fsm.NoChannelsCommand). Users here have every command and key or none
// (acl.go), so channels are the one permission a script can lack.
func (c *conn) scriptACL(data *fsm.Command, argv [][]byte) [][]byte {
	if c.auth.full.Load() || !fsm.IsScriptCommand(data.Name) {
		return argv
	}
	if sess := c.auth.session(); sess == nil || sess.user == nil || sess.user.allChannels {
		return argv
	}
	return append([][]byte{[]byte(fsm.NoChannelsCommand)}, argv...)
}

// replyScriptOOM is scriptPrepareForRun's refusal of a flagged script
// without allow-oom.
var replyScriptOOM = fsm.Err("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'")

// scriptOOM refuses, on the leader over maxmemory, a script that may write
// and is not flagged allow-oom, as Redis does before running it. (Redis
// refuses a script without flags only at its first deny-oom command; here
// the whole script is refused up front, since inside the log entry the
// node's memory must not decide anything.)
func (s *Server) scriptOOM(data *fsm.Command, argv [][]byte, write bool) (fsm.Value, bool) {
	if !write || !fsm.IsScriptCommand(data.Name) || !s.overMemory() {
		return fsm.Value{}, false
	}
	if _, policy := s.memPolicy(); policy != "noeviction" && !s.lim.mem.evictFail.Load() {
		return fsm.Value{}, false
	}
	refuse, flagged := s.node.FSM().ScriptOOM(argv)
	switch {
	case !refuse:
		return fsm.Value{}, false
	case flagged:
		return replyScriptOOM, true
	}
	return errOOM, true
}
