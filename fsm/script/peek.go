package script

import (
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua offers no hook on the instruction about to run, but its main loop
// calls the run's context Done() once per instruction, just after fetching
// it. frameLayout lets that callback read the current call frame (the
// unexported LState.currentFrame) to see the instruction: CONCAT is then
// checked before it allocates its result, which no after-the-fact check
// could bound (one CONCAT of 200 registers multiplies a string's size by 200).
// The offsets come from reflection on the pinned gopher-lua version, and
// frameLayoutOK records whether every field has the expected type; if not,
// New refuses to build an engine rather than read memory blindly.
type frameLayout struct {
	ok                            bool
	frame, fn, pc, localBase, idx uintptr
	debugFrame                    uintptr // lua.Debug.frame
	reg, regArray                 uintptr // LState.reg, registry.array
}

var layout = findLayout()

func findLayout() frameLayout {
	st := reflect.TypeOf(lua.LState{})
	cf, ok := st.FieldByName("currentFrame")
	if !ok || cf.Type.Kind() != reflect.Pointer || cf.Type.Elem().Kind() != reflect.Struct {
		return frameLayout{}
	}
	ft := cf.Type.Elem()
	fn, ok1 := ft.FieldByName("Fn")
	pc, ok2 := ft.FieldByName("Pc")
	lb, ok3 := ft.FieldByName("LocalBase")
	ix, ok7 := ft.FieldByName("Idx")
	if !ok1 || !ok2 || !ok3 || !ok7 || fn.Type != reflect.TypeOf((*lua.LFunction)(nil)) ||
		pc.Type.Kind() != reflect.Int || lb.Type.Kind() != reflect.Int || ix.Type.Kind() != reflect.Int {
		return frameLayout{}
	}
	df, ok4 := reflect.TypeOf(lua.Debug{}).FieldByName("frame")
	rg, ok5 := st.FieldByName("reg")
	if !ok4 || !ok5 || df.Type != cf.Type || rg.Type.Kind() != reflect.Pointer {
		return frameLayout{}
	}
	arr, ok6 := rg.Type.Elem().FieldByName("array")
	if !ok6 || arr.Type != reflect.TypeOf([]lua.LValue(nil)) {
		return frameLayout{}
	}
	return frameLayout{ok: true, frame: cf.Offset, fn: fn.Offset, pc: pc.Offset, localBase: lb.Offset, idx: ix.Offset,
		debugFrame: df.Offset, reg: rg.Offset, regArray: arr.Offset}
}

// frameAt returns the function, current instruction index and register
// base of the frame dbg describes (from L.GetStack).
func frameAt(dbg *lua.Debug) (fn *lua.LFunction, pc, base int, ok bool) {
	if !layout.ok {
		return nil, 0, 0, false
	}
	frame := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(dbg), layout.debugFrame))
	if frame == nil {
		return nil, 0, 0, false
	}
	fn = *(**lua.LFunction)(unsafe.Add(frame, layout.fn))
	pc = *(*int)(unsafe.Add(frame, layout.pc))
	base = *(*int)(unsafe.Add(frame, layout.localBase))
	if fn == nil || fn.IsG || fn.Proto == nil || pc < 1 || pc > len(fn.Proto.Code) {
		return nil, 0, 0, false
	}
	return fn, pc - 1, base, true
}

// register returns the value in absolute register i of L's stack.
func register(L *lua.LState, i int) lua.LValue {
	reg := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), layout.reg))
	arr := *(*[]lua.LValue)(unsafe.Add(reg, layout.regArray))
	if i < 0 || i >= len(arr) || arr[i] == nil {
		return lua.LNil
	}
	return arr[i]
}

// currentInstruction returns the instruction L is about to execute (its Pc
// has already been advanced past it) and the call depth, or false outside
// a Lua function.
func currentInstruction(L *lua.LState) (uint32, int, bool) {
	if !layout.ok {
		return 0, 0, false
	}
	frame := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), layout.frame))
	if frame == nil {
		return 0, 0, false
	}
	fn := *(**lua.LFunction)(unsafe.Add(frame, layout.fn))
	pc := *(*int)(unsafe.Add(frame, layout.pc))
	if fn == nil || fn.IsG || fn.Proto == nil || pc < 1 || pc > len(fn.Proto.Code) {
		return 0, 0, false
	}
	return fn.Proto.Code[pc-1], *(*int)(unsafe.Add(frame, layout.idx)), true
}

// currentFunction is the Lua function of L's current frame, nil if none
// (or if the layout was not found).
func currentFunction(L *lua.LState) *lua.LFunction {
	if !layout.ok {
		return nil
	}
	frame := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), layout.frame))
	if frame == nil {
		return nil
	}
	fn := *(**lua.LFunction)(unsafe.Add(frame, layout.fn))
	if fn == nil || fn.IsG {
		return nil
	}
	return fn
}

// Instruction fields, as gopher-lua encodes them (opcode.go).
func opcodeOf(inst uint32) int { return int(inst >> 26) }
func argA(inst uint32) int     { return int(inst>>18) & 0xff }
func argB(inst uint32) int     { return int(inst & 0x1ff) }
func argC(inst uint32) int     { return int(inst>>9) & 0x1ff }
