package script

import (
	"strings"
	"testing"
)

type fnCase struct {
	name  string
	loads []string   // FUNCTION LOAD payloads, in order (after FUNCTION FLUSH)
	calls [][]string // then FCALL argument lists (function, numkeys, keys..., args...)
}

// runFunctionDiff loads each library on redis-server and through Functions,
// comparing replies, then compares FCALLs.
func runFunctionDiff(t *testing.T, cases []fnCase) {
	needRedis(t)
	eng := mustEngine(t)
	client, err := dialRESP(redisAddr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer client.close()
	fwd, err := dialRESP(redisAddr, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.close()
	lim := Limits{Instructions: 100_000_000}
	for _, c := range cases {
		if _, err := client.do("FUNCTION", "FLUSH"); err != nil {
			t.Fatal(err)
		}
		fns := NewFunctions()
		for _, code := range c.loads {
			want, err := client.do("FUNCTION", "LOAD", code)
			if err != nil {
				t.Fatal(err)
			}
			var got Reply
			if name, err := fns.Load(eng, []byte(code), false, RunOptions{Limits: lim}); err != nil {
				got = ErrorReply(err.Error())
			} else {
				got = Reply{Kind: KindBulk, Str: []byte(name)}
			}
			if got.String() != want.String() {
				t.Errorf("%s: FUNCTION LOAD %q\n  redis-server: %s\n  engine:       %s", c.name, code, want, got)
			}
		}
		for _, call := range c.calls {
			if _, err := client.do("FLUSHALL"); err != nil {
				t.Fatal(err)
			}
			want, err := client.do(append([]string{"FCALL"}, call...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got Reply
			fn, ok := fns.Function(call[0])
			if !ok {
				got = ErrorReply("ERR Function not found")
			} else {
				n := 0
				for _, ch := range call[1] {
					n = n*10 + int(ch-'0')
				}
				keys, args := call[2:2+n], call[2+n:]
				host := &forwardHost{t: t, conn: fwd, noWrites: fn.Flags&FlagNoWrites != 0}
				got = wire(eng.FCall(fn, toBytes(keys), toBytes(args), RunOptions{Host: host, Limits: lim}), 2)
			}
			if got.String() != want.String() {
				t.Errorf("%s: FCALL %s\n  redis-server: %s\n  engine:       %s", c.name, strings.Join(call, " "), want, got)
			}
		}
	}
}

func TestDiffFunctions(t *testing.T) {
	lib := func(name, body string) string { return "#!lua name=" + name + "\n" + body }
	runFunctionDiff(t, []fnCase{
		{name: "no metadata", loads: []string{"redis.register_function('f', function() return 1 end)"}},
		{name: "no name", loads: []string{"#!lua\nredis.register_function('f', function() return 1 end)"}},
		{name: "bad name", loads: []string{"#!lua name=l-3 \nredis.register_function('f', function() return 1 end)"}},
		{name: "empty name", loads: []string{"#!lua name=\nredis.register_function('f', function() return 1 end)"}},
		{name: "unknown engine", loads: []string{"#!luax name=l\n"}},
		{name: "metadata value", loads: []string{"#!lua name=l foo=bar\n"}},
		{name: "name twice", loads: []string{"#!lua name=a name=b\n"}},
		{name: "header only", loads: []string{"#!lua name=a"}},
		{name: "extra spaces", loads: []string{"#!lua  name=a27  \nredis.register_function('z2', function() return 1 end)"}},
		{name: "exists", loads: []string{lib("l1", "redis.register_function('f', function() return 1 end)"), lib("l1", "redis.register_function('g', function() return 1 end)")}},
		{name: "function exists", loads: []string{lib("l1", "redis.register_function('f', function() return 1 end)"), lib("l2", "redis.register_function('f', function() return 1 end)")}},
		{name: "no functions", loads: []string{lib("l", "")}},
		{name: "second arg", loads: []string{lib("l", "redis.register_function('g', 1)")}},
		{name: "single arg", loads: []string{lib("l", "redis.register_function('g')")}},
		{name: "three args", loads: []string{lib("l", "redis.register_function('g', function() end, 3)")}},
		{name: "number name", loads: []string{lib("l", "redis.register_function(1, function() end)")}},
		{name: "table name", loads: []string{lib("l", "redis.register_function({}, function() end)")}},
		{name: "bad fn name", loads: []string{lib("l", "redis.register_function('a-b', function() end)")}},
		{name: "empty fn name", loads: []string{lib("l", "redis.register_function('', function() end)")}},
		{name: "dup in lib", loads: []string{lib("l", "redis.register_function('g', function() end) redis.register_function('g', function() end)")}},
		{name: "named bad flag", loads: []string{lib("l", "redis.register_function{function_name='g', callback=function() end, flags={'bad'}}")}},
		{name: "named flags type", loads: []string{lib("l", "redis.register_function{function_name='g', callback=function() end, flags='no-writes'}")}},
		{name: "named unknown", loads: []string{lib("l", "redis.register_function{function_name='g', callback=function() end, bad=1}")}},
		{name: "named no callback", loads: []string{lib("l", "redis.register_function{function_name='g'}")}},
		{name: "named no name", loads: []string{lib("l", "redis.register_function{callback=function() end}")}},
		{name: "named callback type", loads: []string{lib("l", "redis.register_function{function_name='q', callback=1}")}},
		{name: "named desc type", loads: []string{lib("l", "redis.register_function{function_name='q', callback=function() end, description=1}")}},
		{name: "named numeric key", loads: []string{lib("l", "redis.register_function{[1]='q', callback=function() end}")}},
		{name: "load-time call", loads: []string{lib("l", "redis.call('ping')")}},
		{name: "load-time global", loads: []string{lib("l", "return x")}},
		{name: "load-time set global", loads: []string{lib("l", "x = 1")}},
		{name: "load-time error", loads: []string{lib("l", "error('boom')")}},
		{name: "load-time math", loads: []string{lib("l", "math.random()")}},
		{name: "late error", loads: []string{lib("l", "redis.register_function('z4', function() return 1 end)\nlocal a = nil + 1")}},
		{name: "compile error", loads: []string{lib("l", "local a = = 1")}},
		{name: "load-time log", loads: []string{lib("l", "redis.log(redis.LOG_DEBUG, 'x') redis.register_function('f', function() return redis.REDIS_VERSION end)")}, calls: [][]string{{"f", "0"}}},
		{name: "fcall", loads: []string{lib("l", "redis.register_function('g', function(k, a) return {#k, #a, k[1], a[1], a[2]} end)")}, calls: [][]string{{"g", "1", "kk", "aa", "bb"}, {"g", "0"}}},
		{name: "fcall writes", loads: []string{lib("l", "redis.register_function('g', function(k, a) redis.call('set', k[1], a[1]) return redis.call('get', k[1]) end)")}, calls: [][]string{{"g", "1", "k", "v"}}},
		{name: "fcall no KEYS", loads: []string{lib("l", "redis.register_function('g', function(k, a) return KEYS end)")}, calls: [][]string{{"g", "0"}}},
		{name: "fcall global", loads: []string{lib("l", "redis.register_function('h', function() return x end)")}, calls: [][]string{{"h", "0"}}},
		{name: "fcall error", loads: []string{lib("l", "redis.register_function('e1', function() error('boom') end)")}, calls: [][]string{{"e1", "0"}}},
		{name: "fcall call error", loads: []string{lib("l", "redis.register_function('e2', function() return redis.call('nosuch') end)")}, calls: [][]string{{"e2", "0"}}},
		{name: "fcall no-writes", loads: []string{lib("l", "redis.register_function{function_name='ro', callback=function() return redis.call('set','x','y') end, flags={'no-writes'}}")}, calls: [][]string{{"ro", "0"}}},
		{name: "fcall helper", loads: []string{lib("l", "local function helper(x) return string.upper(x) end\nredis.register_function('up', function(k, a) return helper(a[1]) end)")}, calls: [][]string{{"up", "0", "abc"}}},
		{name: "fcall full api", loads: []string{lib("l", "redis.register_function('api', function() return {type(redis.call), type(redis.pcall), type(redis.sha1hex), type(cjson), type(string), type(math)} end)")}, calls: [][]string{{"api", "0"}}},
		{name: "fcall not found", loads: []string{lib("l", "redis.register_function('a', function() end)")}, calls: [][]string{{"nosuch", "0"}}},
		{name: "fcall ignores case", loads: []string{lib("l", "redis.register_function('MixedCase', function() return 'mc' end)")}, calls: [][]string{{"mixedcase", "0"}, {"MIXEDCASE", "0"}, {"MixedCase", "0"}}},
		{name: "names clash ignoring case", loads: []string{lib("l", "redis.register_function('dup', function() end)"), lib("m", "redis.register_function('DUP', function() end)")}, calls: [][]string{{"Dup", "0"}}},
	})
}
