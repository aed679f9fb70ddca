package script

import (
	"strconv"
	"strings"
	"testing"
)

// forwardHost runs redis.call on the reference redis-server, over a RESP3
// connection so replies keep their types (as fsm's do).
type forwardHost struct {
	t        *testing.T
	conn     *respConn
	logs     []string
	noWrites bool
}

// Call makes the checks the state machine's host makes (scriptCall's), from
// COMMAND INFO, then forwards.
func (h *forwardHost) Call(argv [][]byte) Reply {
	info, err := h.conn.do("COMMAND", "INFO", string(argv[0]))
	if err != nil {
		h.t.Fatal(err)
	}
	if len(info.Arr) != 1 || info.Arr[0].Kind != KindArray {
		return ErrorReply(ErrUnknownCommand)
	}
	arity := info.Arr[0].Arr[1].Int
	if (arity > 0 && int64(len(argv)) != arity) || (arity < 0 && int64(len(argv)) < -arity) {
		return ErrorReply(ErrArity)
	}
	for _, f := range info.Arr[0].Arr[2].Arr {
		switch string(f.Str) {
		case "noscript":
			return ErrorReply(ErrNotFromScript)
		case "write":
			if h.noWrites {
				return ErrorReply(ErrWriteReadOnly)
			}
		}
	}
	r, err := h.conn.doBytes(argv)
	if err != nil {
		h.t.Fatalf("forward %q: %v", argv, err)
	}
	return r
}

func (h *forwardHost) Log(level int, msg string) {
	h.logs = append(h.logs, strconv.Itoa(level)+" "+msg)
}

// wire is what a client speaking proto reads when r is written as the RESP
// layer writes it (resp/writer.go): RESP2 flattens maps and sets and sends
// doubles, big numbers and verbatim strings as bulk strings.
func wire(r Reply, proto int) Reply {
	if proto == 3 {
		switch r.Kind {
		case KindNullArray:
			return Reply{Kind: KindNull}
		case KindPairs:
			out := Reply{Kind: KindArray}
			for i := 0; i+1 < len(r.Arr); i += 2 {
				out.Arr = append(out.Arr, Reply{Kind: KindArray, Arr: []Reply{wire(r.Arr[i], 3), wire(r.Arr[i+1], 3)}})
			}
			return out
		}
	} else {
		switch r.Kind {
		case KindMap, KindSet, KindPairs, KindPush:
			r.Kind = KindArray
		case KindDouble, KindVerbatim, KindBigNumber:
			r.Kind = KindBulk
		case KindBool:
			r.Kind = KindInt
		}
	}
	if r.Arr != nil {
		arr := make([]Reply, len(r.Arr))
		for i, e := range r.Arr {
			arr[i] = wire(e, proto)
		}
		r.Arr = arr
	}
	return r
}

type evalCase struct {
	name   string
	setup  []string // commands run before (on a flushed server)
	script string
	keys   []string
	args   []string
}

