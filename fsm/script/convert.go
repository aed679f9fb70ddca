package script

import (
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// toLua converts a reply of redis.call to Lua as Redis 7.0's
// redisProtocolToLuaType does, for the protocol the script chose with
// redis.setresp (RESP2 by default). Replies are typed (fsm builds maps, sets
// and doubles whatever the client speaks), so RESP2 first flattens them as
// the RESP writer would for a RESP2 client.
func (vm *VM) toLua(L *lua.LState, r Reply) lua.LValue {
	_ = vm.charge(L, replySize(r))
	return vm.replyToLua(L, r)
}

func (vm *VM) replyToLua(L *lua.LState, r Reply) lua.LValue {
	resp3 := vm.resp == 3
	switch r.Kind {
	case KindSimple:
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(r.Str))
		return t
	case KindError:
		t := errorTable(L, "-"+string(r.Str))
		t.RawSetString("ignore_error_stats_update", lua.LTrue)
		return t
	case KindInt:
		return lua.LNumber(r.Int)
	case KindBulk:
		return lua.LString(r.Str)
	case KindNull, KindNullArray:
		if resp3 {
			return lua.LNil
		}
		return lua.LFalse
	case KindBool:
		if resp3 {
			return lua.LBool(r.Int != 0)
		}
		return lua.LNumber(r.Int)
	case KindDouble:
		if resp3 {
			f, _ := strconv.ParseFloat(string(r.Str), 64)
			t := L.NewTable()
			t.RawSetString("double", lua.LNumber(f))
			return t
		}
		return lua.LString(r.Str)
	case KindBigNumber:
		if resp3 {
			t := L.NewTable()
			t.RawSetString("big_number", lua.LString(r.Str))
			return t
		}
		return lua.LString(r.Str)
	case KindVerbatim:
		if resp3 {
			v := L.NewTable()
			v.RawSetString("string", lua.LString(r.Str))
			v.RawSetString("format", lua.LString("txt"))
			t := L.NewTable()
			t.RawSetString("verbatim_string", v)
			return t
		}
		return lua.LString(r.Str)
	case KindMap:
		if !resp3 {
			return vm.arrayToLua(L, r.Arr[:len(r.Arr)/2*2])
		}
		m := L.NewTable()
		for i := 0; i+1 < len(r.Arr); i += 2 {
			m.RawSet(vm.replyToLua(L, r.Arr[i]), vm.replyToLua(L, r.Arr[i+1]))
		}
		t := L.NewTable()
		t.RawSetString("map", m)
		return t
	case KindSet:
		if !resp3 {
			return vm.arrayToLua(L, r.Arr)
		}
		s := L.NewTable()
		for _, e := range r.Arr {
			s.RawSet(vm.replyToLua(L, e), lua.LTrue)
		}
		t := L.NewTable()
		t.RawSetString("set", s)
		return t
	case KindPairs:
		if !resp3 {
			return vm.arrayToLua(L, r.Arr[:len(r.Arr)/2*2])
		}
		t := L.CreateTable(len(r.Arr)/2, 0)
		for i := 0; i+1 < len(r.Arr); i += 2 {
			t.Append(vm.arrayToLua(L, r.Arr[i:i+2]))
		}
		return t
	default: // KindArray, KindPush
		return vm.arrayToLua(L, r.Arr)
	}
}

// arrayToLua sets element i at index i+1 with a raw set, as Redis's
// lua_settable on a fresh table does: a nil element (RESP3 null) leaves a
// hole, a false one does not.
func (vm *VM) arrayToLua(L *lua.LState, elems []Reply) lua.LValue {
	t := L.CreateTable(len(elems), 0)
	for i, e := range elems {
		t.RawSetInt(i+1, vm.replyToLua(L, e))
	}
	return t
}

// replySize is what converting r to Lua costs the run's memory budget.
func replySize(r Reply) int64 {
	n := int64(len(r.Str)) + slotBytes
	for _, e := range r.Arr {
		n += replySize(e)
	}
	return n
}

// toReply converts the script's return value as luaReplyToRedisReply does.
// The protocol of booleans follows redis.setresp, as in Redis (the script
// client's protocol, not the caller's).
func (vm *VM) toReply(v lua.LValue, depth int) Reply {
	if depth > maxReplyDepth {
		return ErrorReply("ERR reached lua stack limit")
	}
	// A table may appear many times in the value (t = {big, big, ...}): the
	// reply is charged as it grows, and abandoned once over the budget.
	if vm.run.add(replyBytes); vm.run.stop != running {
		return Reply{}
	}
	switch x := v.(type) {
	case lua.LString:
		if vm.run.add(int64(len(x))); vm.run.stop != running {
			return Reply{}
		}
		return Reply{Kind: KindBulk, Str: []byte(x)}
	case lua.LBool:
		if vm.resp == 2 {
			if x {
				return Reply{Kind: KindInt, Int: 1}
			}
			return Reply{Kind: KindNull}
		}
		return Reply{Kind: KindBool, Int: boolInt(bool(x))}
	case lua.LNumber:
		return Reply{Kind: KindInt, Int: toCInt(float64(x))}
	case *lua.LTable:
		return vm.tableToReply(x, depth)
	}
	return Reply{Kind: KindNull}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (vm *VM) tableToReply(t *lua.LTable, depth int) Reply {
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		return ErrorReply(string(s))
	}
	if s, ok := t.RawGetString("ok").(lua.LString); ok {
		return Reply{Kind: KindSimple, Str: []byte(crlfToSpace(string(s)))}
	}
	if n, ok := t.RawGetString("double").(lua.LNumber); ok {
		return Reply{Kind: KindDouble, Str: []byte(formatDouble(float64(n)))}
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		return Reply{Kind: KindBigNumber, Str: []byte(crlfToSpace(string(s)))}
	}
	if vt, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		_, okf := vt.RawGetString("format").(lua.LString)
		s, oks := vt.RawGetString("string").(lua.LString)
		if okf && oks {
			return Reply{Kind: KindVerbatim, Str: []byte(s)}
		}
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		var arr []Reply
		m.ForEach(func(k, v lua.LValue) {
			arr = append(arr, vm.toReply(k, depth+1), vm.toReply(v, depth+1))
		})
		return Reply{Kind: KindMap, Arr: arr}
	}
	if s, ok := t.RawGetString("set").(*lua.LTable); ok {
		var arr []Reply
		s.ForEach(func(k, _ lua.LValue) { arr = append(arr, vm.toReply(k, depth+1)) })
		return Reply{Kind: KindSet, Arr: arr}
	}
	arr := []Reply{}
	for i := 1; vm.run.stop == running; i++ {
		v := t.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		arr = append(arr, vm.toReply(v, depth+1))
	}
	return Reply{Kind: KindArray, Arr: arr}
}

// formatDouble is Redis 7.0's addReplyDouble: "%.17g", "inf" / "-inf".
func formatDouble(f float64) string {
	switch {
	case f > 1.7976931348623157e308:
		return "inf"
	case f < -1.7976931348623157e308:
		return "-inf"
	}
	return formatArgNumber(f)
}

func crlfToSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
