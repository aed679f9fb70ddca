package script

import (
	"runtime"
	"strings"
	"testing"
)

// replyHost answers every call with a fixed reply.
type replyHost struct{ r Reply }

func (h replyHost) Call([][]byte) Reply { return h.r }
func (replyHost) Log(int, string)       {}

func bulk(s string) Reply { return Reply{Kind: KindBulk, Str: []byte(s)} }

// Typed replies from the host reach Lua as Redis converts them for the
// script's protocol: flattened in RESP2, tagged tables in RESP3.
func TestTypedRepliesToLua(t *testing.T) {
	e := mustEngine(t)
	pairs := Reply{Kind: KindPairs, Arr: []Reply{bulk("a"), {Kind: KindDouble, Str: []byte("1.5")}, bulk("b"), {Kind: KindDouble, Str: []byte("2")}}}
	cases := []struct {
		r          Reply
		body, want string
	}{
		{pairs, "return redis.call('x')", `["a" "1.5" "b" "2"]`},
		{pairs, "redis.setresp(3) local r = redis.call('x') return {#r, r[1][1], tostring(r[1][2].double), r[2][1]}", `[:2 "a" "1.5" "b"]`},
		{Reply{Kind: KindBool, Int: 1}, "return redis.call('x')", `:1`},
		{Reply{Kind: KindBool, Int: 0}, "redis.setresp(3) return {tostring(redis.call('x'))}", `["false"]`},
		{Reply{Kind: KindBigNumber, Str: []byte("1234567890123456789012")}, "return redis.call('x')", `"1234567890123456789012"`},
		{Reply{Kind: KindBigNumber, Str: []byte("12")}, "redis.setresp(3) return redis.call('x').big_number", `"12"`},
		{Reply{Kind: KindVerbatim, Str: []byte("hello")}, "return redis.call('x')", `"hello"`},
		{Reply{Kind: KindVerbatim, Str: []byte("hello")}, "redis.setresp(3) local v = redis.call('x').verbatim_string return {v.format, v.string}", `["txt" "hello"]`},
		{Reply{Kind: KindNullArray}, "return {redis.call('x') == false}", `[:1]`},
		{Reply{Kind: KindNullArray}, "redis.setresp(3) return {redis.call('x') == nil}", `[#1]`},
		{Reply{Kind: KindArray, Arr: []Reply{bulk("a"), {Kind: KindNull}, bulk("c")}}, "redis.setresp(3) local r = redis.call('x') return {r[1], r[3]}", `["a" "c"]`},
		{Reply{Kind: KindMap, Arr: []Reply{bulk("k"), {Kind: KindInt, Int: 7}}}, "redis.setresp(3) return redis.call('x')", `%{"k" :7]`},
	}
	for _, c := range cases {
		got := e.Eval(mustCompile(t, c.body), nil, nil, RunOptions{Host: replyHost{c.r}})
		if got.String() != c.want {
			t.Errorf("%s with %s: got %s, want %s", c.body, c.r, got, c.want)
		}
	}
}

// Lua values become the reply kinds the RESP layer writes, including the
// RESP3 ones fsm does not have yet (Bool, BigNumber).
func TestLuaToReplyKinds(t *testing.T) {
	e := mustEngine(t)
	for body, want := range map[string]Reply{
		"redis.setresp(3) return true":                        {Kind: KindBool, Int: 1},
		"redis.setresp(3) return false":                       {Kind: KindBool, Int: 0},
		"return false":                                        {Kind: KindNull},
		"return {big_number='123'}":                           {Kind: KindBigNumber, Str: []byte("123")},
		"return {double=1/0}":                                 {Kind: KindDouble, Str: []byte("inf")},
		"return {double=0.1}":                                 {Kind: KindDouble, Str: []byte("0.10000000000000001")},
		"return 1e300":                                        {Kind: KindInt, Int: -9223372036854775808},
		"return {verbatim_string={format='mkd', string='x'}}": {Kind: KindVerbatim, Str: []byte("x")},
	} {
		got := e.Eval(mustCompile(t, body), nil, nil, RunOptions{})
		if got.String() != want.String() || got.Kind != want.Kind {
			t.Errorf("%s: got %s (kind %d), want %s (kind %d)", body, got, got.Kind, want, want.Kind)
		}
	}
}