func runDiff(t *testing.T, cases []evalCase) {
	needRedis(t)
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []int{2, 3} {
		client, err := dialRESP(redisAddr, proto)
		if err != nil {
			t.Fatal(err)
		}
		defer client.close()
		fwd, err := dialRESP(redisAddr, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer fwd.close()
		reset := func(c evalCase) {
			for _, cmd := range append([]string{"FLUSHALL"}, c.setup...) {
				if _, err := client.do(strings.Fields(cmd)...); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, c := range cases {
			reset(c)
			args := append([]string{"EVAL", c.script, strconv.Itoa(len(c.keys))}, c.keys...)
			want, err := client.do(append(args, c.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			reset(c)
			var got Reply
			s, cerr := Compile([]byte(c.script))
			if cerr != nil {
				got = ErrorReply(cerr.Error())
			} else {
				host := &forwardHost{t: t, conn: fwd, noWrites: s.Flags&FlagNoWrites != 0}
				got = wire(eng.Eval(s, toBytes(c.keys), toBytes(c.args), RunOptions{Host: host, Limits: Limits{Instructions: 100_000_000}}), proto)
			}
			if got.String() != want.String() {
				t.Errorf("RESP%d %s: %q\n  redis-server: %s\n  engine:       %s", proto, c.name, c.script, want, got)
			}
		}
	}
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestDiffConversions(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "int", script: "return 1"},
		{name: "float truncates", script: "return 3.99"},
		{name: "negative float", script: "return -3.99"},
		{name: "string", script: "return 'hello'"},
		{name: "true", script: "return true"},
		{name: "false", script: "return false"},
		{name: "nil", script: "return nil"},
		{name: "no return", script: "local x = 1"},
		{name: "array stops at nil", script: "return {1, 2, nil, 3}"},
		{name: "nested", script: "return {1, {2, {'a', false, true}}, 'x'}"},
		{name: "status", script: "return {ok='FINE'}"},
		{name: "status helper", script: "return redis.status_reply('FINE')"},
		{name: "status crlf", script: "return {ok='a\\r\\nb'}"},
		{name: "error table", script: "return {err='MYERR boom'}"},
		{name: "error helper", script: "return redis.error_reply('x y')"},
		{name: "error helper dash", script: "return redis.error_reply('-WRONG y')"},
		{name: "error helper no code", script: "return redis.error_reply('boom')"},
		{name: "error helper bad", script: "return redis.error_reply(1)"},
		{name: "status helper bad", script: "return redis.status_reply()"},
		{name: "double", script: "return {double=3.14}"},
		{name: "double int", script: "return {double=3}"},
		{name: "big number", script: "return {big_number='123456789012345678901234567890'}"},
		{name: "verbatim", script: "return {verbatim_string={format='txt', string='hello'}}"},
		{name: "map", script: "return {map={a=1}}"},
		{name: "set", script: "return {set={a=true}}"},
		{name: "resp3 true", script: "redis.setresp(3) return true"},
		{name: "resp3 false", script: "redis.setresp(3) return false"},
		{name: "keys argv", script: "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", keys: []string{"k1", "k2"}, args: []string{"a1"}},
		{name: "get nil resp2", script: "return {redis.call('get', 'nokey') == false}"},
		{name: "get nil resp3", script: "redis.setresp(3) return {redis.call('get', 'nokey') == nil}"},
		{name: "get", setup: []string{"SET k v"}, script: "return redis.call('get', KEYS[1])", keys: []string{"k"}},
		{name: "set ok", script: "return redis.call('set', 'k', 'v')"},
		{name: "set ok type", script: "local r = redis.call('set', 'k', 'v') return {type(r), r.ok}"},
		{name: "incr", script: "return redis.call('incr', 'n')"},
		{name: "numbers as args", script: "redis.call('set', 'k', 3.5) redis.call('set', 'j', 1e20) redis.call('set', 'i', 7) return redis.call('mget', 'k', 'j', 'i')"},
		{name: "hgetall resp2", setup: []string{"HSET h a 1"}, script: "return redis.call('hgetall', 'h')"},
		{name: "hgetall resp3", setup: []string{"HSET h a 1"}, script: "redis.setresp(3) local r = redis.call('hgetall', 'h') return {type(r.map), r.map.a}"},
		{name: "hgetall resp3 back", setup: []string{"HSET h a 1"}, script: "redis.setresp(3) return redis.call('hgetall', 'h')"},
		{name: "smembers resp3", setup: []string{"SADD s a"}, script: "redis.setresp(3) local r = redis.call('smembers', 's') return {type(r.set), tostring(r.set.a)}"},
		{name: "zscore resp2", setup: []string{"ZADD z 1.5 a"}, script: "return redis.call('zscore', 'z', 'a')"},
		{name: "zscore resp3", setup: []string{"ZADD z 1.5 a"}, script: "redis.setresp(3) local r = redis.call('zscore', 'z', 'a') return {type(r), tostring(r.double)}"},
		{name: "lrange", setup: []string{"RPUSH l a b c"}, script: "return redis.call('lrange', 'l', 0, -1)"},
		{name: "sha1hex", script: "return {redis.sha1hex(''), redis.sha1hex('abc'), redis.sha1hex(1)}"},
		{name: "version", script: "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}"},
		{name: "constants", script: "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}"},
		{name: "set_repl", script: "redis.set_repl(redis.REPL_ALL) return redis.replicate_commands()"},
		{name: "breakpoint", script: "return {redis.breakpoint(), redis.debug('x')}"},
		{name: "log", script: "redis.log(redis.LOG_WARNING, 'hello', 1) return 1"},
		{name: "tostring numbers", script: "return {tostring(1e15), tostring(0.1), tostring(1/3), tostring(-0), tostring(1e100), tostring(2^53), tostring(-1.5)}"},
		{name: "concat numbers", script: "return 'x' .. 1/3 .. 'y' .. 10 .. 2^63"},
		{name: "format", script: "return {string.format('%d %5.2f %s %q %x %g %g %e', 3.7, 1/3, 'a', 'q\"\\n', 255, 0.1, 1e20, 12345.678)}"},
		{name: "format s", script: "return string.format('[%5s][%-5s][%.2s]', 'ab', 'ab', 'abc')"},
		{name: "gsub", script: "return {string.gsub('hello world', 'o', '0')}"},
		{name: "gsub captures", script: "return {string.gsub('hello world', '(%w+)', '<%1>')}"},
		{name: "gsub percent", script: "return {string.gsub('abc', 'b', '%%')}"},
		{name: "gsub fn", script: "return {string.gsub('abc', '%w', function(c) return c:upper() .. '.' end)}"},
		{name: "gsub table", script: "return {string.gsub('$a $b', '%$(%w+)', {a='1'})}"},
		{name: "rep", script: "return string.rep('ab', 3)"},
		{name: "table concat", script: "return table.concat({1, 'a', 2.5}, ',')"},
		{name: "random", script: "math.randomseed(7) return {math.random(100), math.random(5, 10), tostring(math.random())}"},
		{name: "unpack", script: "return {unpack({1, 2, 3})}"},
		{name: "select", script: "return select('#', 1, 2, 3)"},
		{name: "pcall status", script: "return {pcall(function() return 1 end)}"},
	})
}

func TestDiffErrors(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "nonexistent global", script: "return x"},
		{name: "syntax error at the end", script: "return 1 +"},
		{name: "syntax error after a shebang", script: "#!lua\nreturn 1 +"},
		{name: "syntax error in the middle", script: "local a = = 1"},
		{name: "varargs at top level", script: "return select('#', ...)"},
		{name: "new global", script: "x = 1"},
		{name: "modify lib", script: "string.x = 1"},
		{name: "modify redis", script: "redis.x = 1"},
		{name: "modify _G", script: "_G.x = 1"},
		{name: "rawset _G", script: "rawset(_G, 'x', 1)"},
		{name: "setmetatable _G", script: "setmetatable(_G, nil)"},
		{name: "string metatable", script: "getmetatable('').x = 1"},
		{name: "os", script: "return os.time()"},
		{name: "io", script: "return io"},
		{name: "loadfile", script: "return loadfile"},
		{name: "dofile", script: "return dofile"},
		{name: "require", script: "return require"},
		{name: "print", script: "return print"},
		{name: "debug", script: "return debug"},
		{name: "error string", script: "error('boom')"},
		{name: "error table", script: "error({err='MY boom'})"},
		{name: "error table no code", script: "error({err='boom'})"},
		{name: "error line 2", script: "local a = 1\nerror('boom')"},
		{name: "unknown command", script: "return redis.call('nosuch')"},
		{name: "arity", script: "return redis.call('get')"},
		{name: "pcall arity", script: "return redis.pcall('get')"},
		{name: "no args", script: "return redis.call()"},
		{name: "bad arg", script: "return redis.call('set', 'a', {})"},
		{name: "bool arg", script: "return redis.call('set', 'a', true)"},
		{name: "wrongtype", setup: []string{"SET s 1"}, script: "return redis.call('lpush', 's', 'x')"},
		{name: "wrongtype line 3", setup: []string{"SET s 1"}, script: "local a = 1\n\nreturn redis.call('lpush', 's', 'x')"},
		{name: "pcall wrongtype", setup: []string{"SET s 1"}, script: "local r = redis.pcall('lpush', 's', 'x') return {type(r), r.err}"},
		{name: "pcall returns table", setup: []string{"SET s 1"}, script: "return redis.pcall('lpush', 's', 'x')"},
		{name: "lua pcall of call", script: "return {pcall(redis.call, 'nosuch')}"},
		{name: "lua pcall of error", script: "local ok, e = pcall(error, {err='X y'}) return {tostring(ok), e}"},
		{name: "sha1hex no args", script: "return redis.sha1hex()"},
		{name: "setresp bad", script: "redis.setresp(4)"},
		{name: "setresp none", script: "redis.setresp()"},
		{name: "set_repl bad", script: "redis.set_repl(8)"},
		{name: "set_repl none", script: "redis.set_repl()"},
		{name: "log few args", script: "redis.log(1)"},
		{name: "log bad level", script: "redis.log(9, 'x')"},
		{name: "log not number", script: "redis.log('x', 'y')"},
		{name: "random empty", script: "return math.random(0)"},
		{name: "shebang flags", script: "#!lua flags=no-writes\nreturn 1"},
		{name: "shebang bad flag", script: "#!lua flags=bad\nreturn 1"},
		{name: "shebang option", script: "#!lua foo=bar\nreturn 1"},
		{name: "shebang engine", script: "#!luax\nreturn 1"},
		{name: "shebang name", script: "#!lua name=x\nreturn 1"},
		{name: "shebang error line", script: "#!lua\nreturn x"},
		{name: "no-writes write", script: "#!lua flags=no-writes\nreturn redis.call('set','x','y')"},
		{name: "unpack too many", script: "local t = {} for i = 1, 10000 do t[i] = i end return #{unpack(t)}"},
	})
}

