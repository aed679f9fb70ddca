package script

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// lrand48 is Redis's redisLrand48 (src/rand.c): the 48-bit linear
// congruential generator of POSIX lrand48, the same on every architecture.
type lrand48 struct{ x uint64 }

const (
	lrandA    = 0x5DEECE66D
	lrandC    = 0xB
	lrandMask = 1<<48 - 1
	lrandMax  = math.MaxInt32 // REDIS_LRAND48_MAX
)

// seed is redisSrand48: the low 16 bits are 0x330E, the seed fills the rest.
func (r *lrand48) seed(v int32) { r.x = uint64(uint32(v))<<16 | 0x330E }

func (r *lrand48) next() int32 {
	r.x = (lrandA*r.x + lrandC) & lrandMask
	return int32(r.x >> 17)
}

// mathRandom is Redis's redis_math_random: Lua 5.1's math.random with rand()
// replaced by redisLrand48.
func (vm *VM) mathRandom(L *lua.LState) int {
	rv := float64(vm.rand.next()%lrandMax) / float64(lrandMax)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(rv))
	case 1:
		u := checkInt(L, 1, "random")
		if u < 1 {
			argError(L, 1, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(rv*float64(u)) + 1))
	case 2:
		l := checkInt(L, 1, "random")
		u := checkInt(L, 2, "random")
		if l > u {
			argError(L, 2, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(rv*float64(int64(u)-int64(l)+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (vm *VM) mathRandomseed(L *lua.LState) int {
	vm.rand.seed(checkInt(L, 1, "randomseed"))
	return 0
}

// checkInt is luaL_checkint: a number (or a numeric string) truncated to a C int.
func checkInt(L *lua.LState, n int, fname string) int32 {
	return int32(toCInt(checkNumber(L, n, fname)))
}

// toCInt converts as a C cast from double to a 64-bit integer does on x86-64:
// out-of-range values and NaN become math.MinInt64.
func toCInt(f float64) int64 {
	if f != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

// checkNumber is luaL_checknumber with Lua 5.1's error text.
func checkNumber(L *lua.LState, n int, fname string) float64 {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		if f, ok := parseLuaNumber(string(v)); ok {
			return f
		}
	}
	typeError(L, n, fname, "number")
	return 0
}

// checkString is luaL_checklstring: strings, and numbers formatted as Lua 5.1
// formats them (%.14g).
func checkString(L *lua.LState, n int, fname string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return formatNumber(float64(v))
	}
	typeError(L, n, fname, "string")
	return ""
}

func optInt(L *lua.LState, n int, fname string, def int64) int64 {
	if v := L.Get(n); v == lua.LNil {
		return def
	}
	return toCInt(checkNumber(L, n, fname))
}

func typeError(L *lua.LState, n int, fname, want string) {
	got := "no value"
	if n <= L.GetTop() {
		got = L.Get(n).Type().String()
	}
	argError(L, n, fname, want+" expected, got "+got)
}

// argError raises luaL_argerror's text: bad argument #n to 'fname' (msg).
func argError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}
