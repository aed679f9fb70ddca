package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The cjson library: lua-cjson 2.1.0 as Redis 7.0 ships it. Its
// configuration is per run (reset by begin): in Redis it lives in the Lua
// state for the life of the process, which would differ from node to node.
type cjsonConfig struct {
	sparseConvert  bool
	sparseRatio    int
	sparseSafe     int
	encodeMaxDepth int
	decodeMaxDepth int
	precision      int
	encodeInvalid  int // 0 off, 1 on, 2 null
	decodeInvalid  bool
	keepBuffer     bool
}

func defaultCjsonConfig() cjsonConfig {
	return cjsonConfig{sparseRatio: 2, sparseSafe: 10, encodeMaxDepth: 1000, decodeMaxDepth: 1000,
		precision: 14, decodeInvalid: true, keepBuffer: true}
}

func (vm *VM) cjsonFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"encode":                  vm.cjsonEncode,
		"decode":                  vm.cjsonDecode,
		"encode_sparse_array":     vm.cjsonSparse,
		"encode_max_depth":        vm.cjsonIntOpt(func(c *cjsonConfig) *int { return &c.encodeMaxDepth }, 1, math.MaxInt32, "expected integer between 1 and 2147483647"),
		"decode_max_depth":        vm.cjsonIntOpt(func(c *cjsonConfig) *int { return &c.decodeMaxDepth }, 1, math.MaxInt32, "expected integer between 1 and 2147483647"),
		"encode_number_precision": vm.cjsonIntOpt(func(c *cjsonConfig) *int { return &c.precision }, 1, 14, "expected integer between 1 and 14"),
		"encode_keep_buffer": func(L *lua.LState) int {
			cjsonArgCount(L, 1)
			if L.GetTop() > 0 {
				vm.cjson.keepBuffer = L.CheckBool(1)
			}
			L.Push(lua.LBool(vm.cjson.keepBuffer))
			return 1
		},
		"encode_invalid_numbers": func(L *lua.LState) int {
			cjsonArgCount(L, 1)
			if L.GetTop() > 0 {
				switch v := L.Get(1).(type) {
				case lua.LBool:
					vm.cjson.encodeInvalid = int(boolInt(bool(v)))
				default:
					if checkString(L, 1, "encode_invalid_numbers") == "null" {
						vm.cjson.encodeInvalid = 2
					} else {
						argError(L, 1, "encode_invalid_numbers", "invalid option '"+checkString(L, 1, "encode_invalid_numbers")+"'")
					}
				}
			}
			switch vm.cjson.encodeInvalid {
			case 0:
				L.Push(lua.LFalse)
			case 1:
				L.Push(lua.LTrue)
			default:
				L.Push(lua.LString("null"))
			}
			return 1
		},
		"new": func(L *lua.LState) int {
			t := L.NewTable()
			fns := vm.cjsonFuncs()
			for _, k := range sortedKeys(fns) {
				if k != "new" {
					t.RawSetString(k, L.NewFunction(fns[k]))
				}
			}
			t.RawSetString("null", vm.cjsonNull)
			L.Push(t)
			return 1
		},
		"decode_invalid_numbers": func(L *lua.LState) int {
			cjsonArgCount(L, 1)
			if L.GetTop() > 0 {
				vm.cjson.decodeInvalid = L.CheckBool(1)
			}
			L.Push(lua.LBool(vm.cjson.decodeInvalid))
			return 1
		},
	}
}

func cjsonArgCount(L *lua.LState, n int) {
	if L.GetTop() > n {
		argError(L, n+1, "?", "found too many arguments")
	}
}

func (vm *VM) cjsonIntOpt(field func(*cjsonConfig) *int, lo, hi int, msg string) lua.LGFunction {
	return func(L *lua.LState) int {
		cjsonArgCount(L, 1)
		if L.GetTop() > 0 {
			v := int(toCInt(checkNumber(L, 1, "?")))
			if v < lo || v > hi {
				argError(L, 1, "?", msg)
			}
			*field(&vm.cjson) = v
		}
		L.Push(lua.LNumber(*field(&vm.cjson)))
		return 1
	}
}

func (vm *VM) cjsonSparse(L *lua.LState) int {
	cjsonArgCount(L, 3)
	c := &vm.cjson
	switch L.GetTop() {
	case 3:
		c.sparseSafe = int(toCInt(checkNumber(L, 3, "encode_sparse_array")))
		fallthrough
	case 2:
		c.sparseRatio = int(toCInt(checkNumber(L, 2, "encode_sparse_array")))
		fallthrough
	case 1:
		c.sparseConvert = L.CheckBool(1)
	}
	L.Push(lua.LBool(c.sparseConvert))
	L.Push(lua.LNumber(c.sparseRatio))
	L.Push(lua.LNumber(c.sparseSafe))
	return 3
}