func TestDiffBitStruct(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "tobit", script: "return {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(-1), bit.tobit(1.5), bit.tobit(2.5), bit.tobit('12')}"},
		{name: "ops", script: "return {bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(0xff, 0x0f), bit.bnot(0)}"},
		{name: "shifts", script: "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.lshift(1, 33)}"},
		{name: "bswap tohex", script: "return {bit.bswap(0x12345678), bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2), bit.tohex(1, 20)}"},
		{name: "bit error", script: "return bit.band('x')"},
		{name: "bit nil", script: "return bit.band(nil)"},
		{name: "pack ints", script: "return {struct.pack('>i', 1), struct.pack('<h', -2), struct.pack('B', 255), struct.pack('>I3', 65536 + 2), struct.pack('l', 2^40)}"},
		{name: "pack floats", script: "return {struct.pack('<d', 1.5), struct.pack('>f', -0.25)}"},
		{name: "pack strings", script: "return {struct.pack('s', 'ab'), struct.pack('c5', 'hello world'), struct.pack('c0', 'xyz')}"},
		{name: "pack align", script: "return struct.pack('!4 b i', 1, 2)"},
		{name: "unpack", script: "return {struct.unpack('>i <h B', struct.pack('>i <h B', 7, -3, 200))}"},
		{name: "unpack floats", script: "local a, b = struct.unpack('<d >f', struct.pack('<d >f', 1.25, 0.5)) return {tostring(a), tostring(b)}"},
		{name: "unpack strings", script: "return {struct.unpack('s c3 B c0', struct.pack('s c3 B c0', 'ab', 'xyz', 2, 'hi'))}"},
		{name: "unpack pos", script: "return {struct.unpack('B', 'abc', 2)}"},
		{name: "size", script: "return {struct.size('i'), struct.size('>!4 b i d'), struct.size('c10')}"},
		{name: "size s", script: "return struct.size('s')"},
		{name: "unpack short", script: "return struct.unpack('i', 'ab')"},
		{name: "bad option", script: "return struct.pack('y', 1)"},
		{name: "int too big", script: "return struct.pack('i40', 1)"},
		{name: "bad align", script: "return struct.pack('!3 i', 1)"},
		{name: "unfinished", script: "return struct.unpack('s', 'abc')"},
		{name: "string too short", script: "return struct.pack('c5', 'ab')"},
	})
}

