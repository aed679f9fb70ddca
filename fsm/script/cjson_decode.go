package script

import (
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// The decoding half of cjson: a hand-written tokenizer with lua-cjson's
// token names and error texts ("Expected value but found T_END at
// character 1").

type jsonToken int

const (
	tObjBegin jsonToken = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tError
)

var jsonTokenNames = []string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_ERROR"}

type jsonDecoder struct {
	vm    *VM
	L     *lua.LState
	data  string
	i     int
	depth int

	// The current token.
	tok   jsonToken
	at    int
	str   string
	num   float64
	boolv bool
	err   string
}

func (vm *VM) cjsonDecode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "decode", "expected 1 argument") // lua_cjson's json_decode, for none or several
	}
	s := checkString(L, 1, "decode")
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		L.RaiseError("JSON parser does not support UTF-16 or UTF-32")
	}
	d := &jsonDecoder{vm: vm, L: L, data: s}
	d.next()
	v := d.value()
	d.next()
	if d.tok != tEnd {
		d.fail("the end")
	}
	L.Push(v)
	return 1
}

func (d *jsonDecoder) fail(expected string) {
	found := jsonTokenNames[d.tok]
	if d.tok == tError {
		found = d.err
	}
	d.L.RaiseError("Expected %s but found %s at character %d", expected, found, d.at+1)
}

func (d *jsonDecoder) byteAt(i int) byte {
	if i < len(d.data) {
		return d.data[i]
	}
	return 0
}

func (d *jsonDecoder) setError(msg string) {
	d.tok, d.at, d.err = tError, d.i, msg
}

func (d *jsonDecoder) next() {
	for {
		c := d.byteAt(d.i)
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		d.i++
	}
	d.at = d.i
	c := d.byteAt(d.i)
	single := map[byte]jsonToken{'{': tObjBegin, '}': tObjEnd, '[': tArrBegin, ']': tArrEnd, ',': tComma, ':': tColon}
	if t, ok := single[c]; ok {
		d.tok = t
		d.i++
		return
	}
	rest := d.data[min(d.i, len(d.data)):]
	switch {
	case d.i >= len(d.data) || c == 0:
		d.tok = tEnd
	case c == '"':
		d.stringToken()
	case c == '-' || c >= '0' && c <= '9':
		if !d.vm.cjson.decodeInvalid && d.invalidNumber() {
			d.setError("invalid number")
			return
		}
		d.numberToken()
	case strings.HasPrefix(rest, "true"):
		d.tok, d.boolv = tBoolean, true
		d.i += 4
	case strings.HasPrefix(rest, "false"):
		d.tok, d.boolv = tBoolean, false
		d.i += 5
	case strings.HasPrefix(rest, "null"):
		d.tok = tNull
		d.i += 4
	case strings.IndexByte("fiInNt+", c) >= 0 && d.vm.cjson.decodeInvalid && d.invalidNumber():
		d.numberToken()
	default:
		d.setError("invalid token")
	}
}

// invalidNumber is json_is_invalid_number: what strtod accepts but JSON
// does not (a leading +, hex, leading zeros, inf, nan).
func (d *jsonDecoder) invalidNumber() bool {
	i := d.i
	if d.byteAt(i) == '+' {
		return true
	}
	if d.byteAt(i) == '-' {
		i++
	}
	if d.byteAt(i) == '0' {
		c2 := d.byteAt(i + 1)
		return c2|0x20 == 'x' || c2 >= '0' && c2 <= '9'
	} else if d.byteAt(i) <= '9' {
		return false
	}
	rest := strings.ToLower(d.data[min(i, len(d.data)):])
	return strings.HasPrefix(rest, "inf") || strings.HasPrefix(rest, "nan")
}

// numberToken is strtod at the cursor.
func (d *jsonDecoder) numberToken() {
	n, f := strtod(d.data[d.i:])
	if n == 0 {
		d.setError("invalid number")
		return
	}
	d.tok, d.num = tNumber, f
	d.i += n
}

