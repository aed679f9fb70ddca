package script

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"
)

// Host is what a script run needs from the state machine.
type Host interface {
	// Call runs one command as redis.call does. The host checks what Redis
	// checks before running it (unknown command, arity, ACL, a write in a
	// read-only script, deny-script commands, OOM) and returns those
	// failures as error replies with Redis's texts.
	Call(argv [][]byte) Reply
	// Log is redis.log: level is LogDebug..LogWarning.
	Log(level int, msg string)
}

// Limits are a run's deterministic budgets, the same on every node.
type Limits struct {
	// Instructions is the number of Lua VM instructions the run may
	// execute; 0 means no limit (read-only scripts, stopped by Interrupt).
	Instructions int64
	// Memory is the number of bytes the run may charge (strings built,
	// tables filled in bulk, replies converted); 0 means 512 MiB.
	Memory int64
}

// RunOptions configure one EVAL or FCALL.
type RunOptions struct {
	Host   Host
	Limits Limits
	// Seed seeds math.random (redisSrand48) at the start of the run; the
	// state machine passes the log entry's seed.
	Seed int64
	// Interrupt, when set to true from another goroutine, stops the run at
	// its next instruction with Redis's SCRIPT KILL error. Only read-only
	// runs may be interrupted: a write run must stop at the same point on
	// every node.
	Interrupt *atomic.Bool
}

// Engine runs scripts. It keeps a pool of VMs, so runs on different
// goroutines (read-only scripts) use different Lua states; compiled scripts
// and libraries are immutable and shared.
type Engine struct {
	mu   sync.Mutex
	free []*VM
}

// ErrLayout reports a gopher-lua whose internals differ from the version this
// package was written against (see peek.go).
var ErrLayout = errors.New("script: unexpected gopher-lua internals; the CONCAT memory check cannot run")

// NewEngine returns an engine.
func NewEngine() (*Engine, error) {
	if !layout.ok {
		return nil, ErrLayout
	}
	return &Engine{}, nil
}

func (e *Engine) get() *VM {
	e.mu.Lock()
	if n := len(e.free); n > 0 {
		vm := e.free[n-1]
		e.free = e.free[:n-1]
		e.mu.Unlock()
		return vm
	}
	e.mu.Unlock()
	return newVM()
}

func (e *Engine) put(vm *VM) {
	e.mu.Lock()
	if len(e.free) < 8 {
		e.free = append(e.free, vm)
	}
	e.mu.Unlock()
}

// Eval runs an EVAL script with KEYS and ARGV.
func (e *Engine) Eval(s *Script, keys, args [][]byte, opt RunOptions) Reply {
	return e.run(s.SHA, opt, func(vm *VM) (*lua.LFunction, []lua.LValue) {
		vm.globals.RawSetString("KEYS", vm.stringArray(keys))
		vm.globals.RawSetString("ARGV", vm.stringArray(args))
		return vm.L.NewFunctionFromProto(s.proto), nil
	})
}

// FCall runs function f of its library with the keys and args tables as
// arguments. The library's code runs again first, so every call sees the
// library as just loaded: upvalues a call changed do not reach the next one
// (in Redis they would, until a restart, and would differ between nodes).
func (e *Engine) FCall(f *Function, keys, args [][]byte, opt RunOptions) Reply {
	return e.run(f.Name, opt, func(vm *VM) (*lua.LFunction, []lua.LValue) {
		vm.quiet = true // its redis.log lines were logged once, by FUNCTION LOAD
		cb, err := vm.instantiate(f.Library)
		vm.quiet = false
		if err != nil || cb[f.Name] == nil {
			return nil, nil
		}
		return cb[f.Name], []lua.LValue{vm.stringArray(keys), vm.stringArray(args)}
	})
}

// run executes the function prepare returns in a pooled VM and converts the
// outcome to a reply, as luaCallFunction does.
func (e *Engine) run(name string, opt RunOptions, prepare func(*VM) (*lua.LFunction, []lua.LValue)) (reply Reply) {
	vm := e.get()
	healthy := false
	defer func() {
		if p := recover(); p != nil {
			slog.Error("script: Lua state failed; discarding it", "script", name, "panic", fmt.Sprint(p))
			reply = ErrorReply(fmt.Sprintf("ERR Error running script %s, internal error", name))
		}
		vm.finish()
		if healthy {
			e.put(vm)
		}
	}()
	vm.begin(opt)
	L := vm.L
	fn, args := prepare(vm)
	if fn == nil {
		healthy = true
		if vm.run.stop != running {
			return ErrorReply(vm.run.message())
		}
		return ErrorReply("ERR Function not found")
	}
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	err := L.PCall(len(args), 1, vm.errHandler)
	healthy = true
	if err != nil {
		return vm.errorReply(name, err)
	}
	v := L.Get(-1)
	L.Pop(1)
	reply = vm.toReply(v, 0)
	if vm.run.stop != running {
		return ErrorReply(vm.run.message())
	}
	return reply
}

