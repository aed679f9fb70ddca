package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

var mathInf = math.Inf(1)

// baseTonumber is Lua 5.1's tonumber: strtod for base 10 (gopher-lua
// rejects "1e2"), strtoul for other bases.
func baseTonumber(L *lua.LState) int {
	base := optInt(L, 2, "tonumber", 10)
	if base == 10 {
		L.CheckAny(1)
		if f, ok := luaToNumber(L.Get(1)); ok {
			L.Push(lua.LNumber(f))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}
	s := checkString(L, 1, "tonumber")
	if base < 2 || base > 36 {
		argError(L, 2, "tonumber", "base out of range")
	}
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg, t = t[0] == '-', t[1:]
	}
	end := 0
	for end < len(t) && digitValue(t[end]) < int(base) {
		end++
	}
	if end == 0 || strings.Trim(t[end:], " \t\n\v\f\r") != "" {
		L.Push(lua.LNil)
		return 1
	}
	u, err := strconv.ParseUint(t[:end], int(base), 64)
	if err != nil {
		u = math.MaxUint64 // strtoul saturates
	}
	if neg {
		u = -u
	}
	L.Push(lua.LNumber(float64(u)))
	return 1
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// tableForeach and tableForeachi are Lua 5.1's deprecated table.foreach
// and table.foreachi, which Redis still has.
func tableForeach(L *lua.LState) int {
	t := L.CheckTable(1)
	f := L.CheckFunction(2)
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		L.Push(f)
		L.Push(k)
		L.Push(v)
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

func tableForeachi(L *lua.LState) int {
	t := L.CheckTable(1)
	f := L.CheckFunction(2)
	for i := 1; i <= t.Len(); i++ {
		L.Push(f)
		L.Push(lua.LNumber(i))
		L.Push(t.RawGetInt(i))
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// baseError is Lua 5.1's error: a string or number message gets the
// location of the function at the given level ("user_script:2: "), and
// error() with no value raises nil.
func baseError(L *lua.LState) int {
	level := optInt(L, 2, "error", 1)
	v := L.Get(1)
	switch x := v.(type) {
	case lua.LString, lua.LNumber:
		if level > 0 {
			v = lua.LString(where(L, int(level)) + lua.LVAsString(x))
			if n, ok := x.(lua.LNumber); ok {
				v = lua.LString(where(L, int(level)) + formatNumber(float64(n)))
			}
		}
	}
	L.Error(v, 0)
	return 0
}

// where is luaL_where: "chunk:line: " for a Lua function at level, else "".
func where(L *lua.LState, level int) string {
	dbg, ok := L.GetStack(level)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.CurrentLine <= 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", dbg.Source, dbg.CurrentLine)
}

func (vm *VM) baseTostring(L *lua.LState) int {
	v := L.CheckAny(1)
	if fn := L.GetMetaField(v, "__tostring"); fn != lua.LNil {
		L.Push(fn)
		L.Push(v)
		L.Call(1, 1)
		return 1
	}
	L.Push(lua.LString(vm.luaTostring(v)))
	return 1
}

// basePcall is Redis's luaRedisPcall: an error that is a table with a string
// err field is returned as that string.
func (vm *VM) basePcall(L *lua.LState) int {
	L.CheckAny(1)
	nargs := L.GetTop() - 1
	if err := L.PCall(nargs, lua.MultRet, nil); err != nil {
		obj := lua.LValue(lua.LString(err.Error()))
		if aerr, ok := err.(*lua.ApiError); ok && aerr.Object != nil {
			obj = aerr.Object
		}
		if t, ok := obj.(*lua.LTable); ok {
			if s, ok := t.RawGetString("err").(lua.LString); ok {
				obj = s
			}
		}
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

func (vm *VM) baseRawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if vm.readonly[t] {
		raiseBare(L, msgReadonly)
	}
	L.CheckAny(2)
	L.CheckAny(3)
	t.RawSet(L.Get(2), L.Get(3))
	L.SetTop(1)
	return 1
}

func (vm *VM) baseSetmetatable(L *lua.LState) int {
	if t, ok := L.Get(1).(*lua.LTable); ok && vm.readonly[t] {
		raiseBare(L, msgReadonly)
	}
	L.CheckTypes(2, lua.LTNil, lua.LTTable)
	obj := L.CheckTable(1)
	if mt, ok := obj.Metatable.(*lua.LTable); ok && mt.RawGetString("__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	obj.Metatable = L.Get(2)
	L.SetTop(1)
	return 1
}

// guardFirst wraps a table.* function that changes its first argument in
// place, refusing protected tables as Redis's read-only flag does.
func (vm *VM) guardFirst(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && vm.readonly[t] {
			raiseBare(L, msgReadonly)
		}
		return fn(L)
	}
}

// baseCollectgarbage and baseGcinfo report the run's charged memory: the
// real heap differs from node to node and would leak into replicated state.
func (vm *VM) baseCollectgarbage(L *lua.LState) int {
	opt := "collect"
	if L.GetTop() >= 1 {
		opt = checkString(L, 1, "collectgarbage")
	}
	switch opt {
	case "count":
		L.Push(lua.LNumber(float64(vm.run.charged) / 1024))
	case "collect", "step", "stop", "restart", "setpause", "setstepmul":
		L.Push(lua.LNumber(0))
	default:
		argError(L, 1, "collectgarbage", "invalid option '"+opt+"'")
	}
	return 1
}

func (vm *VM) baseGcinfo(L *lua.LState) int {
	L.Push(lua.LNumber(vm.run.charged / 1024))
	return 1
}

// baseUnpack is Lua 5.1's unpack with its stack check ("too many results to
// unpack") instead of growing gopher-lua's registry without bound.
func (vm *VM) baseUnpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := optInt(L, 2, "unpack", 1)
	var e int64
	if L.Get(3) == lua.LNil {
		e = int64(t.Len())
	} else {
		e = toCInt(checkNumber(L, 3, "unpack"))
	}
	if i > e {
		return 0
	}
	n := e - i + 1
	if n <= 0 || n >= maxUnpack {
		L.RaiseError("too many results to unpack")
	}
	for k := i; k <= e; k++ {
		L.Push(t.RawGetInt(int(k)))
	}
	return int(n)
}

func (vm *VM) coCreate(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := vm.withoutContext(L, orig)
		if th, ok := L.Get(-1).(*lua.LState); ok {
			vm.run.attach(th)
		}
		return n
	}
}

func (vm *VM) coWrap(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := vm.withoutContext(L, orig)
		if fn, ok := L.Get(-1).(*lua.LFunction); ok && len(fn.Upvalues) == 1 {
			if th, ok := fn.Upvalues[0].Value().(*lua.LState); ok {
				vm.run.attach(th)
			}
		}
		return n
	}
}

// withoutContext runs a coroutine constructor with the run's context
// removed: gopher-lua would derive the thread's context with
// context.WithCancel, whose instructions the budget would not count. The
// caller then gives the thread the budget itself.
func (vm *VM) withoutContext(L *lua.LState, fn lua.LGFunction) int {
	ctx := L.RemoveContext()
	defer func() {
		if ctx != nil {
			L.SetContext(ctx)
		}
	}()
	return fn(L)
}
