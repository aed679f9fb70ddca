package fsm

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm/script"
)

// scriptCall is one EVAL or FCALL about to run.
type scriptCall struct {
	name   string // SHA1 or function name
	eval   bool   // EVAL family, not FCALL
	flags  script.Flags
	compat bool // an EVAL body without a shebang: judged by what it calls
	ro     bool // EVAL_RO, EVALSHA_RO, FCALL_RO
	argv   [][]byte
}

// errWriteFlagRO is scriptPrepareForRun's refusal of a *_RO call.
var errWriteFlagRO = Err("ERR Can not execute a script with write flag using *_ro command.")

// runScript runs a script for the command in c, as Redis's
// scriptPrepareForRun and scriptResetRun frame it. Inside a log entry (a
// write context) the run has the instruction budget of
// lua-instruction-limit, counted the same way on every node; a run stopped
// by a budget has its writes undone (undo.go). As a read it has no
// instruction budget and can be killed (ScriptRun.Kill).
func (c *ctx) runScript(sc scriptCall, run func(script.RunOptions) script.Reply) Value {
	noWrites := !sc.compat && sc.flags&script.FlagNoWrites != 0
	if sc.ro && !sc.compat && !noWrites {
		return errWriteFlagRO
	}
	h := &scriptHost{readOnly: sc.ro || noWrites || !c.write, noChannels: c.noChannels, f: c.f}
	h.c = &ctx{f: c.f, write: c.write, index: c.index, touched: c.touched, now: c.now, seed: c.seed, script: true}
	h.c.use(c.db)
	opt := script.RunOptions{Host: h, Seed: int64(c.seed), Limits: script.Limits{Memory: c.f.conf.luaMemory}}
	run0 := ScriptRun{Name: sc.name, Eval: sc.eval, Argv: sc.argv, Busy: time.Duration(c.f.conf.busyReply) * time.Millisecond}
	var u *undo
	if c.write {
		opt.Limits.Instructions = c.f.conf.luaInstructions
		if !h.readOnly {
			u = c.f.saveUndo(c.touched)
		}
	} else {
		opt.Interrupt = new(atomic.Bool)
		run0.Kill = opt.Interrupt
	}
	done := func() {}
	if start := c.f.hooks().Start; start != nil {
		done = start(run0)
	}
	reply := run(opt)
	done()
	if u != nil && budgetStop(reply) {
		c.f.restoreUndo(u, c.touched)
	}
	return fromReply(reply)
}

// budgetStop reports a run stopped by its instruction or memory budget:
// the same on every node, so its writes can be undone everywhere.
func budgetStop(r script.Reply) bool {
	return r.Kind == script.KindError && (bytes.HasPrefix(r.Str, []byte("ERR Script exceeded the instruction limit")) ||
		bytes.HasPrefix(r.Str, []byte("ERR Script exceeded the memory limit")))
}

// scriptHost runs redis.call for a script: Redis's scriptCall checks, then
// the command in the script's own context (its database moves with SELECT
// inside the script only, as in Redis 7).
type scriptHost struct {
	c          *ctx
	f          *FSM
	readOnly   bool // no-writes, *_RO, or a read: write commands are refused
	noChannels bool // the caller's user may not publish
}

// Error texts of Redis's scriptVerifyACL.
const errScriptChannel = "ERR The user executing the script can't publish to the channel mentioned in the command"

func (h *scriptHost) Call(argv [][]byte) script.Reply {
	name := lowerCmd(argv[0])
	switch name {
	case "select":
		return h.selectDB(argv)
	case "ping", "echo", "time":
		return h.local(name, argv)
	}
	cmd, spec, errv := Resolve(argv)
	if cmd == nil || Internal(cmd.Name) {
		if spec != nil || (errv.Kind == KindError && bytes.Contains(errv.Str, []byte("wrong number of arguments"))) {
			return script.ErrorReply(script.ErrArity)
		}
		if cmd == nil && cmdtab.Lookup(name) != nil && !bytes.HasPrefix(errv.Str, []byte("ERR unknown subcommand")) {
			// A command Redis has that this layer does not run (CLIENT,
			// BLPOP ...): what Redis answers for commands scripts may not use.
			return script.ErrorReply(script.ErrNotFromScript)
		}
		return script.ErrorReply(script.ErrUnknownCommand)
	}
	if spec.Has(cmdtab.NoScript) {
		return script.ErrorReply(script.ErrNotFromScript)
	}
	if h.noChannels && cmdtab.Channels(spec, len(argv)) != nil {
		return script.ErrorReply(errScriptChannel)
	}
	if cmd.IsWrite() && h.readOnly {
		return script.ErrorReply(script.ErrWriteReadOnly)
	}
	return toReply(run(h.c, argv))
}