func TestDiffCjson(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "encode scalars", script: "return {cjson.encode(1), cjson.encode(1.5), cjson.encode('a\"b\\\\c/d\\n\\1\\127'), cjson.encode(true), cjson.encode(cjson.null), cjson.encode(nil)}"},
		{name: "encode array", script: "return cjson.encode({1, 'two', {3, {4}}, false})"},
		{name: "encode object one key", script: "return cjson.encode({a = {b = 'c'}})"},
		{name: "encode empty", script: "return cjson.encode({})"},
		{name: "encode number keys", script: "return cjson.encode({[1] = 'a', [3] = 'c'})"},
		{name: "encode sparse", script: "return cjson.encode({[1] = 'a', [20] = 'c'})"},
		{name: "encode float key", script: "return cjson.encode({[1.5] = 'a'})"},
		{name: "encode precision", script: "return {cjson.encode(1/3), cjson.encode(1e20), cjson.encode(-0.0001), cjson.encode(2^53)}"},
		{name: "encode inf", script: "return cjson.encode(1/0)"},
		{name: "encode function", script: "return cjson.encode(function() end)"},
		{name: "encode bad key", script: "return cjson.encode({[true] = 1})"},
		{name: "encode nesting", script: "local t = {} t[1] = t return cjson.encode(t)"},
		{name: "encode no args", script: "return cjson.encode()"},
		{name: "decode", script: "local t = cjson.decode('{\"a\":[1,2.5,\"x\",true,false,null],\"b\":{\"c\":\"\\\\u00e9\\\\ud83d\\\\ude00\"}}') return {t.a[1], tostring(t.a[2]), t.a[3], t.a[4], t.a[5], t.a[6] == cjson.null, t.b.c}"},
		{name: "decode scalars", script: "return {cjson.decode('\"s\"'), cjson.decode(' 42 '), tostring(cjson.decode('-1.5e3'))}"},
		{name: "decode nan", script: "return tostring(cjson.decode('nan'))"},
		{name: "decode hex", script: "return cjson.decode('0x10')"},
		{name: "decode empty", script: "return cjson.decode('')"},
		{name: "decode trailing", script: "return cjson.decode('[1] x')"},
		{name: "decode bad", script: "return cjson.decode('{1:2}')"},
		{name: "decode unterminated", script: "return cjson.decode('\"abc')"},
		{name: "decode bad escape", script: "return cjson.decode('\"\\\\q\"')"},
		{name: "decode missing colon", script: "return cjson.decode('{\"a\" 1}')"},
		{name: "decode array comma", script: "return cjson.decode('[1 2]')"},
		{name: "decode deep", script: "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))"},
		{name: "decode token", script: "return cjson.decode('tru')"},
		{name: "decode no args", script: "return cjson.decode()"},
		{name: "decode two args", script: "return cjson.decode('1', '2')"},
		{name: "decode nil", script: "return cjson.decode(nil)"},
		{name: "null value", script: "return cjson.null"},
		{name: "config", script: "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}"},
		{name: "sparse config", script: "return {cjson.encode_sparse_array()}"},
		{name: "precision set", script: "cjson.encode_number_precision(3) local r = cjson.encode(1/3) cjson.encode_number_precision(14) return r"},
	})
}

