package script

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cmsgpack library: lua-cmsgpack 0.4.0 as Redis 7.0 ships it
// (deps/lua/src/lua_cmsgpack.c).

const msgpackMaxNesting = 16 // deeper tables encode as nil, which ends cycles

func (vm *VM) cmsgpackFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"pack":       vm.mpPack,
		"unpack":     func(L *lua.LState) int { return vm.mpUnpack(L, 0, 0, true) },
		"unpack_one": func(L *lua.LState) int { return vm.mpUnpack(L, 1, optInt(L, 2, "unpack_one", 0), false) },
		"unpack_limit": func(L *lua.LState) int {
			return vm.mpUnpack(L, optInt(L, 2, "unpack_limit", 0), optInt(L, 3, "unpack_limit", 0), false)
		},
	}
}

type mpEncoder struct {
	vm *VM
	L  *lua.LState
	b  []byte
}

func (vm *VM) mpPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "pack", "MessagePack pack needs input.")
	}
	e := &mpEncoder{vm: vm, L: L}
	for i := 1; i <= n; i++ {
		e.value(L.Get(i), 0)
	}
	L.Push(lua.LString(e.b))
	return 1
}

func (e *mpEncoder) put(b ...byte) {
	_ = e.vm.charge(e.L, int64(len(b)))
	e.b = append(e.b, b...)
}

