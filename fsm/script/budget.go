package script

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Fixed limits of the Lua state, the same on every node.
const (
	maxLuaCalls   = 20000             // nested calls (Lua 5.1's LUAI_MAXCALLS)
	maxCallDepth  = maxLuaCalls + 100 // gopher-lua's frame stack, with room for error handling
	maxStackSlots = 1 << 20           // gopher-lua registry slots, all frames together
	maxUnpack     = 8000              // LUAI_MAXCSTACK: Lua 5.1's "too many results to unpack"
	maxReplyDepth = 1000              // nesting of a returned table converted to a reply
	slotBytes     = 16                // what one Lua value (an interface) costs in a table
	objectBytes   = 64                // what a new table or closure costs
	replyBytes    = 48                // what one element of a script's reply costs
	defaultMemory = 512 << 20         // Limits.Memory when zero
)

// Why a run stopped early.
type stopReason int32

const (
	running stopReason = iota
	stopInstructions
	stopMemory
	stopKilled
)

// budget is the run's context.Context as gopher-lua sees it. gopher-lua's
// main loop (vm.go, mainLoopWithContext) does
//
//	select { case <-L.ctx.Done(): L.RaiseError(...) default: execute }
//
// once per instruction, so Done is called exactly once per Lua instruction
// executed, in the same order on every node: counting those calls is a
// deterministic instruction counter. Done also inspects the instruction
// about to run (peek.go) to charge CONCAT results before they are built.
// Once the budget trips, Done returns a closed channel, so every further
// instruction raises again and a pcall cannot swallow the stop.
type budget struct {
	vm        *VM
	limit     int64 // instructions; 0 means unlimited
	executed  int64
	memory    int64 // bytes the run may charge
	charged   int64
	stop      stopReason
	interrupt *atomic.Bool
	closed    chan struct{}
	after     []func()
}

// reset readies b for a new run, reusing it (and its channel, unless the
// last run closed it).
func (b *budget) reset(vm *VM, lim Limits, interrupt *atomic.Bool) {
	mem := lim.Memory
	if mem <= 0 {
		mem = defaultMemory
	}
	closed := b.closed
	if closed == nil || b.stop != running {
		closed = make(chan struct{})
	}
	*b = budget{vm: vm, limit: lim.Instructions, memory: mem, closed: closed, interrupt: interrupt, after: b.after[:0]}
}

// threadCtx is the context of one Lua thread (the main state or a
// coroutine): all share the budget, each peeks at its own frames.
type threadCtx struct {
	b *budget
	L *lua.LState
}

func (b *budget) attach(L *lua.LState) { L.SetContext(threadCtx{b: b, L: L}) }

func (c threadCtx) Done() <-chan struct{} {
	b := c.b
	if b.stop != running {
		return b.closed
	}
	b.executed++
	if b.limit > 0 && b.executed > b.limit {
		b.trip(stopInstructions)
		return b.closed
	}
	if b.interrupt != nil && b.interrupt.Load() {
		b.trip(stopKilled)
		return b.closed
	}
	if inst, depth, ok := currentInstruction(c.L); ok {
		if depth >= maxLuaCalls {
			// Lua 5.1's LUAI_MAXCALLS, raised here below gopher-lua's own
			// limit so the error handler still has frames to run in.
			c.L.RaiseError("stack overflow")
		}
		switch opcodeOf(inst) {
		case lua.OP_CONCAT:
			b.checkConcat(c.L, inst)
		case lua.OP_NEWTABLE:
			b.add(objectBytes + int64(argB(inst)+argC(inst))*slotBytes)
		case lua.OP_SETLIST:
			n := int64(argB(inst))
			if n == 0 { // up to the top, after a call or vararg
				n = int64(c.L.GetTop() - argA(inst) - 1)
			}
			b.add(n * slotBytes)
		case lua.OP_CLOSURE:
			b.add(objectBytes)
		case lua.OP_SETTABLE, lua.OP_SETTABLEKS:
			// Any table with a metatable: a __newindex can be a protected
			// table, which then takes the store without a SETTABLE of its own.
			if t, ok := c.L.Get(argA(inst) + 1).(*lua.LTable); ok && t.Metatable != lua.LNil && t.Metatable != nil {
				b.vm.checkWritable(c.L, t)
				b.vm.dirty = true
			}
		case lua.OP_SETGLOBAL:
			if fn := currentFunction(c.L); fn != nil && fn.Env != nil {
				b.vm.checkWritable(c.L, fn.Env)
			}
			b.vm.dirty = true
		}
		if b.stop != running {
			return b.closed
		}
	}
	return nil // never ready: the select takes its default branch
}

func (c threadCtx) Err() error {
	if c.b.stop == running {
		return nil
	}
	return errStopped
}

