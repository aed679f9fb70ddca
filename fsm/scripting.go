package fsm

import (
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm/script"
)

// Scripting: EVAL, EVALSHA, SCRIPT, FUNCTION and FCALL on the Lua engine of
// package script. A script that may write is a command of the log like any
// other: it runs inside Apply on every node, with the entry's time and seed
// and a deterministic instruction budget, so every node gets the same
// result. The script cache (SCRIPT LOAD and EVAL bodies) and the function
// libraries are replicated state, in snapshot section 4. Read-only scripts
// (EVAL_RO, EVALSHA_RO, FCALL_RO, no-writes) also run as reads; the RESP
// layer asks ReadOnlyScript which way to route one.

// scripting is the replicated scripting state. Scripts and libraries are
// immutable, so a clone shares them.
type scripting struct {
	cache map[string]*script.Script // by lower-case SHA1 of the body
	funcs *script.Functions
}

func newScripting() scripting {
	return scripting{cache: map[string]*script.Script{}, funcs: script.NewFunctions()}
}

func (s scripting) clone() scripting {
	return scripting{cache: maps.Clone(s.cache), funcs: s.funcs.Clone()}
}

// ScriptRun describes a script that started, for ScriptHooks.Start.
type ScriptRun struct {
	// Name is the script's SHA1 or the function's name.
	Name string
	// Eval: an EVAL-family script (SCRIPT KILL stops it) rather than a
	// function (FUNCTION KILL).
	Eval bool
	// Argv is the command that runs it (FUNCTION STATS shows it); only
	// valid until done is called.
	Argv [][]byte
	// Kill stops the run at its next instruction. Nil for a run inside a
	// log entry, which must end at the same point on every node.
	Kill *atomic.Bool
	// Busy is busy-reply-threshold when the run started: how long it runs
	// before other clients are answered BUSY.
	Busy time.Duration
}

// ScriptHooks connect script runs to the node. Neither affects state.
type ScriptHooks struct {
	// Log receives redis.log lines.
	Log *slog.Logger
	// Start, if set, is told of each run as it starts and returns the
	// function to call when it ends (SCRIPT KILL, BUSY, FUNCTION STATS).
	Start func(ScriptRun) (done func())
}

// SetScriptHooks installs h.
func (f *FSM) SetScriptHooks(h ScriptHooks) { f.scriptHooks.Store(&h) }

func (f *FSM) hooks() *ScriptHooks {
	if h := f.scriptHooks.Load(); h != nil {
		return h
	}
	return &ScriptHooks{}
}

// ScriptCounts reports the cached scripts, libraries and functions (INFO,
// FUNCTION STATS) as of the last entry applied. It takes no lock, so it
// answers while a long read-only script holds the read lock and an entry
// waits for it.
func (f *FSM) ScriptCounts() (scripts, libraries, functions int) {
	return int(f.scrCounts[0].Load()), int(f.scrCounts[1].Load()), int(f.scrCounts[2].Load())
}

// noteScripts refreshes ScriptCounts (under the write lock).
func (f *FSM) noteScripts() {
	libs, fns := f.scr.funcs.Len()
	f.scrCounts[0].Store(int64(len(f.scr.cache)))
	f.scrCounts[1].Store(int64(libs))
	f.scrCounts[2].Store(int64(fns))
}