func TestDiffCmsgpack(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "ints", script: "return cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536, 2^32, -1, -32, -33, -128, -129, -32768, -32769, -2^31 - 1, 2^53)"},
		{name: "floats", script: "return cmsgpack.pack(1.5, 0.1, -2.25, 1/0)"},
		{name: "strings", script: "return cmsgpack.pack('', 'abc', string.rep('x', 40), string.rep('y', 300), string.rep('z', 70000))"},
		{name: "bools nil", script: "return cmsgpack.pack(true, false, nil)"},
		{name: "array", script: "return cmsgpack.pack({1, 2, {3, 'x'}}, {})"},
		{name: "big array", script: "local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)"},
		{name: "map one key", script: "return cmsgpack.pack({a = 1})"},
		{name: "holey", script: "return cmsgpack.pack({[1] = 'a', [3] = 'c'})"},
		{name: "cycle", script: "local t = {} t[1] = t return cmsgpack.pack(t)"},
		{name: "function", script: "return cmsgpack.pack(function() end)"},
		{name: "roundtrip", script: "local a, b, c, d = cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, {k = 'v'})) return {a, b, c[1], c[2], d.k}"},
		{name: "roundtrip numbers", script: "local t = {cmsgpack.unpack(cmsgpack.pack(-1, 300, -300, 70000, -70000, 2^40, -2^40, 1.5, 0.1))} for i, v in ipairs(t) do t[i] = tostring(v) end return t"},
		{name: "roundtrip strings", script: "local a, b, c = cmsgpack.unpack(cmsgpack.pack(string.rep('x', 40), string.rep('y', 300), string.rep('z', 70000))) return {#a, #b, #c}"},
		{name: "unpack nil", script: "return {cmsgpack.unpack(cmsgpack.pack(nil, 1))}"},
		{name: "unpack_one", script: "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}"},
		{name: "unpack_one offset", script: "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}"},
		{name: "unpack_limit", script: "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"},
		{name: "unpack_limit offset", script: "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}"},
		{name: "unpack bad limit", script: "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}"},
		{name: "unpack bad offset", script: "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 9)}"},
		{name: "missing bytes", script: "return {cmsgpack.unpack(string.char(0x92, 1))}"},
		{name: "bad format", script: "return {cmsgpack.unpack(string.char(0xc1))}"},
		{name: "bin8", script: "return {cmsgpack.unpack(string.char(0xc4, 2, 65, 66))}"},
		{name: "empty", script: "return {cmsgpack.unpack('')}"},
		{name: "no input", script: "return cmsgpack.pack()"},
		{name: "meta", script: "return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}"},
	})
}