func (vm *VM) begin(opt RunOptions) {
	vm.host = opt.Host
	vm.resp = 2
	vm.cjson = defaultCjsonConfig()
	vm.rand.seed(int32(opt.Seed ^ opt.Seed>>32))
	vm.run = &vm.budget
	vm.run.reset(vm, opt.Limits, opt.Interrupt)
	vm.run.attach(vm.L)
}

func (vm *VM) finish() {
	vm.L.RemoveContext()
	vm.L.SetTop(0)
	vm.globals.RawSetString("KEYS", lua.LNil)
	vm.globals.RawSetString("ARGV", lua.LNil)
	vm.restore()
	vm.loading = false
	vm.quiet = false
	vm.host = nil
	vm.funcs = nil
	clear(vm.ids)
	vm.nextID = 0
}

func (vm *VM) stringArray(items [][]byte) *lua.LTable {
	t := vm.L.CreateTable(len(items), 0)
	var n int64
	for _, it := range items {
		t.Append(lua.LString(it))
		n += int64(len(it)) + slotBytes
	}
	vm.run.add(n)
	return t
}

// errorReply formats a failed run as luaCallFunction does:
// "<err> script: <name>, on <source>:<line>."
func (vm *VM) errorReply(name string, err error) Reply {
	var obj lua.LValue = lua.LString(err.Error())
	if aerr, ok := err.(*lua.ApiError); ok && aerr.Object != nil {
		obj = aerr.Object
	}
	t, ok := obj.(*lua.LTable)
	if !ok {
		return ErrorReply(fmt.Sprintf("ERR Error running script %s, %.100s", name, lua.LVAsString(obj)))
	}
	msg := "ERR unknown error" // redis-server 7.0.15 crashes on error({}) (NULL message)
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		msg = string(s)
	}
	src, hasSrc := t.RawGetString("source").(lua.LString)
	line := t.RawGetString("line")
	if hasSrc && line != lua.LNil {
		msg += fmt.Sprintf(" script: %s, on %s:%s.", name, src, lua.LVAsString(line))
	}
	return ErrorReply(msg)
}

// errorHandler is __redis__err__handler: it turns any error into an
// {err=..., source=..., line=...} table, taking the location from the
// function that raised it (or its caller when that is a Go function).
func (vm *VM) errorHandler(L *lua.LState) int {
	v := L.Get(1)
	t, ok := v.(*lua.LTable)
	switch {
	case vm.run != nil && vm.run.stop != running:
		t = L.NewTable()
		t.RawSetString("err", lua.LString(vm.run.message()))
	case !ok:
		t = L.NewTable()
		t.RawSetString("err", lua.LString("ERR "+vm.errString(L, v)))
	case vm.readonly[t]:
		c := L.NewTable()
		t.ForEach(func(k, v lua.LValue) { c.RawSet(k, v) })
		t = c
	}
	if src, line, ok := errorLocation(L); ok {
		t.RawSetString("source", lua.LString("@"+src))
		t.RawSetString("line", lua.LNumber(line))
	}
	L.Push(t)
	return 1
}

// errString is the text of a non-table error value, with gopher-lua's
// runtime error messages in Lua 5.1's words (varinfo.go).
func (vm *VM) errString(L *lua.LState, v lua.LValue) string {
	s, ok := v.(lua.LString)
	if !ok {
		return vm.luaTostring(v)
	}
	dbg, found := L.GetStack(1)
	if !found {
		return string(s)
	}
	prefix, rest := splitLocation(string(s))
	return prefix + luaMessage(L, dbg, rest)
}

// errorLocation finds the Lua function where the error was raised: the
// first frame below the handler, or the one below that if it is a Go
// function (redis.call, error, a library function).
func errorLocation(L *lua.LState) (string, int, bool) {
	for level, skipped := 1, false; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return "", 0, false
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			return "", 0, false
		}
		if dbg.What == "G" && !skipped {
			skipped = true
			continue
		}
		return dbg.Source, dbg.CurrentLine, true
	}
}
