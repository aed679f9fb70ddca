package script

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The bit library: Lua BitOp 1.0.2 (Redis's deps/lua/src/lua_bit.c).

// barg converts argument i to 32 bits as BitOp does: add 2^52+2^51 so the
// double's low mantissa bits hold the integer modulo 2^32 (rounding to
// nearest even on the way).
func barg(L *lua.LState, i int, fname string) uint32 {
	n, ok := luaToNumber(L.Get(i))
	b := uint32(math.Float64bits(n + 6755399441055744.0))
	if b == 0 && !ok {
		typeError(L, i, fname, "number")
	}
	return b
}

func bret(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

func bitFuncs() map[string]lua.LGFunction {
	fold := func(name string, op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := barg(L, 1, name)
			for i := L.GetTop(); i > 1; i-- {
				b = op(b, barg(L, i, name))
			}
			return bret(L, b)
		}
	}
	shift := func(name string, op func(b, n uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := barg(L, 1, name)
			n := barg(L, 2, name) & 31
			return bret(L, op(b, n))
		}
	}
	return map[string]lua.LGFunction{
		"tobit":  func(L *lua.LState) int { return bret(L, barg(L, 1, "tobit")) },
		"bnot":   func(L *lua.LState) int { return bret(L, ^barg(L, 1, "bnot")) },
		"band":   fold("band", func(a, b uint32) uint32 { return a & b }),
		"bor":    fold("bor", func(a, b uint32) uint32 { return a | b }),
		"bxor":   fold("bxor", func(a, b uint32) uint32 { return a ^ b }),
		"lshift": shift("lshift", func(b, n uint32) uint32 { return b << n }),
		"rshift": shift("rshift", func(b, n uint32) uint32 { return b >> n }),
		"arshift": shift("arshift", func(b, n uint32) uint32 {
			return uint32(int32(b) >> n)
		}),
		"rol": shift("rol", func(b, n uint32) uint32 { return b<<n | b>>((32-n)&31) }),
		"ror": shift("ror", func(b, n uint32) uint32 { return b<<((32-n)&31) | b>>n }),
		"bswap": func(L *lua.LState) int {
			b := barg(L, 1, "bswap")
			return bret(L, b>>24|(b>>8)&0xff00|(b&0xff00)<<8|b<<24)
		},
		"tohex": func(L *lua.LState) int {
			b := barg(L, 1, "tohex")
			n := int32(8)
			if L.GetTop() >= 2 {
				n = int32(barg(L, 2, "tohex"))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n, digits = -n, "0123456789ABCDEF"
			}
			if n > 8 || n < 0 {
				n = 8
			}
			buf := make([]byte, n)
			for i := int(n) - 1; i >= 0; i-- {
				buf[i] = digits[b&15]
				b >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	}
}
