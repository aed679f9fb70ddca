package script

import (
	"strconv"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"
)

// matchBytes is what one pattern match costs in gopher-lua's pm package.
const matchBytes = 64

// strGsub is Lua 5.1's string.gsub. gopher-lua's copies the whole subject
// once per match (quadratic, and uncharged); this one appends each piece
// once, charging it first, and treats "%x" in a replacement string as Lua
// 5.1 does (the character x).
func (vm *VM) strGsub(L *lua.LState) int {
	src := checkString(L, 1, "gsub")
	pat := checkString(L, 2, "gsub")
	repl := L.Get(3)
	switch repl.(type) {
	case lua.LString, lua.LNumber, *lua.LTable, *lua.LFunction:
	default:
		argError(L, 3, "gsub", "string/function/table expected")
	}
	limit := -1
	if L.Get(4) != lua.LNil {
		limit = int(toCInt(checkNumber(L, 4, "gsub")))
	}
	// Each match costs pm a MatchData: cap the search at what the memory
	// budget can still pay for, then charge it.
	if most := (vm.run.memory-vm.run.charged)/matchBytes + 1; limit < 0 || int64(limit) > most {
		limit = int(most)
	}
	matches, err := pm.Find(pat, []byte(src), 0, limit)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	if vm.charge(L, int64(len(matches))*matchBytes) != nil {
		return 0
	}
	out := make([]byte, 0, len(src))
	last := 0
	for _, m := range matches {
		start, end := m.Capture(0), m.Capture(1)
		rep, keep := vm.gsubReplacement(L, src, m, repl)
		if keep {
			rep = src[start:end]
		}
		if vm.charge(L, int64(start-last+len(rep))) != nil {
			return 0
		}
		out = append(out, src[last:start]...)
		out = append(out, rep...)
		last = end
	}
	if vm.charge(L, int64(len(src)-last)) != nil {
		return 0
	}
	out = append(out, src[last:]...)
	L.Push(lua.LString(out))
	L.Push(lua.LNumber(len(matches)))
	return 2
}

// gsubReplacement returns the text replacing match m, or keep=true when the
// replacement value is false or nil (the match stays as it was).
func (vm *VM) gsubReplacement(L *lua.LState, src string, m *pm.MatchData, repl lua.LValue) (string, bool) {
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		var s string
		if n, ok := r.(lua.LNumber); ok {
			s = formatNumber(float64(n))
		} else {
			s = string(r.(lua.LString))
		}
		var b []byte
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c != '%' || i+1 == len(s) {
				b = append(b, c)
				continue
			}
			i++
			if d := s[i]; d >= '0' && d <= '9' {
				b = append(b, capture(L, src, m, int(d-'0'))...)
			} else {
				b = append(b, d)
			}
		}
		return string(b), false
	case *lua.LTable:
		var v lua.LValue
		if first := firstCapture(m); m.IsPosCapture(first) {
			v = L.GetTable(r, lua.LNumber(m.Capture(first)))
		} else {
			v = L.GetField(r, src[m.Capture(first):m.Capture(first+1)])
		}
		return vm.gsubValue(L, v)
	case *lua.LFunction:
		L.Push(r)
		n := 0
		if m.CaptureLength() > 2 {
			for i := 1; 2*i < m.CaptureLength(); i++ {
				L.Push(captureValue(L, src, m, i))
				n++
			}
		} else {
			L.Push(lua.LString(src[m.Capture(0):m.Capture(1)]))
			n = 1
		}
		L.Call(n, 1)
		v := L.Get(-1)
		L.Pop(1)
		return vm.gsubValue(L, v)
	}
	return "", true
}

func (vm *VM) gsubValue(L *lua.LState, v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case *lua.LNilType:
		return "", true
	case lua.LBool:
		if !x {
			return "", true
		}
	case lua.LString:
		return string(x), false
	case lua.LNumber:
		return formatNumber(float64(x)), false
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return "", true
}

func firstCapture(m *pm.MatchData) int {
	if m.CaptureLength() > 2 {
		return 2
	}
	return 0
}

// capture is capture n of match m as text: %0 is the whole match, and %1 is
// too when the pattern has no captures.
func capture(L *lua.LState, src string, m *pm.MatchData, n int) string {
	v := captureValue(L, src, m, n)
	if num, ok := v.(lua.LNumber); ok {
		return strconv.Itoa(int(num))
	}
	return string(v.(lua.LString))
}

func captureValue(L *lua.LState, src string, m *pm.MatchData, n int) lua.LValue {
	idx := 2 * n
	if n == 0 || (n == 1 && m.CaptureLength() <= 2) {
		idx = 0
	} else if idx >= m.CaptureLength() {
		L.RaiseError("invalid capture index")
	}
	if m.IsPosCapture(idx) {
		return lua.LNumber(m.Capture(idx))
	}
	return lua.LString(src[m.Capture(idx):m.Capture(idx+1)])
}

// strGmatch is Lua 5.1's string.gmatch; gopher-lua's keeps its iterator
// in an upvalue that a wrapper would lose, and charges nothing for the
// matches it collects up front.
func (vm *VM) strGmatch(L *lua.LState) int {
	src := checkString(L, 1, "gmatch")
	pat := checkString(L, 2, "gmatch")
	matches, err := pm.Find(pat, []byte(src), 0, int((vm.run.memory-vm.run.charged)/matchBytes+1))
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	if vm.charge(L, int64(len(matches))*matchBytes) != nil {
		return 0
	}
	next := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if next >= len(matches) {
			return 0
		}
		m := matches[next]
		next++
		if m.CaptureLength() <= 2 {
			L.Push(lua.LString(src[m.Capture(0):m.Capture(1)]))
			return 1
		}
		for i := 1; 2*i < m.CaptureLength(); i++ {
			L.Push(captureValue(L, src, m, i))
		}
		return m.CaptureLength()/2 - 1
	}))
	return 1
}