func TestDiffSandbox(t *testing.T) {
	list := func(expr string) string {
		return "local t = {} for k in pairs(" + expr + ") do t[#t+1] = tostring(k) end table.sort(t) return t"
	}
	runDiff(t, []evalCase{
		{name: "globals", script: list("_G")},
		{name: "redis", script: list("redis")},
		{name: "string", script: list("string")},
		{name: "table", script: list("table")},
		{name: "math", script: list("math")},
		{name: "coroutine", script: list("coroutine")},
		{name: "bit", script: list("bit")},
		{name: "struct", script: list("struct")},
		{name: "cjson", script: list("cjson")},
		{name: "cmsgpack", script: list("cmsgpack")},
		{name: "version", script: "return _VERSION"},
		{name: "loadstring", script: "return loadstring('return 1 + 1')()"},
		{name: "coroutines", script: "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return {co(1), co(5)}"},
		{name: "metatables", script: "local t = setmetatable({}, {__index = function(_, k) return k .. '!' end}) return t.x"},
		{name: "string methods", script: "local s = 'Hello' return {s:upper(), s:lower(), s:len(), s:sub(2, 3), s:rep(2, '-'), s:byte(1), s:reverse(), s:find('l'), s:match('(H)(e)')}"},
		{name: "table functions", script: "local t = {3, 1, 2} table.sort(t) table.insert(t, 4) table.insert(t, 1, 0) local r = table.remove(t) return {t[1], t[2], t[4], r, #t, table.getn(t), table.maxn(t)}"},
		{name: "math functions", script: "return {math.floor(2.5), math.ceil(2.5), math.abs(-3), math.max(1, 5, 3), math.min(4, 2), math.fmod(7, 3), tostring(math.sqrt(2)), tostring(math.pi), tostring(math.huge)}"},
		{name: "tonumber", script: "return {tonumber('10'), tonumber('0x10'), tonumber('z', 36), tonumber('  5  '), tostring(tonumber('1e2')), tostring(tonumber('abc'))}"},
		{name: "select", script: "return {select(2, 'a', 'b', 'c')}"},
		{name: "xpcall", script: "return {xpcall(function() error('x') end, function(e) return 'handled' end)}"},
		{name: "assert", script: "assert(false, 'nope')"},
		{name: "getfenv", script: "return type(getfenv)"},
		{name: "gmatch", script: "local t = {} for w in string.gmatch('one two three', '%a+') do t[#t+1] = w end return t"},
		{name: "ipairs", script: "local t = {} for i, v in ipairs({'a', 'b', nil, 'd'}) do t[#t+1] = v end return t"},
		{name: "next", script: "return next({})"},
		{name: "rawequal", script: "return {rawequal(1, 1), rawequal({}, {})}"},
		{name: "string.char", script: "return string.char(72, 105)"},
		{name: "overwrite redis field", script: "redis.call = nil return 1"},
		{name: "overwrite string field", script: "string.len = function() return 0 end return 1"},
		{name: "overwrite global", script: "_G.redis = nil return 1"},
		{name: "overwrite global by name", script: "tostring = nil return 1"},
		{name: "overwrite caught by pcall", script: "local ok, e = pcall(function() cjson.encode = 1 end) return {tostring(ok), e, type(cjson.encode)}"},
		{name: "overwrite after setfenv", script: "setfenv(1, {}) x = 1 return 1"},
		{name: "own table still writable", script: "local t = {} t.a = 1 local m = setmetatable({}, {}) m.b = 2 return {t.a, m.b}"},
		{name: "format more", script: "return {string.format('%5.1f|%-6d|%+d|%05d|%o|%X|%c|%%', 3.14159, 42, 5, 42, 8, 255, 65), string.format('%10.4s|', 'abcdefg'), string.format('%g %g %g', 100000, 1000000, 1e-5)}"},
	})
}

