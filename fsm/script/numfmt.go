package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// formatNumber is Lua 5.1's lua_number2str: C's "%.14g". gopher-lua would
// print full precision ("0.3333333333333333") where Redis prints
// "0.33333333333333", and scripts store such strings in keys.
func formatNumber(f float64) string {
	if s, ok := nonFinite(f); ok {
		return s
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// nonFinite spells infinities and NaNs as glibc's printf does (x86-64 makes
// 0/0 a NaN with the sign bit set, which glibc prints "-nan").
func nonFinite(f float64) (string, bool) {
	switch {
	case math.IsInf(f, 1):
		return "inf", true
	case math.IsInf(f, -1):
		return "-inf", true
	case f != f:
		if math.Signbit(f) {
			return "-nan", true
		}
		return "nan", true
	}
	return "", false
}

// parseLuaNumber is Lua 5.1's luaO_str2d: strtod, or a hexadecimal integer,
// with surrounding whitespace allowed.
func parseLuaNumber(s string) (float64, bool) {
	t := strings.Trim(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	body := strings.TrimLeft(t, "+-")
	if len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
		if len(t)-len(body) > 1 {
			return 0, false
		}
		u, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		if t[0] == '-' {
			return -float64(u), true
		}
		return float64(u), true
	}
	lower := strings.ToLower(body)
	if strings.HasPrefix(lower, "inf") || strings.HasPrefix(lower, "nan") {
		f, err := strconv.ParseFloat(t, 64)
		return f, err == nil
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// luaTostring is tostring() without metamethods, made deterministic: tables,
// functions and threads get a per-run sequence number instead of their
// address, which would differ from node to node.
func (vm *VM) luaTostring(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return formatNumber(float64(x))
	case *lua.LNilType:
		return "nil"
	case lua.LBool:
		if x {
			return "true"
		}
		return "false"
	case *lua.LUserData:
		if x == vm.cjsonNull {
			return "userdata: (nil)"
		}
	}
	id, ok := vm.ids[v]
	if !ok {
		vm.nextID++
		id = vm.nextID
		vm.ids[v] = id
	}
	return fmt.Sprintf("%s: 0x%08x", v.Type().String(), id)
}

// strFormat is Lua 5.1's string.format with C printf semantics (gopher-lua
// hands the format to Go's fmt, whose %g, %x and width rules differ).
func (vm *VM) strFormat(L *lua.LState) int {
	f := checkString(L, 1, "format")
	var b strings.Builder
	arg := 1
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		start := i
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		if i-start >= 6 {
			L.RaiseError("invalid format (repeated flags)")
		}
		digits := func() {
			n := 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
				n++
			}
			if n > 2 {
				L.RaiseError("invalid format (width or precision too long)")
			}
		}
		digits()
		if i < len(f) && f[i] == '.' {
			i++
			digits()
		}
		if i >= len(f) {
			L.RaiseError("invalid option '%%' to 'format'")
		}
		spec := f[start:i]
		conv := f[i]
		arg++
		switch conv {
		case 'c':
			b.WriteString(padC(spec, string([]byte{byte(toCInt(checkNumber(L, arg, "format")))})))
		case 'd', 'i':
			b.WriteString(fmt.Sprintf("%"+spec+"d", toCInt(checkNumber(L, arg, "format"))))
		case 'o', 'u', 'x', 'X':
			verb := conv
			if verb == 'u' {
				verb = 'd'
			}
			b.WriteString(fmt.Sprintf("%"+spec+string(verb), uint64(toCInt(checkNumber(L, arg, "format")))))
		case 'e', 'E', 'f', 'g', 'G':
			x := checkNumber(L, arg, "format")
			if s, ok := nonFinite(x); ok {
				if conv == 'E' || conv == 'G' {
					s = strings.ToUpper(s)
				}
				b.WriteString(padC(strings.ReplaceAll(spec, "0", ""), s))
				break
			}
			if !strings.Contains(spec, ".") {
				spec += ".6"
			}
			b.WriteString(fmt.Sprintf("%"+spec+string(conv), x))
		case 'q':
			quoteLua(&b, checkString(L, arg, "format"))
		case 's':
			s := checkString(L, arg, "format")
			if !strings.Contains(spec, ".") && len(s) >= 100 {
				b.WriteString(s)
			} else {
				b.WriteString(padC(spec, s))
			}
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
		if err := vm.charge(L, int64(b.Len())); err != nil {
			return 0
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// padC applies a printf %s spec (flags, width, .precision) counting bytes, as
// C does; Go's fmt counts runes.
func padC(spec, s string) string {
	left := strings.Contains(spec, "-")
	w := strings.TrimLeft(spec, "-+ #0")
	width, prec := w, ""
	if k := strings.IndexByte(w, '.'); k >= 0 {
		width, prec = w[:k], w[k+1:]
		p, _ := strconv.Atoi(prec)
		if p < len(s) {
			s = s[:p]
		}
	}
	n, _ := strconv.Atoi(width)
	if pad := n - len(s); pad > 0 {
		if left {
			return s + strings.Repeat(" ", pad)
		}
		return strings.Repeat(" ", pad) + s
	}
	return s
}

// quoteLua is Lua 5.1's addquoted (%q).
func quoteLua(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\000`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