// ReadOnlyScript reports whether argv (EVAL, EVALSHA or FCALL) runs a
// script that cannot write: one whose shebang or function flags say
// no-writes. Such a call can be served as a read. A script not yet cached
// goes through the log (which caches it).
func (f *FSM) ReadOnlyScript(argv [][]byte) bool {
	if len(argv) < 3 {
		return false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	var s *script.Script
	switch {
	case eqFold(argv[0], "eval"):
		s = f.scr.cache[script.SHA1Hex(argv[1])]
	case eqFold(argv[0], "evalsha"):
		s = f.scr.cache[strings.ToLower(string(argv[1]))]
	case eqFold(argv[0], "fcall"):
		fn, ok := f.scr.funcs.Function(string(argv[1]))
		return ok && fn.Flags&script.FlagNoWrites != 0
	}
	return s != nil && s.Shebang && s.Flags&script.FlagNoWrites != 0
}

// ScriptOOM is what a script command may do while the node is over
// maxmemory: Redis refuses a script that may write unless its flags say
// allow-oom. It returns false if argv runs a script flagged allow-oom,
// else whether the script has flags at all (a shebang or a function: the
// refusal then names the flag).
func (f *FSM) ScriptOOM(argv [][]byte) (refuse, flagged bool) {
	if len(argv) < 2 {
		return true, false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	var s *script.Script
	switch name := strings.ToLower(string(argv[0])); name {
	case "fcall", "fcall_ro":
		fn, ok := f.scr.funcs.Function(string(argv[1]))
		return !ok || fn.Flags&script.FlagAllowOOM == 0, ok
	case "eval", "eval_ro":
		sha := script.SHA1Hex(argv[1])
		if s = f.scr.cache[sha]; s == nil {
			if s = f.readScripts.get(sha); s == nil {
				if c, err := script.Compile([]byte(string(argv[1]))); err == nil {
					s = c
					f.readScripts.put(c)
				}
			}
		}
	default:
		s = f.scr.cache[strings.ToLower(string(argv[1]))]
	}
	if s == nil || !s.Shebang {
		return true, false
	}
	return s.Flags&script.FlagAllowOOM == 0, true
}

// compiled keeps the compiled bodies of scripts run as reads that are not
// in the cache (EVAL_RO of a new body): node-local, never state. It is
// bounded by emptying it when full.
type compiled struct {
	mu sync.Mutex
	m  map[string]*script.Script
}

func (cc *compiled) get(sha string) *script.Script {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.m[sha]
}

func (cc *compiled) put(s *script.Script) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= 256 {
		cc.m = map[string]*script.Script{}
	}
	cc.m[s.SHA] = s
}

var errNoScript = Err("NOSCRIPT No matching script. Please use EVAL.")

// errNoEngine: gopher-lua's internals were not what package script needs
// (script.ErrLayout); the same build fails the same way on every node.
var errNoEngine = Err("ERR scripting is unavailable in this build: " + script.ErrLayout.Error())

// scriptFor returns the compiled script of an EVAL body. In a write the
// body joins the cache, as EVAL caches it in Redis; a read compiles it
// aside.
func (c *ctx) scriptFor(body []byte) (*script.Script, Value) {
	sha := script.SHA1Hex(body)
	if s := c.f.scr.cache[sha]; s != nil {
		return s, Value{}
	}
	if !c.write {
		if s := c.f.readScripts.get(sha); s != nil {
			return s, Value{}
		}
	}
	s, err := script.Compile([]byte(string(body))) // argv may alias the log entry
	if err != nil {
		return nil, Err(err.Error())
	}
	if c.write {
		c.f.scr.cache[sha] = s
	} else {
		c.f.readScripts.put(s)
	}
	return s, Value{}
}

// scriptKeys splits EVAL's and FCALL's numkeys key... arg... with Redis's
// errors; badNum is the reply to a numkeys that is not a number.
func scriptKeys(argv [][]byte, badNum Value) (keys, args [][]byte, errv Value) {
	n, ok := parseInt(argv[0])
	rest := argv[1:]
	switch {
	case !ok:
		return nil, nil, badNum
	case n > int64(len(rest)):
		return nil, nil, Err("ERR Number of keys can't be greater than number of args")
	case n < 0:
		return nil, nil, Err("ERR Number of keys can't be negative")
	}
	return rest[:n], rest[n:], Value{}
}

// EVAL script numkeys key... arg..., EVAL_RO, EVALSHA, EVALSHA_RO.
func cmdEval(c *ctx, argv [][]byte) Value    { return c.eval(argv, false, false) }
func cmdEvalRO(c *ctx, argv [][]byte) Value  { return c.eval(argv, false, true) }
func cmdEvalSha(c *ctx, argv [][]byte) Value { return c.eval(argv, true, false) }
func cmdEvalShaRO(c *ctx, argv [][]byte) Value {
	return c.eval(argv, true, true)
}

func (c *ctx) eval(argv [][]byte, bySHA, ro bool) Value {
	if c.f.eng == nil {
		return errNoEngine
	}
	keys, args, errv := scriptKeys(argv[2:], errNotInt)
	if errv.Kind == KindError {
		return errv
	}
	var s *script.Script
	if bySHA {
		if len(argv[1]) != 40 {
			return errNoScript
		}
		if s = c.f.scr.cache[strings.ToLower(string(argv[1]))]; s == nil {
			return errNoScript
		}
	} else if s, errv = c.scriptFor(argv[1]); s == nil {
		return errv
	}
	flags, compat := s.Flags, !s.Shebang
	return c.runScript(scriptCall{name: s.SHA, eval: true, flags: flags, compat: compat, ro: ro, argv: argv},
		func(opt script.RunOptions) script.Reply { return c.f.eng.Eval(s, keys, args, opt) })
}

var scriptHelp = []string{
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DEBUG (YES|SYNC|NO)",
	"    Set the debug mode for subsequent scripts executed.",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache. Very dangerous on replicas.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the scripts cache.",
	"    * SYNC: Synchronously flush the scripts cache.",
	"KILL",
	"    Kill the currently executing Lua script.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
	"HELP",
	"    Prints this help.",
}

// ErrNotBusy is SCRIPT KILL's and FUNCTION KILL's reply when nothing runs.
const ErrNotBusy = "NOTBUSY No scripts in execution right now."

// NoChannelsCommand wraps a script command of a user who may not publish:
// "understudy.nochannels EVAL ...". The user's permissions must travel in
// the entry, since every node runs the script (scripthost.go refuses
// PUBLISH inside it with Redis's ACL error).
const NoChannelsCommand = "understudy.nochannels"

// IsScriptCommand reports whether name (lower case) runs a script: EVAL,
// EVALSHA, FCALL and their _RO forms.
func IsScriptCommand(name string) bool {
	switch name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		return true
	}
	return false
}