func (e *mpEncoder) header(small, b16, b32 byte, smallMax int, n int) {
	switch {
	case n <= smallMax:
		e.put(small | byte(n))
	case n <= 0xffff:
		e.put(b16, byte(n>>8), byte(n))
	default:
		e.put(b32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func (e *mpEncoder) value(v lua.LValue, level int) {
	switch x := v.(type) {
	case lua.LString:
		n := len(x)
		switch {
		case n < 32:
			e.put(0xa0 | byte(n))
		case n <= 0xff:
			e.put(0xd9, byte(n))
		default:
			e.header(0, 0xda, 0xdb, -1, n)
		}
		_ = e.vm.charge(e.L, int64(n))
		e.b = append(e.b, x...)
	case lua.LBool:
		if x {
			e.put(0xc3)
		} else {
			e.put(0xc2)
		}
	case lua.LNumber:
		f := float64(x)
		if !math.IsInf(f, 0) && float64(toCInt(f)) == f {
			e.integer(toCInt(f))
		} else if float64(float32(f)) == f || f != f {
			e.put(0xca)
			e.put(binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(f)))...)
		} else {
			e.put(0xcb)
			e.put(binary.BigEndian.AppendUint64(nil, math.Float64bits(f))...)
		}
	case *lua.LTable:
		if level == msgpackMaxNesting {
			e.put(0xc0)
			return
		}
		if tableIsArray(x) {
			n := x.Len()
			e.header(0x90, 0xdc, 0xdd, 15, n)
			for i := 1; i <= n; i++ {
				e.value(e.L.GetTable(x, lua.LNumber(i)), level+1)
			}
			return
		}
		n := 0
		x.ForEach(func(lua.LValue, lua.LValue) { n++ })
		e.header(0x80, 0xde, 0xdf, 15, n)
		x.ForEach(func(k, v lua.LValue) {
			e.value(k, level+1)
			e.value(v, level+1)
		})
	default:
		e.put(0xc0)
	}
}

func (e *mpEncoder) integer(n int64) {
	switch {
	case n >= 0 && n <= 127:
		e.put(byte(n))
	case n >= 0 && n <= 0xff:
		e.put(0xcc, byte(n))
	case n >= 0 && n <= 0xffff:
		e.put(0xcd, byte(n>>8), byte(n))
	case n >= 0 && n <= 0xffffffff:
		e.put(0xce, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	case n >= 0:
		e.put(append([]byte{0xcf}, binary.BigEndian.AppendUint64(nil, uint64(n))...)...)
	case n >= -32:
		e.put(byte(int8(n)))
	case n >= -128:
		e.put(0xd0, byte(n))
	case n >= -32768:
		e.put(0xd1, byte(n>>8), byte(n))
	case n >= -2147483648:
		e.put(0xd2, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		e.put(append([]byte{0xd3}, binary.BigEndian.AppendUint64(nil, uint64(n))...)...)
	}
}

// tableIsArray is table_is_an_array: keys 1..N without holes.
func tableIsArray(t *lua.LTable) bool {
	count, maxKey := int64(0), int64(0)
	ok := true
	t.ForEach(func(k, _ lua.LValue) {
		f, isNum := luaToNumber(k)
		idx := toCInt(f)
		if !isNum || float64(idx) != f || idx < 1 {
			ok = false
			return
		}
		count++
		maxKey = max(maxKey, idx)
	})
	return ok && maxKey == count
}

type mpDecoder struct {
	vm  *VM
	L   *lua.LState
	s   string
	p   int
	err string
}

const (
	mpEOF    = "Missing bytes in input."
	mpBadFmt = "Bad data format in input."
)

func (vm *VM) mpUnpack(L *lua.LState, limit, offset int64, all bool) int {
	s := checkString(L, 1, "unpack")
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, len(s))
	}
	if offset > int64(len(s)) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	d := &mpDecoder{vm: vm, L: L, s: s, p: int(offset)}
	var vals []lua.LValue
	for cnt := int64(0); d.p < len(s) && (limit == 0 || cnt < limit); cnt++ {
		v := d.value()
		if d.err != "" {
			L.RaiseError("%s", d.err)
		}
		vals = append(vals, v)
	}
	if !all {
		next := int64(d.p)
		if d.p >= len(s) {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range vals {
		L.Push(v)
	}
	if all {
		return len(vals)
	}
	return len(vals) + 1
}

func (d *mpDecoder) need(n int) bool {
	if d.err == "" && len(d.s)-d.p < n {
		d.err = mpEOF
	}
	return d.err == ""
}

func (d *mpDecoder) uint(n int) uint64 {
	var v uint64
	for i := 1; i <= n; i++ {
		v = v<<8 | uint64(d.s[d.p+i])
	}
	return v
}

func (d *mpDecoder) str(hdr, n int) lua.LValue {
	if !d.need(hdr + n) {
		return lua.LNil
	}
	_ = d.vm.charge(d.L, int64(n)+slotBytes)
	v := lua.LString(d.s[d.p+hdr : d.p+hdr+n])
	d.p += hdr + n
	return v
}

func (d *mpDecoder) value() lua.LValue {
	if !d.need(1) {
		return lua.LNil
	}
	c := d.s[d.p]
	fixed := func(n int, v func() lua.LValue) lua.LValue {
		if !d.need(n) {
			return lua.LNil
		}
		r := v()
		d.p += n
		return r
	}
	switch {
	case c == 0xcc:
		return fixed(2, func() lua.LValue { return lua.LNumber(d.uint(1)) })
	case c == 0xd0:
		return fixed(2, func() lua.LValue { return lua.LNumber(int8(d.uint(1))) })
	case c == 0xcd:
		return fixed(3, func() lua.LValue { return lua.LNumber(d.uint(2)) })
	case c == 0xd1:
		return fixed(3, func() lua.LValue { return lua.LNumber(int16(d.uint(2))) })
	case c == 0xce:
		return fixed(5, func() lua.LValue { return lua.LNumber(d.uint(4)) })
	case c == 0xd2:
		return fixed(5, func() lua.LValue { return lua.LNumber(int32(d.uint(4))) })
	case c == 0xcf:
		return fixed(9, func() lua.LValue { return lua.LNumber(float64(d.uint(8))) })
	case c == 0xd3:
		return fixed(9, func() lua.LValue { return lua.LNumber(float64(int64(d.uint(8)))) })
	case c == 0xc0:
		d.p++
		return lua.LNil
	case c == 0xc3:
		d.p++
		return lua.LTrue
	case c == 0xc2:
		d.p++
		return lua.LFalse
	case c == 0xca:
		return fixed(5, func() lua.LValue { return lua.LNumber(math.Float32frombits(uint32(d.uint(4)))) })
	case c == 0xcb:
		return fixed(9, func() lua.LValue { return lua.LNumber(math.Float64frombits(d.uint(8))) })
	case c == 0xd9:
		if !d.need(2) {
			return lua.LNil
		}
		return d.str(2, int(d.uint(1)))
	case c == 0xda:
		if !d.need(3) {
			return lua.LNil
		}
		return d.str(3, int(d.uint(2)))
	case c == 0xdb:
		if !d.need(5) {
			return lua.LNil
		}
		return d.str(5, int(d.uint(4)))
	case c == 0xdc, c == 0xdd, c == 0xde, c == 0xdf:
		hdr := 3
		if c == 0xdd || c == 0xdf {
			hdr = 5
		}
		if !d.need(hdr) {
			return lua.LNil
		}
		n := int(d.uint(hdr - 1))
		d.p += hdr
		return d.container(n, c == 0xde || c == 0xdf)
	case c&0x80 == 0:
		d.p++
		return lua.LNumber(c)
	case c&0xe0 == 0xe0:
		d.p++
		return lua.LNumber(int8(c))
	case c&0xe0 == 0xa0:
		return d.str(1, int(c&0x1f))
	case c&0xf0 == 0x90:
		d.p++
		return d.container(int(c&0xf), false)
	case c&0xf0 == 0x80:
		d.p++
		return d.container(int(c&0xf), true)
	}
	d.err = mpBadFmt
	return lua.LNil
}

// container decodes n array elements or map pairs, setting them with the
// table's own rules as lua_settable does (a nil key is an error in Lua; here
// it ends the data as malformed).
func (d *mpDecoder) container(n int, isMap bool) lua.LValue {
	t := d.L.NewTable()
	_ = d.vm.charge(d.L, objectBytes)
	for i := 1; i <= n && d.err == ""; i++ {
		if !isMap {
			v := d.value()
			_ = d.vm.charge(d.L, slotBytes)
			if d.err == "" {
				t.RawSetInt(i, v)
			}
			continue
		}
		k := d.value()
		v := d.value()
		_ = d.vm.charge(d.L, 2*slotBytes)
		if d.err != "" {
			break
		}
		if k == lua.LNil {
			d.L.RaiseError("table index is nil")
		}
		t.RawSet(k, v)
	}
	return t
}