func (threadCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (threadCtx) Value(any) any               { return nil }

// AfterFunc lets context.WithCancel derive from a run's context without
// starting a goroutine to watch it.
func (c threadCtx) AfterFunc(f func()) func() bool {
	c.b.after = append(c.b.after, f)
	return func() bool { return false }
}

var errStopped = errors.New("script stopped")

func (b *budget) trip(r stopReason) {
	if b.stop != running {
		return
	}
	b.stop = r
	close(b.closed)
	for _, f := range b.after {
		f()
	}
}

// message is the error text a stopped run replies with.
func (b *budget) message() string {
	switch b.stop {
	case stopInstructions:
		return fmt.Sprintf("ERR Script exceeded the instruction limit of %d (lua-instruction-limit)", b.limit)
	case stopMemory:
		return fmt.Sprintf("ERR Script exceeded the memory limit of %d bytes (lua-memory-limit)", b.memory)
	case stopKilled:
		return "ERR Script killed by user with SCRIPT KILL..."
	}
	return ""
}

// checkConcat charges the string CONCAT is about to build from registers
// B..C, and turns number operands into strings formatted as Lua 5.1 does
// (%.14g; gopher-lua would print every digit). The operands are always
// temporaries the compiler just filled (compileStringConcatOpExpr), so
// rewriting them changes nothing else.
func (b *budget) checkConcat(L *lua.LState, inst uint32) {
	var n int64
	for r := argB(inst); r <= argC(inst); r++ {
		switch v := L.Get(r + 1).(type) {
		case lua.LString:
			n += int64(len(v))
		case lua.LNumber:
			s := formatNumber(float64(v))
			L.Replace(r+1, lua.LString(s))
			n += int64(len(s))
		}
	}
	b.add(n)
}

// add charges n bytes and trips the budget when the run has used up its
// memory. Charges only ever grow: what the Go collector frees is not
// credited back, because when it runs differs from node to node.
func (b *budget) add(n int64) {
	b.charged += n
	if b.charged > b.memory {
		b.trip(stopMemory)
	}
}

// work counts n instructions' worth of work done inside a Go function (a
// pattern scan, a copy): the main loop sees one CALL, but scanning a 64 MiB
// string a million times must not run for hours in a write script.
func (b *budget) work(n int64) {
	b.executed += n
	if b.limit > 0 && b.executed > b.limit {
		b.trip(stopInstructions)
	}
}

// bytesPerInstruction is how many bytes a Go function may scan or copy for
// the price of one instruction.
const bytesPerInstruction = 64

// costly wraps a string function whose work grows with its subject (the
// first argument): it is charged len/64 instructions before it runs.
func (vm *VM) costly(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if s, ok := L.Get(1).(lua.LString); ok && vm.run != nil {
			vm.run.work(int64(len(s)) / bytesPerInstruction)
			if vm.run.stop != running {
				L.RaiseError("%s", vm.run.message())
			}
		}
		return fn(L)
	}
}

// charge is add for Go functions: it raises at once when the budget trips,
// before the caller builds anything.
func (vm *VM) charge(L *lua.LState, n int64) error {
	b := vm.run
	if b == nil {
		return nil
	}
	b.add(n)
	if b.stop != running {
		L.RaiseError("%s", b.message())
		return errStopped
	}
	return nil
}

// chargeResult wraps a string function whose result is about as long as its
// arguments (upper, lower, reverse, char): the result is charged after.
func (vm *VM) chargeResult(fn lua.LGFunction) lua.LGFunction {
	fn = vm.costly(fn)
	return func(L *lua.LState) int {
		n := fn(L)
		if s, ok := L.Get(-1).(lua.LString); ok && n > 0 {
			_ = vm.charge(L, int64(len(s)))
		}
		return n
	}
}

func (vm *VM) strRep(L *lua.LState) int {
	s := checkString(L, 1, "rep")
	n := toCInt(checkNumber(L, 2, "rep"))
	if n <= 0 || len(s) == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if n > (1<<62)/int64(len(s)) {
		_ = vm.charge(L, 1<<62)
		return 0
	}
	if vm.charge(L, n*int64(len(s))) != nil {
		return 0
	}
	buf := make([]byte, 0, n*int64(len(s)))
	for range n {
		buf = append(buf, s...)
	}
	L.Push(lua.LString(buf))
	return 1
}

// tableConcat is Lua 5.1's table.concat, charging the result before
// building it.
func (vm *VM) tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := ""
	if L.Get(2) != lua.LNil {
		sep = checkString(L, 2, "concat")
	}
	i := optInt(L, 3, "concat", 1)
	var j int64
	if L.Get(4) == lua.LNil {
		j = int64(t.Len())
	} else {
		j = toCInt(checkNumber(L, 4, "concat"))
	}
	parts := make([]string, 0, min(max(j-i+1, 0), 1<<16))
	var size int64
	for k := i; k <= j; k++ {
		var s string
		switch v := t.RawGetInt(int(k)).(type) {
		case lua.LString:
			s = string(v)
		case lua.LNumber:
			s = formatNumber(float64(v))
		default:
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		size += int64(len(s))
		if k < j {
			size += int64(len(sep))
		}
		if size > vm.run.memory {
			break
		}
		parts = append(parts, s)
	}
	if vm.charge(L, size) != nil {
		return 0
	}
	buf := make([]byte, 0, size)
	for k, s := range parts {
		if k > 0 {
			buf = append(buf, sep...)
		}
		buf = append(buf, s...)
	}
	L.Push(lua.LString(buf))
	return 1
}