func cmdNoChannels(c *ctx, argv [][]byte) Value {
	if cmd := Lookup(argv[1]); cmd == nil || !IsScriptCommand(cmd.Name) {
		return Err("ERR " + NoChannelsCommand + " wraps script commands only")
	}
	c.noChannels = true
	defer func() { c.noChannels = false }()
	return run(c, argv[1:])
}

func scriptCommands() []decl {
	return []decl{
		{name: NoChannelsCommand, run: cmdNoChannels, since: Level2, log: true, readable: true,
			own: &cmdtab.Spec{Name: NoChannelsCommand, Arity: -4, Flags: cmdtab.NoScript}},
		{name: "eval", run: cmdEval, since: Level2, log: true, readable: true},
		{name: "evalsha", run: cmdEvalSha, since: Level2, log: true, readable: true},
		{name: "eval_ro", run: cmdEvalRO, since: Level2},
		{name: "evalsha_ro", run: cmdEvalShaRO, since: Level2},
		{name: "script|load", since: Level2, log: true, run: func(c *ctx, argv [][]byte) Value {
			if c.f.eng == nil {
				return errNoEngine
			}
			s, errv := c.scriptFor(argv[2])
			if s == nil {
				return errv
			}
			return BulkString(s.SHA)
		}},
		{name: "script|exists", since: Level2, run: func(c *ctx, argv [][]byte) Value {
			out := make([]Value, len(argv)-2)
			for i, sha := range argv[2:] {
				out[i] = Zero
				if c.f.scr.cache[strings.ToLower(string(sha))] != nil {
					out[i] = One
				}
			}
			return Array(out)
		}},
		{name: "script|flush", since: Level2, log: true, run: func(c *ctx, argv [][]byte) Value {
			if len(argv) > 3 || len(argv) == 3 && !eqFold(argv[2], "sync") && !eqFold(argv[2], "async") {
				return Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
			}
			clear(c.f.scr.cache)
			return OK
		}},
		{name: "script|kill", since: Level2, run: func(*ctx, [][]byte) Value { return Err(ErrNotBusy) }},
		{name: "script|debug", since: Level2, run: func(*ctx, [][]byte) Value {
			return Err("ERR SCRIPT DEBUG is not supported: scripts run inside the replicated log")
		}},
		{name: "script|help", since: Level2, run: func(*ctx, [][]byte) Value { return SimpleLines(scriptHelp) }},
	}
}
