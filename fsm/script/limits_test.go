package script

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mapHost is a tiny in-memory host: GET, SET, INCR and DEL over a map, with
// every call recorded.
type mapHost struct {
	data  map[string]string
	calls int
}

func newMapHost() *mapHost { return &mapHost{data: map[string]string{}} }

func (h *mapHost) Call(argv [][]byte) Reply {
	h.calls++
	switch strings.ToUpper(string(argv[0])) {
	case "GET":
		if v, ok := h.data[string(argv[1])]; ok {
			return Reply{Kind: KindBulk, Str: []byte(v)}
		}
		return Reply{Kind: KindNull}
	case "SET":
		h.data[string(argv[1])] = string(argv[2])
		return Reply{Kind: KindSimple, Str: []byte("OK")}
	case "INCR":
		n := len(h.data[string(argv[1])])
		h.data[string(argv[1])] += "x"
		return Reply{Kind: KindInt, Int: int64(n + 1)}
	}
	return ErrorReply(ErrUnknownCommand)
}

func (h *mapHost) Log(int, string) {}

func mustEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustCompile(t testing.TB, body string) *Script {
	t.Helper()
	s, err := Compile([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The instruction budget stops a script at the same instruction every time:
// the writes it made before are the same, and so is the error.
func TestInstructionLimitIsDeterministic(t *testing.T) {
	e := mustEngine(t)
	s := mustCompile(t, "local i = 0\nwhile true do\n  i = i + 1\n  redis.call('incr', 'n')\nend")
	var first string
	var firstN int
	for run := range 5 {
		h := newMapHost()
		r := e.Eval(s, nil, nil, RunOptions{Host: h, Limits: Limits{Instructions: 10_000}})
		if !r.IsError() || !strings.HasPrefix(string(r.Str), "ERR Script exceeded the instruction limit of 10000 (lua-instruction-limit) script: ") {
			t.Fatalf("run %d: %s", run, r)
		}
		if run == 0 {
			first, firstN = string(r.Str), len(h.data["n"])
			continue
		}
		if string(r.Str) != first || len(h.data["n"]) != firstN {
			t.Fatalf("run %d stopped elsewhere: %q after %d writes, first run %q after %d", run, r.Str, len(h.data["n"]), first, firstN)
		}
	}
	if firstN == 0 || firstN > 10_000/4 {
		t.Fatalf("%d writes before the stop", firstN)
	}
}

// pcall cannot swallow the stop: every instruction after it raises again.
func TestInstructionLimitSurvivesPcall(t *testing.T) {
	e := mustEngine(t)
	s := mustCompile(t, "for i = 1, 3 do pcall(function() while true do end end) end return 'escaped'")
	r := e.Eval(s, nil, nil, RunOptions{Host: newMapHost(), Limits: Limits{Instructions: 5_000}})
	if !strings.HasPrefix(string(r.Str), "ERR Script exceeded the instruction limit") {
		t.Fatalf("got %s", r)
	}
}

// A coroutine's instructions count against the same budget.
func TestInstructionLimitCoversCoroutines(t *testing.T) {
	e := mustEngine(t)
	for _, body := range []string{
		"local co = coroutine.create(function() while true do end end) return {coroutine.resume(co)}",
		"local f = coroutine.wrap(function() while true do end end) return f()",
	} {
		r := e.Eval(mustCompile(t, body), nil, nil, RunOptions{Host: newMapHost(), Limits: Limits{Instructions: 5_000}})
		if !r.IsError() && !strings.Contains(r.String(), "instruction limit") {
			t.Fatalf("%s: got %s", body, r)
		}
		if !strings.Contains(r.String(), "instruction limit") {
			t.Fatalf("%s: got %s", body, r)
		}
	}
}

// The VM is reusable after a stop: the next run starts with a fresh budget.
func TestVMReusedAfterStop(t *testing.T) {
	e := mustEngine(t)
	loop := mustCompile(t, "while true do end")
	ok := mustCompile(t, "return 42")
	for range 3 {
		if r := e.Eval(loop, nil, nil, RunOptions{Limits: Limits{Instructions: 1000}}); !r.IsError() {
			t.Fatalf("loop: %s", r)
		}
		if r := e.Eval(ok, nil, nil, RunOptions{Limits: Limits{Instructions: 1000}}); r.Kind != KindInt || r.Int != 42 {
			t.Fatalf("after a stop: %s", r)
		}
	}
}

// SCRIPT KILL: a read-only run without an instruction limit is stopped from
// another goroutine.
func TestInterrupt(t *testing.T) {
	e := mustEngine(t)
	var kill atomic.Bool
	done := make(chan Reply)
	go func() {
		done <- e.Eval(mustCompile(t, "local n = 0 while true do n = n + 1 end"), nil, nil, RunOptions{Interrupt: &kill})
	}()
	kill.Store(true)
	select {
	case r := <-done:
		if !strings.HasPrefix(string(r.Str), "ERR Script killed by user with SCRIPT KILL... script: ") {
			t.Fatalf("got %s", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop within 10s of the interrupt")
	}
}

// Hostile scripts hit the memory budget before they allocate much beyond it.
func TestMemoryLimit(t *testing.T) {
	e := mustEngine(t)
	for _, body := range []string{
		"local s = 'x' while true do s = s .. s end",
		"local s = string.rep('x', 1024) while true do s = s .. s .. s .. s .. s .. s .. s .. s end",
		"return string.rep('x', 2^40)",
		"return string.rep('abc', 1e12)",
		"local s = string.rep('x', 1e6) local t = {} for i = 1, 1e6 do t[i] = s .. i end",
		"local t = {} for i = 1, 2^30 do t[i] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10} end return #t",
		"local s = string.rep('x', 2^20) while true do s = table.concat({s, s, s, s}, s) end",
		"local s = string.rep('x', 2^20) while true do s = string.gsub(s, 'x', 'xx') end",
		"local s = string.rep('x', 2^20) while true do s = string.format('%s%s', s, s) end",
		"local s = string.rep('x', 2^20) local t = {} while true do t[#t+1] = s:upper() end",
		"local a = {} for i = 1, 1000 do a[i] = i end local b = {} for i = 1, 1000 do b[i] = a end local c = {} for i = 1, 1000 do c[i] = b end return c",
		"local s = string.rep('x', 2^20) local t = {} for i = 1, 100 do t[i] = s end return t",
	} {
		r := e.Eval(mustCompile(t, body), nil, nil, RunOptions{Limits: Limits{Instructions: 5_000_000, Memory: 16 << 20}})
		if !r.IsError() || !strings.Contains(string(r.Str), "ERR Script exceeded the memory limit of 16777216 bytes (lua-memory-limit)") {
			t.Fatalf("%s: got %.200s", body, r)
		}
	}
}

// Nothing a script does survives into the next run: globals and library
// tables are restored, and pairs() lists the same names in the same order.
func TestNoStateLeaksBetweenRuns(t *testing.T) {
	e := mustEngine(t)
	list := mustCompile(t, "local out = {} for k in pairs(_G) do out[#out+1] = k end for k in pairs(string) do out[#out+1] = k end return table.concat(out, ',')")
	before := e.Eval(list, nil, nil, RunOptions{})
	for _, body := range []string{
		"string.rep = nil",
		"redis.call = function() return 1 end",
		"_G.tostring = nil",
		"table.insert(string, 1)",
		"setfenv(0, {})",
		"math.randomseed(42)",
		"cjson = nil",
		"setmetatable({}, {__newindex = string}).rep = nil",
		"setmetatable({}, {__newindex = _G}).tostring = nil",
	} {
		e.Eval(mustCompile(t, body), nil, nil, RunOptions{})
		if after := e.Eval(list, nil, nil, RunOptions{}); after.String() != before.String() {
			t.Fatalf("after %q:\n %s\nbefore:\n %s", body, after, before)
		}
	}
	if r := e.Eval(mustCompile(t, "return {type(string.rep), type(redis.call), type(tostring)}"), nil, nil, RunOptions{}); r.String() != `["function" "function" "function"]` {
		t.Fatalf("library not restored: %s", r)
	}
}

// tostring of a table is a per-run counter, not an address.
func TestTostringIsDeterministic(t *testing.T) {
	e := mustEngine(t)
	s := mustCompile(t, "local a, b = {}, {} return {tostring(a), tostring(b), tostring(a), tostring(tostring)}")
	r := e.Eval(s, nil, nil, RunOptions{})
	want := `["table: 0x00000001" "table: 0x00000002" "table: 0x00000001" "function: 0x00000003"]`
	if r.String() != want {
		t.Fatalf("got %s, want %s", r, want)
	}
	if r2 := e.Eval(s, nil, nil, RunOptions{}); r2.String() != r.String() {
		t.Fatalf("second run %s", r2)
	}
}

// math.random follows the seed the caller passes.
func TestRandomSeed(t *testing.T) {
	e := mustEngine(t)
	s := mustCompile(t, "return {math.random(1000000), math.random(1000000)}")
	a := e.Eval(s, nil, nil, RunOptions{Seed: 1})
	b := e.Eval(s, nil, nil, RunOptions{Seed: 1})
	c := e.Eval(s, nil, nil, RunOptions{Seed: 2})
	if a.String() != b.String() || a.String() == c.String() {
		t.Fatalf("seed 1: %s and %s; seed 2: %s", a, b, c)
	}
}
