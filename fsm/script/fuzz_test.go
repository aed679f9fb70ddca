package script

import "testing"

// FuzzEval: any script body either fails to compile with a CompileError or
// runs to a reply without panicking, gives the same reply and the same
// writes when run again (determinism), and leaves nothing behind for the
// next run.
func FuzzEval(f *testing.F) {
	for _, s := range []string{
		"return 1", "return {1, 'a', {ok='x'}, {err='E y'}}", "x = 1", "return redis.call('incr', 'n')",
		"local t = {} for i = 1, 100 do t[i] = tostring(i) .. 'x' end return table.concat(t)",
		"string.rep = nil return 1", "return cjson.encode({1, {a = 2}})", "return cmsgpack.pack({1, 2})",
		"return struct.pack('>i', 7)", "return bit.band(0xff, 0x0f)", "return string.format('%5.2f', 1/3)",
		"while true do end", "local s = 'x' while true do s = s .. s end", "error({err = 'E'})",
		"return {pcall(error, 'x')}", "return math.random(10)", "return string.gsub('abc', '%w', '%0%0')",
		"#!lua flags=no-writes\nreturn 1", "local co = coroutine.wrap(function() coroutine.yield(1) end) return co()",
	} {
		f.Add(s)
	}
	e := mustEngine(f)
	sentinel := mustCompile(f, "local n = 0 for k in pairs(_G) do n = n + 1 end return {n, type(string.rep), tostring({})}")
	want := e.Eval(sentinel, nil, nil, RunOptions{}).String()
	f.Fuzz(func(t *testing.T, body string) {
		s, err := Compile([]byte(body))
		if err != nil {
			if _, ok := err.(*CompileError); !ok {
				t.Fatalf("compile error of type %T: %v", err, err)
			}
			return
		}
		opt := func(h Host) RunOptions {
			return RunOptions{Host: h, Seed: 7, Limits: Limits{Instructions: 200_000, Memory: 8 << 20}}
		}
		h1, h2 := newMapHost(), newMapHost()
		r1 := e.Eval(s, [][]byte{[]byte("k")}, [][]byte{[]byte("a")}, opt(h1))
		r2 := e.Eval(s, [][]byte{[]byte("k")}, [][]byte{[]byte("a")}, opt(h2))
		if r1.String() != r2.String() || h1.calls != h2.calls || len(h1.data) != len(h2.data) {
			t.Fatalf("runs differ: %.200s after %d calls, then %.200s after %d calls", r1, h1.calls, r2, h2.calls)
		}
		if got := e.Eval(sentinel, nil, nil, RunOptions{}).String(); got != want {
			t.Fatalf("state leaked: %s, want %s", got, want)
		}
	})
}