// strtod parses the longest prefix of s that C's strtod accepts and returns
// its length (0 if none) and value.
func strtod(s string) (int, float64) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	lower := strings.ToLower(s[i:])
	for _, w := range []string{"infinity", "inf", "nan"} {
		if strings.HasPrefix(lower, w) {
			f, _ := strconv.ParseFloat(s[:i+len(w)], 64)
			return i + len(w), f
		}
	}
	if strings.HasPrefix(lower, "0x") {
		j := i + 2
		for j < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
			j++
		}
		if j == i+2 {
			return i + 1, 0 // just the "0"
		}
		u, _ := strconv.ParseUint(s[i+2:j], 16, 64)
		f := float64(u)
		if s[0] == '-' {
			f = -f
		}
		return j, f
	}
	j, digits := i, 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			j = k
		}
	}
	f, _ := strconv.ParseFloat(s[:j], 64)
	return j, f
}

func (d *jsonDecoder) stringToken() {
	d.i++ // the opening quote
	var b strings.Builder
	for {
		c := d.byteAt(d.i)
		if d.i >= len(d.data) || c == 0 {
			d.setError("unexpected end of string")
			return
		}
		if c == '"' {
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			d.i++
			continue
		}
		esc := d.byteAt(d.i + 1)
		switch esc {
		case '"', '\\', '/':
			b.WriteByte(esc)
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'u':
			if !d.unicodeEscape(&b) {
				d.setError("invalid unicode escape code")
				return
			}
			continue
		default:
			d.setError("invalid escape code")
			return
		}
		d.i += 2
	}
	d.i++
	d.tok, d.str = tString, b.String()
}

func hex4(s string) int {
	if len(s) < 4 {
		return -1
	}
	v, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return -1
	}
	return int(v)
}

func (d *jsonDecoder) unicodeEscape(b *strings.Builder) bool {
	cp := hex4(d.data[min(d.i+2, len(d.data)):])
	if cp < 0 {
		return false
	}
	n := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 || d.byteAt(d.i+6) != '\\' || d.byteAt(d.i+7) != 'u' {
			return false
		}
		low := hex4(d.data[min(d.i+8, len(d.data)):])
		if low < 0 || low&0xFC00 != 0xDC00 {
			return false
		}
		cp = ((cp&0x3FF)<<10 | low&0x3FF) + 0x10000
		n = 12
	}
	var buf [4]byte
	b.Write(buf[:utf8.EncodeRune(buf[:], rune(cp))])
	d.i += n
	return true
}

func (d *jsonDecoder) descend() {
	d.depth++
	if d.depth > d.vm.cjson.decodeMaxDepth {
		d.L.RaiseError("Found too many nested data structures (%d) at character %d", d.depth, d.at+1)
	}
}

func (d *jsonDecoder) value() lua.LValue {
	_ = d.vm.charge(d.L, slotBytes)
	switch d.tok {
	case tString:
		_ = d.vm.charge(d.L, int64(len(d.str)))
		return lua.LString(d.str)
	case tNumber:
		return lua.LNumber(d.num)
	case tBoolean:
		return lua.LBool(d.boolv)
	case tNull:
		return d.vm.cjsonNull
	case tObjBegin:
		d.descend()
		t := d.L.NewTable()
		_ = d.vm.charge(d.L, objectBytes)
		d.next()
		if d.tok == tObjEnd {
			d.depth--
			return t
		}
		for {
			if d.tok != tString {
				d.fail("object key string")
			}
			k := d.str
			d.next()
			if d.tok != tColon {
				d.fail("colon")
			}
			d.next()
			t.RawSetString(k, d.value())
			d.next()
			if d.tok == tObjEnd {
				d.depth--
				return t
			}
			if d.tok != tComma {
				d.fail("comma or object end")
			}
			d.next()
		}
	case tArrBegin:
		d.descend()
		t := d.L.NewTable()
		_ = d.vm.charge(d.L, objectBytes)
		d.next()
		if d.tok == tArrEnd {
			d.depth--
			return t
		}
		for i := 1; ; i++ {
			t.RawSetInt(i, d.value())
			d.next()
			if d.tok == tArrEnd {
				d.depth--
				return t
			}
			if d.tok != tComma {
				d.fail("comma or array end")
			}
			d.next()
		}
	}
	d.fail("value")
	return lua.LNil
}