func TestDiffRuntimeErrors(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "index local", script: "local t = nil; return t.x"},
		{name: "index field", script: "local t = {} t.x.y = 1"},
		{name: "index global field", script: "return redis.nosuch.x"},
		{name: "index upvalue", script: "local u; local function f() return u.x end return f()"},
		{name: "index temp", script: "return (nil).x"},
		{name: "arith const", script: "return nil + 1"},
		{name: "arith local", script: "local a; return a + 1"},
		{name: "arith right", script: "local a = {}; return 1 * a"},
		{name: "arith string", script: "return 'x' + 1"},
		{name: "unm", script: "return -{}"},
		{name: "len of a number", script: "return #5"},
		{name: "len of a local", script: "local n = true return #n"},
		{name: "len of a global field", script: "return #redis.LOG_DEBUG"},
		{name: "concat table", script: "return {} .. 'x'"},
		{name: "concat local", script: "local a; return 'x' .. a"},
		{name: "compare", script: "return 1 < 'x'"},
		{name: "compare two", script: "return {} < {}"},
		{name: "call local", script: "local f; f()"},
		{name: "call string", script: "return ('x')()"},
		{name: "call method", script: "return ('x'):bad()"},
		{name: "call field", script: "local t = {} t.go()"},
		{name: "bad argument", script: "return string.rep()"},
	})
}

func TestDiffMoreErrors(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "error no args", script: "error()"},
		{name: "error nil", script: "error(nil)"},
		{name: "error number", script: "error(123)"},
		{name: "error level 0", script: "error('plain', 0)"},
		{name: "error level 2", script: "local function f() error('up', 2) end\nf()"},
		{name: "error in function line", script: "local function f()\n  local x = nil\n  return x.y\nend\nreturn f()"},
		{name: "recursion", script: "local function f() return 1 + f() end return f()"},
		{name: "shebang double space", script: "#!lua  flags=no-writes\nreturn 1"},
		{name: "shebang empty flags", script: "#!lua flags=\nreturn 1"},
		{name: "shebang trailing comma", script: "#!lua flags=no-writes,\nreturn 1"},
		{name: "shebang all flags", script: "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1"},
		{name: "shebang only", script: "#!lua"},
		{name: "pcall error table", script: "return {pcall(function() error({err='E x'}) end)}"},
		{name: "pcall redis error", setup: []string{"SET s 1"}, script: "local ok, e = pcall(redis.call, 'lpush', 's', 'x') return {tostring(ok), e}"},
		{name: "xpcall handler gets table", script: "return {xpcall(function() redis.call('nosuch') end, function(e) return type(e) .. ':' .. e.err end)}"},
		{name: "error_reply raised", script: "error(redis.error_reply('MY err'))"},
		{name: "return error_reply from pcall", script: "return redis.pcall('nosuch')"},
	})
}

// CheckACL: the reference server's default user may run every command.
func (h *forwardHost) CheckACL(argv [][]byte) (known, allowed bool) {
	info, err := h.conn.do("COMMAND", "INFO", string(argv[0]))
	if err != nil {
		h.t.Fatal(err)
	}
	return len(info.Arr) == 1 && info.Arr[0].Kind == KindArray, true
}

func TestDiffACLCheck(t *testing.T) {
	runDiff(t, []evalCase{
		{name: "allowed", script: "return redis.acl_check_cmd('get', 'x')"},
		{name: "unknown", script: "return redis.acl_check_cmd('nosuch')"},
		{name: "no args", script: "return redis.acl_check_cmd()"},
		{name: "bad arg", script: "return redis.acl_check_cmd('get', {})"},
	})
}