type jsonEncoder struct {
	vm    *VM
	L     *lua.LState
	b     strings.Builder
	depth int
}

func (vm *VM) cjsonEncode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "encode", "expected 1 argument")
	}
	e := &jsonEncoder{vm: vm, L: L}
	e.value(L.Get(1))
	L.Push(lua.LString(e.b.String()))
	return 1
}

func (e *jsonEncoder) fail(v lua.LValue, reason string) {
	e.L.RaiseError("Cannot serialise %s: %s", luaTypeName(v), reason)
}

// luaTypeName is lua_typename, with cjson.null a light userdata as in Redis.
func luaTypeName(v lua.LValue) string {
	if _, ok := v.(*lua.LUserData); ok {
		return "userdata"
	}
	return v.Type().String()
}

func (e *jsonEncoder) write(s string) {
	_ = e.vm.charge(e.L, int64(len(s)))
	e.b.WriteString(s)
}

func (e *jsonEncoder) value(v lua.LValue) {
	switch x := v.(type) {
	case lua.LString:
		e.str(string(x))
	case lua.LNumber:
		e.number(v, float64(x))
	case lua.LBool:
		if x {
			e.write("true")
		} else {
			e.write("false")
		}
	case *lua.LNilType:
		e.write("null")
	case *lua.LTable:
		if n := e.arrayLength(x); n > 0 {
			e.array(x, n)
		} else {
			e.object(x)
		}
	case *lua.LUserData:
		if x == e.vm.cjsonNull {
			e.write("null")
			return
		}
		e.fail(v, "type not supported")
	default:
		e.fail(v, "type not supported")
	}
}

func (e *jsonEncoder) number(v lua.LValue, f float64) {
	if math.IsInf(f, 0) || f != f {
		switch e.vm.cjson.encodeInvalid {
		case 0:
			e.fail(v, "must not be NaN or Inf")
		case 2:
			e.write("null")
			return
		}
		if f != f {
			e.write("nan")
			return
		}
	}
	e.write(strconv.FormatFloat(f, 'g', e.vm.cjson.precision, 64))
}

func (e *jsonEncoder) str(s string) {
	_ = e.vm.charge(e.L, int64(len(s))+2)
	e.b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			e.b.WriteString(`\"`)
		case c == '\\':
			e.b.WriteString(`\\`)
		case c == '/':
			e.b.WriteString(`\/`)
		case c == '\b':
			e.b.WriteString(`\b`)
		case c == '\t':
			e.b.WriteString(`\t`)
		case c == '\n':
			e.b.WriteString(`\n`)
		case c == '\f':
			e.b.WriteString(`\f`)
		case c == '\r':
			e.b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			e.b.WriteString(`\u00`)
			e.b.WriteByte("0123456789abcdef"[c>>4])
			e.b.WriteByte("0123456789abcdef"[c&15])
		default:
			e.b.WriteByte(c)
		}
	}
	e.b.WriteByte('"')
}

// arrayLength is lua_array_length: the largest key when every key is a
// positive integer (-1 otherwise, or for an excessively sparse array).
func (e *jsonEncoder) arrayLength(t *lua.LTable) int {
	maxKey, items := 0, 0
	array := true
	t.ForEach(func(k, _ lua.LValue) {
		n, ok := k.(lua.LNumber)
		if !array || !ok || n < 1 || math.Floor(float64(n)) != float64(n) {
			array = false
			return
		}
		if int(n) > maxKey {
			maxKey = int(n)
		}
		items++
	})
	if !array {
		return -1
	}
	c := e.vm.cjson
	if c.sparseRatio > 0 && maxKey > items*c.sparseRatio && maxKey > c.sparseSafe {
		if !c.sparseConvert {
			e.fail(t, "excessively sparse array")
		}
		return -1
	}
	return maxKey
}

func (e *jsonEncoder) descend() {
	e.depth++
	if e.depth > e.vm.cjson.encodeMaxDepth {
		e.L.RaiseError("Cannot serialise, excessive nesting (%d)", e.depth)
	}
}

func (e *jsonEncoder) array(t *lua.LTable, n int) {
	e.descend()
	e.write("[")
	for i := 1; i <= n; i++ {
		if i > 1 {
			e.write(",")
		}
		e.value(t.RawGetInt(i))
	}
	e.write("]")
	e.depth--
}

func (e *jsonEncoder) object(t *lua.LTable) {
	e.descend()
	e.write("{")
	first := true
	t.ForEach(func(k, v lua.LValue) {
		if !first {
			e.write(",")
		}
		first = false
		switch kk := k.(type) {
		case lua.LNumber:
			e.write(`"`)
			e.number(k, float64(kk))
			e.write(`":`)
		case lua.LString:
			e.str(string(kk))
			e.write(":")
		default:
			e.fail(k, "table key must be a number or string")
		}
		e.value(v)
	})
	e.write("}")
	e.depth--
}
