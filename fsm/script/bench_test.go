package script

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// compareHost is a map-backed host for the lock-release script.
type compareHost struct{ v string }

func (h *compareHost) Call(argv [][]byte) Reply {
	switch string(argv[0]) {
	case "get":
		return Reply{Kind: KindBulk, Str: []byte(h.v)}
	case "del":
		return Reply{Kind: KindInt, Int: 1}
	}
	return ErrorReply(ErrUnknownCommand)
}
func (*compareHost) Log(int, string) {}

// BenchmarkEval runs redis-py's lock release (a small write script) and a
// loop of pure Lua arithmetic through the engine, beside the same Lua run by
// a bare gopher-lua state (no sandbox, no per-instruction context), so the
// figures show what the budget and the sandbox cost.
func BenchmarkEval(b *testing.B) {
	const release = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
	const loop = "local n = 0 for i = 1, 10000 do n = n + i % 7 end return n"
	keys, args := [][]byte{[]byte("lock")}, [][]byte{[]byte("token")}
	e := mustEngine(b)
	for _, c := range []struct{ name, body string }{{"release", release}, {"loop10k", loop}} {
		s := mustCompile(b, c.body)
		b.Run(c.name+"/engine", func(b *testing.B) {
			h := &compareHost{v: "token"}
			for b.Loop() {
				if r := e.Eval(s, keys, args, RunOptions{Host: h, Limits: Limits{Instructions: 100_000_000}}); r.IsError() {
					b.Fatal(r)
				}
			}
		})
		b.Run(c.name+"/bare-gopher-lua", func(b *testing.B) {
			L := lua.NewState()
			defer L.Close()
			redis := L.NewTable()
			redis.RawSetString("call", L.NewFunction(func(L *lua.LState) int {
				if L.CheckString(1) == "get" {
					L.Push(lua.LString("token"))
				} else {
					L.Push(lua.LNumber(1))
				}
				return 1
			}))
			L.SetGlobal("redis", redis)
			kt, at := L.NewTable(), L.NewTable()
			kt.Append(lua.LString("lock"))
			at.Append(lua.LString("token"))
			L.SetGlobal("KEYS", kt)
			L.SetGlobal("ARGV", at)
			for b.Loop() {
				L.Push(L.NewFunctionFromProto(s.proto))
				if err := L.PCall(0, 1, nil); err != nil {
					b.Fatal(err)
				}
				L.Pop(1)
			}
		})
	}
}