// A script whose error is a table without a string err field (which crashes
// redis-server 7.0.15) gets a plain error.
func TestErrorTableWithoutMessage(t *testing.T) {
	e := mustEngine(t)
	got := e.Eval(mustCompile(t, "error({x = 1})"), nil, nil, RunOptions{})
	if !strings.HasPrefix(string(got.Str), "ERR unknown error script: ") {
		t.Fatalf("got %s", got)
	}
}

func TestFunctionsRegistry(t *testing.T) {
	e := mustEngine(t)
	f := NewFunctions()
	lim := Limits{Instructions: 1_000_000}
	lib1 := "#!lua name=lib1\nredis.register_function('a', function() return 1 end)\nredis.register_function{function_name='b', callback=function() return 2 end, flags={'no-writes'}, description='the b'}"
	if name, err := f.Load(e, []byte(lib1), false, RunOptions{Limits: lim}); err != nil || name != "lib1" {
		t.Fatalf("load: %q %v", name, err)
	}
	b, ok := f.Function("b")
	if !ok || b.Flags != FlagNoWrites || b.Description != "the b" || !b.HasDesc || b.Library.Name != "lib1" {
		t.Fatalf("function b: %+v", b)
	}
	if got := strings.Join(b.Flags.Names(), ","); got != "no-writes" {
		t.Fatalf("flags %q", got)
	}
	// REPLACE may keep the library's own function names and drop others.
	lib1v2 := "#!lua name=lib1\nredis.register_function('a', function() return 10 end)"
	if _, err := f.Load(e, []byte(lib1v2), false, RunOptions{Limits: lim}); err == nil || err.Error() != "ERR Library 'lib1' already exists" {
		t.Fatalf("load without replace: %v", err)
	}
	if _, err := f.Load(e, []byte(lib1v2), true, RunOptions{Limits: lim}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Function("b"); ok {
		t.Fatal("b survived the replace")
	}
	a, _ := f.Function("a")
	if r := e.FCall(a, nil, nil, RunOptions{Limits: lim}); r.Int != 10 {
		t.Fatalf("a after replace: %s", r)
	}
	// Another library may not take a's name.
	if _, err := f.Load(e, []byte("#!lua name=lib2\nredis.register_function('a', function() end)"), false, RunOptions{Limits: lim}); err == nil || err.Error() != "ERR Function a already exists" {
		t.Fatalf("conflict: %v", err)
	}
	snap := f.Clone()
	if !f.Delete("lib1") || f.Delete("lib1") {
		t.Fatal("delete")
	}
	if n, m := snap.Len(); n != 1 || m != 1 {
		t.Fatalf("clone changed with the original: %d libraries, %d functions", n, m)
	}
	// A library's load is bounded by its instruction budget.
	if _, err := f.Load(e, []byte("#!lua name=slow\nwhile true do end"), false, RunOptions{Limits: lim}); err == nil || err.Error() != "ERR Error registering functions: ERR FUNCTION LOAD timeout" {
		t.Fatalf("slow load: %v", err)
	}
}

// Each FCALL sees its library as just loaded: state kept in upvalues does
// not carry from one call to the next (it would differ between nodes).
func TestFCallStartsFresh(t *testing.T) {
	e := mustEngine(t)
	f := NewFunctions()
	if _, err := f.Load(e, []byte("#!lua name=c\nlocal n = 0\nredis.register_function('cnt', function() n = n + 1 return n end)"), false, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	fn, _ := f.Function("cnt")
	for range 3 {
		if r := e.FCall(fn, nil, nil, RunOptions{}); r.Int != 1 {
			t.Fatalf("got %s", r)
		}
	}
}

// A run starts no goroutine: the budget's context lets coroutines derive
// from it without context.WithCancel's watcher.
func TestNoGoroutines(t *testing.T) {
	e := mustEngine(t)
	s := mustCompile(t, "local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) local n = 0 for i = 1, 3 do n = n + co() end return n")
	e.Eval(s, nil, nil, RunOptions{Limits: Limits{Instructions: 1_000_000}}) // warm the pool
	before := runtime.NumGoroutine()
	for range 20 {
		if r := e.Eval(s, nil, nil, RunOptions{Limits: Limits{Instructions: 1_000_000}}); r.Int != 6 {
			t.Fatalf("got %s", r)
		}
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after", before, after)
	}
}

// pairs() over the library tables lists names in the same order in every
// Lua state, not in Go's random map order.
func TestLibraryOrderIsStable(t *testing.T) {
	body := "local t = {} for k in pairs(_G) do t[#t+1] = k end for k in pairs(string) do t[#t+1] = k end for k in pairs(redis) do t[#t+1] = k end for k in pairs(cjson) do t[#t+1] = k end return table.concat(t, ' ')"
	var first string
	for i := range 5 {
		got := mustEngine(t).Eval(mustCompile(t, body), nil, nil, RunOptions{})
		if i == 0 {
			first = string(got.Str)
		} else if string(got.Str) != first {
			t.Fatalf("order differs:\n%s\n%s", got.Str, first)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for body, want := range map[string]string{
		"return 1 +":        "ERR Error compiling script (new function): user_script:",
		"#!lua":             "ERR Invalid script shebang",
		"#!lua x=y\nret":    "ERR Unknown lua shebang option: x=y",
		"#!lua flags=bad\n": "ERR Unexpected flag in script shebang: bad",
	} {
		if _, err := Compile([]byte(body)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q...", body, err, want)
		}
	}
	s, err := Compile([]byte("#!lua flags=no-writes,allow-oom\nreturn 1"))
	if err != nil || !s.Shebang || s.Flags != FlagNoWrites|FlagAllowOOM || s.SHA != SHA1Hex(s.Body) {
		t.Fatalf("%+v %v", s, err)
	}
}

type logHost struct {
	mapHost
	lines []string
}

func (h *logHost) Log(level int, msg string) { h.lines = append(h.lines, msg) }

// A library's load-time redis.log reaches the host once, at FUNCTION LOAD,
// not again when FCALL re-runs the library's code.
func TestLibraryLogOnce(t *testing.T) {
	e := mustEngine(t)
	f := NewFunctions()
	h := &logHost{mapHost: *newMapHost()}
	code := "#!lua name=l\nredis.log(redis.LOG_WARNING, 'loading', 1)\nredis.register_function('g', function() redis.log(redis.LOG_NOTICE, 'called') return 1 end)"
	if _, err := f.Load(e, []byte(code), false, RunOptions{Host: h}); err != nil {
		t.Fatal(err)
	}
	g, _ := f.Function("g")
	e.FCall(g, nil, nil, RunOptions{Host: h})
	e.FCall(g, nil, nil, RunOptions{Host: h})
	if got := strings.Join(h.lines, "|"); got != "loading 1|called|called" {
		t.Fatalf("log lines %q", got)
	}
}

// Runs on several goroutines at once use different Lua states and agree.
func TestConcurrentRuns(t *testing.T) {
	e := mustEngine(t)
	s := mustCompile(t, "local t = {} for i = 1, 200 do t[i] = tostring(i) end return {table.concat(t, ','), math.random(1000), cjson.encode({KEYS[1]})}")
	want := e.Eval(s, [][]byte{[]byte("k")}, nil, RunOptions{Seed: 3}).String()
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			for range 50 {
				if got := e.Eval(s, [][]byte{[]byte("k")}, nil, RunOptions{Seed: 3}).String(); got != want {
					errs <- got
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if got := <-errs; got != "" {
			t.Fatalf("got %.200s, want %.200s", got, want)
		}
	}
}
