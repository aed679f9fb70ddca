package script

import (
	"fmt"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua words its runtime errors its own way ("attempt to index a
// non-table object(nil) with key 'x'"); Redis users see Lua 5.1's
// ("attempt to index local 't' (a nil value)"). luaMessage rewrites the
// common ones, naming the variable as Lua 5.1's getobjname does: from the
// failing instruction of the frame that raised the error, the function's
// local variable names, and the instruction that last loaded the register.

var (
	reIndex   = regexp.MustCompile(`^attempt to index a non-table object\((\w+)\) with key '.*'$`)
	reArith   = regexp.MustCompile(`^cannot perform (\w+) operation between (\w+) and (\w+)$`)
	reCompare = regexp.MustCompile(`^attempt to compare (\w+) with (\w+)$`)
)

// luaMessage returns msg (without its "chunk:line: " prefix) in Lua 5.1's
// words, or msg unchanged.
func luaMessage(L *lua.LState, dbg *lua.Debug, msg string) string {
	if m := reCompare.FindStringSubmatch(msg); m != nil {
		if m[1] == m[2] {
			return "attempt to compare two " + m[1] + " values"
		}
		return msg
	}
	fn, pc, base, ok := frameAt(dbg)
	if !ok {
		return msg
	}
	inst := fn.Proto.Code[pc]
	op := opcodeOf(inst)
	reg := func(r int) lua.LValue { return register(L, base+r) }
	rk := func(x int) (lua.LValue, int) {
		if x&256 != 0 {
			return fn.Proto.Constants[x&^256], -1
		}
		return reg(x), x
	}
	switch {
	case reIndex.MatchString(msg):
		r := argB(inst)
		switch op {
		case lua.OP_SETTABLE, lua.OP_SETTABLEKS:
			r = argA(inst)
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_SELF:
		default:
			return msg
		}
		return luaTypeError(fn.Proto, pc, r, reg(r), "index")
	case msg == "__unm undefined" && op == lua.OP_UNM:
		return luaTypeError(fn.Proto, pc, argB(inst), reg(argB(inst)), "perform arithmetic on")
	case msg == "__len undefined" && op == lua.OP_LEN:
		return luaTypeError(fn.Proto, pc, argB(inst), reg(argB(inst)), "get length of")
	case msg == "attempt to call a non-function object":
		if op != lua.OP_CALL && op != lua.OP_TAILCALL {
			return msg
		}
		return luaTypeError(fn.Proto, pc, argA(inst), reg(argA(inst)), "call")
	case reArith.MatchString(msg):
		m := reArith.FindStringSubmatch(msg)
		if m[1] == "concat" {
			if op != lua.OP_CONCAT {
				return msg
			}
			for r := argC(inst); r >= argB(inst); r-- {
				switch reg(r).(type) {
				case lua.LString, lua.LNumber:
					continue
				}
				return luaTypeError(fn.Proto, pc, r, reg(r), "concatenate")
			}
			return msg
		}
		switch op {
		case lua.OP_ADD, lua.OP_SUB, lua.OP_MUL, lua.OP_DIV, lua.OP_MOD, lua.OP_POW:
		default:
			return msg
		}
		v, r := rk(argB(inst))
		if _, num := luaToNumber(v); num {
			v, r = rk(argC(inst))
		}
		return luaTypeError(fn.Proto, pc, r, v, "perform arithmetic on")
	}
	return msg
}

// luaTypeError is luaG_typeerror: "attempt to <op> <kind> '<name>' (a <type>
// value)", or "attempt to <op> a <type> value" when the value has no name.
func luaTypeError(p *lua.FunctionProto, pc, r int, v lua.LValue, op string) string {
	t := v.Type().String()
	if _, ok := v.(*lua.LUserData); ok {
		t = "userdata"
	}
	if r >= 0 {
		if kind, name := objectName(p, pc, r, 0); kind != "" {
			return fmt.Sprintf("attempt to %s %s '%s' (a %s value)", op, kind, name, t)
		}
	}
	return fmt.Sprintf("attempt to %s a %s value", op, t)
}

// objectName is Lua 5.1's getobjname: a local variable active at pc, or
// what the last instruction before pc that wrote register r loaded.
func objectName(p *lua.FunctionProto, pc, r, depth int) (string, string) {
	if name := localName(p, r, pc); name != "" {
		return "local", name
	}
	if depth > 8 {
		return "", ""
	}
	for i := pc - 1; i >= 0; i-- {
		inst := p.Code[i]
		a := argA(inst)
		op := opcodeOf(inst)
		if op == lua.OP_JMP || op == lua.OP_FORLOOP || op == lua.OP_FORPREP || op == lua.OP_TFORLOOP {
			return "", "" // flow joins here: Lua's symbexec would not name it either
		}
		writes := a == r
		if op == lua.OP_LOADNIL {
			writes = r >= a && r <= argB(inst)
		}
		if op == lua.OP_SELF {
			writes = r == a || r == a+1
		}
		if !writes {
			continue
		}
		switch op {
		case lua.OP_GETGLOBAL:
			return "global", constString(p, int(inst&0x3ffff))
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
			if c := argC(inst); c&256 != 0 {
				if s := constString(p, c&^256); s != "" {
					return "field", s
				}
			}
		case lua.OP_GETUPVAL:
			if b := argB(inst); b < len(p.DbgUpvalues) {
				return "upvalue", p.DbgUpvalues[b]
			}
		case lua.OP_MOVE, lua.OP_MOVEN:
			if b := argB(inst); b < a {
				return objectName(p, pc, b, depth+1)
			}
		case lua.OP_SELF:
			if c := argC(inst); c&256 != 0 && r == a {
				if s := constString(p, c&^256); s != "" {
					return "method", s
				}
			}
		}
		return "", ""
	}
	return "", ""
}

func constString(p *lua.FunctionProto, k int) string {
	if k < len(p.Constants) {
		if s, ok := p.Constants[k].(lua.LString); ok {
			return string(s)
		}
	}
	return ""
}

// localName is luaF_getlocalname: the name of the n-th (0-based register)
// local variable active at pc.
func localName(p *lua.FunctionProto, r, pc int) string {
	n := r + 1
	for _, lv := range p.DbgLocals {
		if lv.StartPc > pc {
			break
		}
		if pc < lv.EndPc {
			n--
			if n == 0 {
				return lv.Name
			}
		}
	}
	return ""
}

// splitLocation splits "user_script:3: msg" into its prefix and message.
func splitLocation(s string) (string, string) {
	if i := strings.Index(s, ": "); i >= 0 && strings.Count(s[:i], ":") == 1 {
		return s[:i+2], s[i+2:]
	}
	return "", s
}