// lowerCmd is a command name in lower case ("" if too long to be one).
func lowerCmd(b []byte) string {
	if len(b) > 32 {
		return ""
	}
	return string(bytes.ToLower(b))
}

// selectDB is SELECT inside a script: it moves the script, not the caller.
func (h *scriptHost) selectDB(argv [][]byte) script.Reply {
	if len(argv) != 2 {
		return script.ErrorReply(script.ErrArity)
	}
	n, ok := parseInt(argv[1])
	if !ok || n != int64(int(n)) {
		return toReply(errNotInt)
	}
	if n < 0 || n >= int64(h.f.dbCount()) {
		return toReply(errDBRange)
	}
	h.c.use(int(n))
	return toReply(OK)
}

// local answers the node-local commands scripts may call: PING, ECHO and
// TIME (the entry's time, so every node answers the same).
func (h *scriptHost) local(name string, argv [][]byte) script.Reply {
	switch {
	case name == "ping" && len(argv) <= 2:
		if len(argv) == 2 {
			return toReply(Bulk(argv[1]))
		}
		return toReply(Pong)
	case name == "echo" && len(argv) == 2:
		return toReply(Bulk(argv[1]))
	case name == "time" && len(argv) == 1:
		sec, us := h.c.now/1000, (h.c.now%1000)*1000
		return toReply(Array([]Value{BulkString(strconv.FormatInt(sec, 10)), BulkString(strconv.FormatInt(us, 10))}))
	}
	return script.ErrorReply(script.ErrArity)
}

// Log is redis.log, into the node's log.
func (h *scriptHost) Log(level int, msg string) {
	lg := h.f.hooks().Log
	if lg == nil {
		lg = slog.Default()
	}
	lv := slog.LevelInfo
	switch level {
	case script.LogDebug, script.LogVerbose:
		lv = slog.LevelDebug
	case script.LogWarning:
		lv = slog.LevelWarn
	}
	lg.Log(context.Background(), lv, msg, "component", "script")
}

// CheckACL is redis.acl_check_cmd.
func (h *scriptHost) CheckACL(argv [][]byte) (known, allowed bool) {
	cmd, spec, _ := Resolve(argv)
	if cmd == nil || Internal(cmd.Name) {
		return false, false
	}
	return true, !(h.noChannels && cmdtab.Channels(spec, len(argv)) != nil)
}

// toReply converts a command's reply for the script. Kinds share their
// numbers; XREAD's array-map is the RESP2 shape, [key, value] pairs.
func toReply(v Value) script.Reply {
	r := script.Reply{Kind: script.Kind(v.Kind), Int: v.Int, Str: v.Str}
	if v.Kind == KindArrayMap {
		r.Kind = script.KindArray
		for i := 0; i+1 < len(v.Arr); i += 2 {
			r.Arr = append(r.Arr, script.Reply{Kind: script.KindArray, Arr: []script.Reply{toReply(v.Arr[i]), toReply(v.Arr[i+1])}})
		}
		return r
	}
	if v.Arr != nil {
		r.Arr = make([]script.Reply, len(v.Arr))
		for i := range v.Arr {
			r.Arr[i] = toReply(v.Arr[i])
		}
	}
	return r
}

// fromReply converts a script's reply for the client.
func fromReply(r script.Reply) Value {
	v := Value{Kind: Kind(r.Kind), Int: r.Int, Str: r.Str}
	if r.Arr != nil {
		v.Arr = make([]Value, len(r.Arr))
		for i := range r.Arr {
			v.Arr[i] = fromReply(r.Arr[i])
		}
	}
	return v
}
