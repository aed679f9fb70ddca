package fsm_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// Expected replies are Redis 7.0's, checked by hand against redis-server
// (see redis_diff_test.go). The harness clock starts at t0 = 1700000000000,
// so absolute times are written relative to 1700000000 s.

const (
	errSyntax   = "-ERR syntax error"
	errNotInt   = "-ERR value is not an integer or out of range"
	errNotFloat = "-ERR value is not a valid float"
	errNaNInf   = "-ERR increment would produce NaN or Infinity"
	errOverflow = "-ERR increment or decrement would overflow"
	errTooBig   = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"
)

func errExpire(cmd string) string { return "-ERR invalid expire time in '" + cmd + "' command" }
func errArity(cmd string) string  { return "-ERR wrong number of arguments for '" + cmd + "' command" }

func stringCases() []tc {
	kv := lines("SET k v")
	hello := lines("SET k \"Hello World\"")
	return []tc{
		// GET
		row("get missing", nil, "GET k", "(nil)"),
		row("get existing", kv, "GET k", `"v"`),
		row("get binary", lines(`SET k "\x00\xff\r\n"`), "GET k", `"\x00\xff\r\n"`),
		row("get case insensitive", kv, "gEt k", `"v"`),
		row("get empty value", lines(`SET k ""`), "GET k", `""`),

		// SET and its options
		row("set", nil, "SET k v", "+OK"),
		{name: "set overwrites", setup: kv, steps: []step{{"SET k w", "+OK"}, {"GET k", `"w"`}}},
		{name: "set nx missing", steps: []step{{"SET k v NX", "+OK"}, {"GET k", `"v"`}}},
		{name: "set nx existing", setup: kv, steps: []step{{"SET k w NX", "(nil)"}, {"GET k", `"v"`}}},
		{name: "set xx missing", steps: []step{{"SET k v XX", "(nil)"}, {"EXISTS k", ":0"}}},
		{name: "set xx existing", setup: kv, steps: []step{{"SET k w XX", "+OK"}, {"GET k", `"w"`}}},
		{name: "set get missing", steps: []step{{"SET k v GET", "(nil)"}, {"GET k", `"v"`}}},
		{name: "set get existing", setup: kv, steps: []step{{"SET k w GET", `"v"`}, {"GET k", `"w"`}}},
		{name: "set nx get existing", setup: kv, steps: []step{{"SET k w NX GET", `"v"`}, {"GET k", `"v"`}}},
		{name: "set get nx missing", steps: []step{{"SET k w GET NX", "(nil)"}, {"GET k", `"w"`}}},
		{name: "set xx get missing", steps: []step{{"SET k w XX GET", "(nil)"}, {"EXISTS k", ":0"}}},
		{name: "set repeated flags", setup: kv, steps: []step{{"SET k w NX NX GET GET", `"v"`}}},
		{name: "set ex", steps: []step{{"SET k v EX 10", "+OK"}, {"TTL k", ":10"}, {"PTTL k", ":10000"}}},
		{name: "set px", steps: []step{{"SET k v PX 1500", "+OK"}, {"PTTL k", ":1500"}, {"TTL k", ":2"}}},
		{name: "set exat", steps: []step{{"SET k v EXAT 1700000010", "+OK"}, {"TTL k", ":10"}}},
		{name: "set pxat", steps: []step{{"SET k v PXAT 1700000001500", "+OK"}, {"PTTL k", ":1500"}}},
		{name: "set options any case", steps: []step{{"set k v nx ex 10", "+OK"}, {"ttl k", ":10"}}},
		{name: "set exat past", setup: kv, steps: []step{{"SET k w EXAT 1", "+OK"}, {"EXISTS k", ":0"}}},
		{name: "set pxat now", setup: kv, steps: []step{{"SET k w PXAT 1700000000000", "+OK"}, {"PTTL k", ":0"}, {"@+1", ""}, {"GET k", "(nil)"}}},
		{name: "set pxat just past", setup: kv, steps: []step{{"SET k w PXAT 1699999999999", "+OK"}, {"GET k", "(nil)"}}},
		{name: "set pxat past get", setup: kv, steps: []step{{"SET k w PXAT 1 GET", `"v"`}, {"EXISTS k", ":0"}}},
		{name: "set pxat max", steps: []step{{"SET k v PXAT 9223372036854775807", "+OK"}, {"PEXPIRETIME k", ":9223372036854775807"}}},
		{name: "set ex max", steps: []step{{"SET k v EX 9223372036854", "+OK"}, {"TTL k", ":9223372036854"}}},
		{name: "set ex repeated last wins", steps: []step{{"SET k v EX 10 EX 20", "+OK"}, {"TTL k", ":20"}}},
		{name: "set px repeated last wins", steps: []step{{"SET k v PX 10 PX 2000", "+OK"}, {"PTTL k", ":2000"}}},
		{name: "set clears ttl", setup: lines("SET k v EX 100"), steps: []step{{"SET k w", "+OK"}, {"TTL k", ":-1"}}},
		{name: "set keepttl", setup: lines("SET k v EX 100", "@+1000"),
			steps: []step{{"SET k w KEEPTTL", "+OK"}, {"TTL k", ":99"}, {"GET k", `"w"`}}},
		{name: "set keepttl missing", steps: []step{{"SET k v KEEPTTL KEEPTTL", "+OK"}, {"TTL k", ":-1"}}},
		{name: "set keepttl no ttl", setup: kv, steps: []step{{"SET k w KEEPTTL", "+OK"}, {"TTL k", ":-1"}}},
		{name: "set xx keepttl", setup: lines("SET k v PX 5000"), steps: []step{{"SET k w XX KEEPTTL", "+OK"}, {"PTTL k", ":5000"}}},
		{name: "set nx on expired", setup: lines("SET k v PX 100", "@+101"), steps: []step{{"SET k w NX", "+OK"}, {"GET k", `"w"`}}},
		{name: "set xx on expired", setup: lines("SET k v PX 100", "@+101"), steps: []step{{"SET k w XX GET", "(nil)"}, {"EXISTS k", ":0"}}},
		row("set nx xx", nil, "SET k v NX XX", errSyntax),
		row("set xx nx", nil, "SET k v XX NX", errSyntax),
		row("set ex px", nil, "SET k v EX 10 PX 10", errSyntax),
		row("set px ex", nil, "SET k v PX 10 EX 10", errSyntax),
		row("set ex exat", nil, "SET k v EX 10 EXAT 1800000000", errSyntax),
		row("set pxat exat", nil, "SET k v PXAT 1800000000000 EXAT 1800000000", errSyntax),
		row("set keepttl ex", nil, "SET k v KEEPTTL EX 10", errSyntax),
		row("set ex keepttl", nil, "SET k v EX 10 KEEPTTL", errSyntax),
		row("set pxat keepttl", nil, "SET k v PXAT 1800000000000 KEEPTTL", errSyntax),
		row("set ex without value", nil, "SET k v EX", errSyntax),
		row("set nx ex without value", nil, "SET k v NX PX", errSyntax),
		row("set unknown option", nil, "SET k v FOO", errSyntax),
		row("set bare number", nil, "SET k v 10", errSyntax),
		row("set persist is getex only", nil, "SET k v PERSIST", errSyntax),
		row("set syntax before expire check", nil, "SET k v EX 0 FOO", errSyntax),
		row("set syntax before integer check", nil, "SET k v EX abc NX XX", errSyntax),
		row("set keepttl after bad ex", nil, "SET k v EX abc KEEPTTL", errSyntax),
		row("set ex 0", nil, "SET k v EX 0", errExpire("set")),
		row("set ex negative", nil, "SET k v EX -1", errExpire("set")),
		row("set px 0", nil, "SET k v PX 0", errExpire("set")),
		row("set exat 0", nil, "SET k v EXAT 0", errExpire("set")),
		row("set pxat negative", nil, "SET k v PXAT -5", errExpire("set")),
		row("set ex overflow add", nil, "SET k v EX 9223372036854775", errExpire("set")),
		row("set ex overflow mul", nil, "SET k v EX 9223372036854776", errExpire("set")),
		row("set px overflow", nil, "SET k v PX 9223372036854775807", errExpire("set")),
		row("set exat overflow", nil, "SET k v EXAT 9223372036854776", errExpire("set")),
		{name: "set invalid expire before nx", setup: kv, steps: []step{{"SET k w NX EX 0", errExpire("set")}, {"GET k", `"v"`}}},
		{name: "set invalid expire before get", setup: kv, steps: []step{{"SET k w XX GET EX 0", errExpire("set")}}},
		row("set ex not integer", nil, "SET k v EX abc", errNotInt),
		row("set ex float", nil, "SET k v EX 1.5", errNotInt),
		row("set ex leading zero", nil, "SET k v EX 01", errNotInt),
		row("set ex plus", nil, "SET k v EX +1", errNotInt),
		row("set ex space", nil, `SET k v EX " 1"`, errNotInt),
		row("set ex too long", nil, "SET k v EX 99999999999999999999", errNotInt),
		row("set arity", nil, "SET k", errArity("set")),

		// GETSET
		{name: "getset missing", steps: []step{{"GETSET k v", "(nil)"}, {"GET k", `"v"`}}},
		{name: "getset clears ttl", setup: lines("SET k v EX 100"), steps: []step{{"GETSET k w", `"v"`}, {"TTL k", ":-1"}, {"GET k", `"w"`}}},
		row("getset arity", nil, "GETSET k", errArity("getset")),

		// MGET, MSET, MSETNX, SETNX
		row("mget", lines("SET a 1", "SET c 3"), "MGET a b c", `["1" (nil) "3"]`),
		row("mget one", lines("SET a 1"), "MGET a", `["1"]`),
		row("mget repeated", lines("SET a 1"), "MGET a a", `["1" "1"]`),
		row("mget expired", lines("SET a 1 PX 10", "@+11"), "MGET a", `[(nil)]`),
		{name: "mset", steps: []step{{"MSET a 1 b 2", "+OK"}, {"MGET a b", `["1" "2"]`}}},
		{name: "mset repeated key", steps: []step{{"MSET a 1 a 2", "+OK"}, {"GET a", `"2"`}}},
		{name: "mset clears ttl", setup: lines("SET a v EX 100"), steps: []step{{"MSET a 1", "+OK"}, {"TTL a", ":-1"}}},
		{name: "mset odd", steps: []step{{"MSET a 1 b", errArity("mset")}, {"EXISTS a", ":0"}}},
		row("mset arity", nil, "MSET a", errArity("mset")),
		{name: "msetnx new", steps: []step{{"MSETNX a 1 b 2", ":1"}, {"MGET a b", `["1" "2"]`}}},
		{name: "msetnx one exists", setup: lines("SET b x"), steps: []step{{"MSETNX a 1 b 2", ":0"}, {"MGET a b", `[(nil) "x"]`}}},
		{name: "msetnx expired", setup: lines("SET a x PX 10", "@+20"), steps: []step{{"MSETNX a 1", ":1"}, {"GET a", `"1"`}}},
		{name: "msetnx repeated key", steps: []step{{"MSETNX a 1 a 2", ":1"}, {"GET a", `"2"`}}},
		row("msetnx odd", nil, "MSETNX a 1 b", errArity("msetnx")),
		{name: "setnx missing", steps: []step{{"SETNX k v", ":1"}, {"GET k", `"v"`}}},
		{name: "setnx existing", setup: kv, steps: []step{{"SETNX k w", ":0"}, {"GET k", `"v"`}}},
		row("setnx arity", nil, "SETNX k v x", errArity("setnx")),

		// SETEX, PSETEX
		{name: "setex", steps: []step{{"SETEX k 10 v", "+OK"}, {"TTL k", ":10"}, {"GET k", `"v"`}}},
		{name: "psetex", steps: []step{{"PSETEX k 1500 v", "+OK"}, {"PTTL k", ":1500"}}},
		row("setex 0", nil, "SETEX k 0 v", errExpire("setex")),
		row("setex negative", nil, "SETEX k -1 v", errExpire("setex")),
		row("setex overflow", nil, "SETEX k 9223372036854776 v", errExpire("setex")),
		row("setex not integer", nil, "SETEX k abc v", errNotInt),
		row("psetex 0", nil, "PSETEX k 0 v", errExpire("psetex")),
		row("psetex overflow", nil, "PSETEX k 9223372036854775807 v", errExpire("psetex")),
		row("setex arity", nil, "SETEX k 10", errArity("setex")),

		// APPEND, STRLEN
		{name: "append", steps: []step{{"APPEND k abc", ":3"}, {"APPEND k de", ":5"}, {"GET k", `"abcde"`}}},
		{name: "append empty creates", steps: []step{{`APPEND k ""`, ":0"}, {"EXISTS k", ":1"}}},
		{name: "append keeps ttl", setup: lines("SET k v EX 100"), steps: []step{{"APPEND k x", ":2"}, {"TTL k", ":100"}}},
		{name: "append to expired", setup: lines("SET k old PX 10", "@+11"), steps: []step{{"APPEND k x", ":1"}, {"TTL k", ":-1"}}},
		row("strlen missing", nil, "STRLEN k", ":0"),
		row("strlen", hello, "STRLEN k", ":11"),
		row("strlen binary", lines(`SET k "\x00\x01"`), "STRLEN k", ":2"),

		// INCR, DECR, INCRBY, DECRBY
		{name: "incr missing", steps: []step{{"INCR k", ":1"}, {"GET k", `"1"`}}},
		row("incr", lines("SET k 10"), "INCR k", ":11"),
		row("incr negative", lines("SET k -1"), "INCR k", ":0"),
		row("incr zero", lines("SET k 0"), "INCR k", ":1"),
		row("decr missing", nil, "DECR k", ":-1"),
		row("incr abc", lines("SET k abc"), "INCR k", errNotInt),
		row("incr leading zero", lines("SET k 01"), "INCR k", errNotInt),
		row("incr plus", lines("SET k +1"), "INCR k", errNotInt),
		row("incr leading space", lines(`SET k " 1"`), "INCR k", errNotInt),
		row("incr trailing space", lines(`SET k "1 "`), "INCR k", errNotInt),
		row("incr float", lines("SET k 1.5"), "INCR k", errNotInt),
		row("incr empty", lines(`SET k ""`), "INCR k", errNotInt),
		row("incr minus zero", lines("SET k -0"), "INCR k", errNotInt),
		row("incr 20 digits", lines("SET k 99999999999999999999"), "INCR k", errNotInt),
		row("incr max", lines("SET k 9223372036854775807"), "INCR k", errOverflow),
		row("decr min", lines("SET k -9223372036854775808"), "DECR k", errOverflow),
		{name: "incr keeps ttl", setup: lines("SET k 1 EX 100"), steps: []step{{"INCR k", ":2"}, {"TTL k", ":100"}}},
		row("incrby", lines("SET k 10"), "INCRBY k 5", ":15"),
		row("incrby negative", lines("SET k 10"), "INCRBY k -15", ":-5"),
		row("incrby abc", nil, "INCRBY k abc", errNotInt),
		row("incrby leading zero", nil, "INCRBY k 01", errNotInt),
		row("incrby plus", nil, "INCRBY k +1", errNotInt),
		row("incrby overflow", lines("SET k 1"), "INCRBY k 9223372036854775807", errOverflow),
		row("incrby underflow", lines("SET k -1"), "INCRBY k -9223372036854775808", errOverflow),
		row("incrby to min", lines("SET k 0"), "INCRBY k -9223372036854775808", ":-9223372036854775808"),
		row("incrby out of range", nil, "INCRBY k 9223372036854775808", errNotInt),
		row("decrby", nil, "DECRBY k 5", ":-5"),
		row("decrby min", nil, "DECRBY k -9223372036854775808", "-ERR decrement would overflow"),
		row("decrby overflow", lines("SET k -2"), "DECRBY k 9223372036854775807", errOverflow),
		row("decrby max", lines("SET k 9223372036854775807"), "DECRBY k -1", errOverflow),
		row("incrby arity", nil, "INCRBY k", errArity("incrby")),

		// INCRBYFLOAT
		row("incrbyfloat missing", nil, "INCRBYFLOAT k 1.5", `"1.5"`),
		{name: "incrbyfloat 10.5+0.1", setup: lines("SET k 10.5"), steps: []step{{"INCRBYFLOAT k 0.1", `"10.6"`}, {"GET k", `"10.6"`}}},
		row("incrbyfloat 0.1+0.2", lines("SET k 0.1"), "INCRBYFLOAT k 0.2", `"0.3"`),
		row("incrbyfloat exponent value", lines("SET k 5.0e3"), "INCRBYFLOAT k 1", `"5001"`),
		row("incrbyfloat to zero", lines("SET k 3.0"), "INCRBYFLOAT k -3", `"0"`),
		row("incrbyfloat minus zero", nil, "INCRBYFLOAT k -0.0", `"0"`),
		row("incrbyfloat tiny negative", nil, "INCRBYFLOAT k -1e-20", `"0"`),
		row("incrbyfloat lost precision", lines("SET k 1"), "INCRBYFLOAT k 1e-20", `"1"`),
		row("incrbyfloat 17 decimals", lines("SET k 100"), "INCRBYFLOAT k 1e-17", `"100.00000000000000001"`),
		row("incrbyfloat long double", lines("SET k 1e17"), "INCRBYFLOAT k 0.5", `"100000000000000000.5"`),
		row("incrbyfloat beyond float64", lines("SET k 9007199254740993"), "INCRBYFLOAT k 0", `"9007199254740993"`),
		row("incrbyfloat keeps digits", lines("SET k 1.23456789012345678"), "INCRBYFLOAT k 0", `"1.23456789012345678"`),
		row("incrbyfloat hex value", lines("SET k 0x1p-3"), "INCRBYFLOAT k 0", `"0.125"`),
		row("incrbyfloat hex increment", lines("SET k 7"), "INCRBYFLOAT k 0x1.8p1", `"10"`),
		row("incrbyfloat hex integer", nil, "INCRBYFLOAT k 0x10", `"16"`),
		row("incrbyfloat plus sign", nil, "INCRBYFLOAT k +1.5", `"1.5"`),
		row("incrbyfloat leading dot", lines("SET k 1.5"), "INCRBYFLOAT k .5", `"2"`),
		row("incrbyfloat trailing dot", lines("SET k 2"), "INCRBYFLOAT k 5.", `"7"`),
		row("incrbyfloat integer value", lines("SET k 10"), "INCRBYFLOAT k 1", `"11"`),
		row("incrbyfloat subnormal", nil, "INCRBYFLOAT k 1e-4940", `"0"`),
		row("incrbyfloat zero exponent", nil, "INCRBYFLOAT k 0e-5000", `"0"`),
		{name: "incrbyfloat keeps ttl", setup: lines("SET k 1 EX 100"), steps: []step{{"INCRBYFLOAT k 1", `"2"`}, {"TTL k", ":100"}}},
		{name: "incrbyfloat abc value", setup: lines("SET k abc"), steps: []step{{"INCRBYFLOAT k 1", errNotFloat}, {"GET k", `"abc"`}}},
		row("incrbyfloat abc", nil, "INCRBYFLOAT k abc", errNotFloat),
		row("incrbyfloat leading space", nil, `INCRBYFLOAT k " 1"`, errNotFloat),
		row("incrbyfloat trailing space", nil, `INCRBYFLOAT k "1 "`, errNotFloat),
		row("incrbyfloat tab", nil, `INCRBYFLOAT k "\t1"`, errNotFloat),
		row("incrbyfloat empty", nil, `INCRBYFLOAT k ""`, errNotFloat),
		row("incrbyfloat nan", nil, "INCRBYFLOAT k NaN", errNotFloat),
		row("incrbyfloat binary exponent", nil, "INCRBYFLOAT k 1p3", errNotFloat),
		row("incrbyfloat underscore", nil, "INCRBYFLOAT k 1_0", errNotFloat),
		row("incrbyfloat 0b", nil, "INCRBYFLOAT k 0b101", errNotFloat),
		row("incrbyfloat 0o", nil, "INCRBYFLOAT k 0o7", errNotFloat),
		row("incrbyfloat bare 0x", nil, "INCRBYFLOAT k 0x", errNotFloat),
		row("incrbyfloat infin", nil, "INCRBYFLOAT k infin", errNotFloat),
		row("incrbyfloat overflow literal", nil, "INCRBYFLOAT k 1e5000", errNotFloat),
		row("incrbyfloat underflow literal", nil, "INCRBYFLOAT k 1e-5000", errNotFloat),
		row("incrbyfloat inf", nil, "INCRBYFLOAT k inf", errNaNInf),
		row("incrbyfloat INF", nil, "INCRBYFLOAT k INF", errNaNInf),
		row("incrbyfloat -infinity", nil, "INCRBYFLOAT k -InFiNiTy", errNaNInf),
		row("incrbyfloat inf value", lines("SET k inf"), "INCRBYFLOAT k 1", errNaNInf),
		row("incrbyfloat inf minus inf", lines("SET k -inf"), "INCRBYFLOAT k inf", errNaNInf),
		row("incrbyfloat overflow", lines("SET k 1.1897314953572317e4932"), "INCRBYFLOAT k 1e4931", errNaNInf),
		row("incrbyfloat max arg length", nil, "INCRBYFLOAT k "+strings.Repeat("0", 5118)+"1", `"1"`),
		row("incrbyfloat arg too long", nil, "INCRBYFLOAT k "+strings.Repeat("0", 5119)+"1", errNotFloat),

		// GETDEL
		row("getdel missing", nil, "GETDEL k", "(nil)"),
		{name: "getdel", setup: kv, steps: []step{{"GETDEL k", `"v"`}, {"EXISTS k", ":0"}}},
		row("getdel expired", lines("SET k v PX 5", "@+6"), "GETDEL k", "(nil)"),

		// GETEX
		row("getex missing", nil, "GETEX k", "(nil)"),
		row("getex missing bad expire", nil, "GETEX k EX 0", "(nil)"),
		row("getex missing not integer", nil, "GETEX k EX abc", "(nil)"),
		row("getex missing syntax", nil, "GETEX k FOO", errSyntax),
		{name: "getex plain", setup: lines("SET k v EX 100"), steps: []step{{"GETEX k", `"v"`}, {"TTL k", ":100"}}},
		{name: "getex ex", setup: kv, steps: []step{{"GETEX k EX 10", `"v"`}, {"TTL k", ":10"}}},
		{name: "getex px", setup: kv, steps: []step{{"GETEX k PX 1500", `"v"`}, {"PTTL k", ":1500"}}},
		{name: "getex exat", setup: kv, steps: []step{{"GETEX k EXAT 1700000010", `"v"`}, {"TTL k", ":10"}}},
		{name: "getex pxat", setup: kv, steps: []step{{"GETEX k PXAT 1700000000250", `"v"`}, {"PTTL k", ":250"}}},
		{name: "getex pxat now", setup: kv, steps: []step{{"GETEX k PXAT 1700000000000", `"v"`}, {"EXISTS k", ":0"}}},
		{name: "getex exat past", setup: kv, steps: []step{{"GETEX k EXAT 1", `"v"`}, {"EXISTS k", ":0"}}},
		{name: "getex persist", setup: lines("SET k v EX 100"), steps: []step{{"GETEX k PERSIST", `"v"`}, {"TTL k", ":-1"}}},
		{name: "getex persist twice", setup: lines("SET k v EX 100"), steps: []step{{"getex k persist PERSIST", `"v"`}, {"TTL k", ":-1"}}},
		{name: "getex ex repeated", setup: kv, steps: []step{{"GETEX k EX 10 EX 20", `"v"`}, {"TTL k", ":20"}}},
		row("getex ex 0", kv, "GETEX k EX 0", errExpire("getex")),
		row("getex ex negative", kv, "GETEX k EX -1", errExpire("getex")),
		row("getex px overflow", kv, "GETEX k PX 9223372036854775807", errExpire("getex")),
		row("getex ex overflow", kv, "GETEX k EX 9223372036854775807", errExpire("getex")),
		row("getex not integer", kv, "GETEX k EX abc", errNotInt),
		row("getex persist ex", kv, "GETEX k PERSIST EX 10", errSyntax),
		row("getex ex persist", kv, "GETEX k EX 10 PERSIST", errSyntax),
		row("getex ex px", kv, "GETEX k EX 10 PX 10", errSyntax),
		row("getex ex without value", kv, "GETEX k EX", errSyntax),
		row("getex keepttl", kv, "GETEX k KEEPTTL", errSyntax),
		row("getex nx", kv, "GETEX k NX", errSyntax),

		// GETRANGE, SUBSTR
		row("getrange prefix", hello, "GETRANGE k 0 4", `"Hello"`),
		row("getrange negative", hello, "GETRANGE k -5 -1", `"World"`),
		row("getrange all", hello, "GETRANGE k 0 -1", `"Hello World"`),
		row("getrange end past", hello, "GETRANGE k 6 100", `"World"`),
		row("getrange start after end", hello, "GETRANGE k 5 3", `""`),
		row("getrange negative reversed", hello, "GETRANGE k -1 -5", `""`),
		row("getrange start past", hello, "GETRANGE k 100 200", `""`),
		row("getrange both before start", hello, "GETRANGE k -100 -50", `"H"`),
		row("getrange end before start", hello, "GETRANGE k 0 -100", `"H"`),
		row("getrange last", hello, "GETRANGE k -1 -1", `"d"`),
		row("getrange missing", nil, "GETRANGE k 0 -1", `""`),
		row("getrange empty value", lines(`SET k ""`), "GETRANGE k 0 -1", `""`),
		row("getrange not integer", hello, "GETRANGE k a 1", errNotInt),
		row("getrange not integer end", nil, "GETRANGE k 0 1.0", errNotInt),
		row("substr", hello, "SUBSTR k 6 -1", `"World"`),
		row("substr arity", nil, "SUBSTR k 0", errArity("substr")),

		// SETRANGE
		{name: "setrange pads", steps: []step{{"SETRANGE k 5 abc", ":8"}, {"GET k", `"\x00\x00\x00\x00\x00abc"`}}},
		{name: "setrange inside", setup: hello, steps: []step{{"SETRANGE k 6 Redis", ":11"}, {"GET k", `"Hello Redis"`}}},
		{name: "setrange grows", setup: lines("SET k ab"), steps: []step{{"SETRANGE k 4 c", ":5"}, {"GET k", `"ab\x00\x00c"`}}},
		{name: "setrange empty missing", steps: []step{{`SETRANGE k 0 ""`, ":0"}, {"EXISTS k", ":0"}}},
		{name: "setrange empty existing", setup: lines("SET k abc"), steps: []step{{`SETRANGE k 100 ""`, ":3"}, {"GET k", `"abc"`}}},
		{name: "setrange keeps ttl", setup: lines("SET k abc EX 100"), steps: []step{{"SETRANGE k 1 X", ":3"}, {"GET k", `"aXc"`}, {"TTL k", ":100"}}},
		row("setrange negative", nil, "SETRANGE k -1 x", "-ERR offset is out of range"),
		row("setrange negative empty", nil, `SETRANGE k -1 ""`, "-ERR offset is out of range"),
		row("setrange not integer", nil, "SETRANGE k abc x", errNotInt),
		row("setrange too big", nil, "SETRANGE k 536870911 ab", errTooBig),
		row("setrange offset overflow", nil, "SETRANGE k 9223372036854775807 ab", errTooBig),
		row("setrange offset overflow existing", hello, "SETRANGE k 9223372036854775806 ab", errTooBig),
	}
}

func TestStringCommands(t *testing.T) { runCases(t, stringCases()) }

// TestIncrByFloatHuge checks a result far outside float64's range: Redis
// computes in long double and prints every digit ("%.17Lf").
func TestIncrByFloatHuge(t *testing.T) {
	want, err := os.ReadFile("testdata/incrbyfloat_1e4000.txt")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness()
	if got := h.do(t, "INCRBYFLOAT", "k", "1e4000"); got.Kind != fsm.KindBulk || string(got.Str) != string(want) {
		t.Fatalf("INCRBYFLOAT k 1e4000 = %.80s... (%d bytes), want %.80s... (%d bytes)", fmtValue(got), len(got.Str), want, len(want))
	}
	if got := fmtValue(h.do(t, "INCRBYFLOAT", "k", "-1e4000")); got != `"0"` {
		t.Fatalf("INCRBYFLOAT k -1e4000 = %s, want \"0\"", got)
	}
}

// TestIncrByFloatAgreesWithIncr: small integers stay exact through both.
func TestIncrByFloatAgreesWithIncr(t *testing.T) {
	h := newHarness()
	for n := int64(0); n < 400; n += 2 {
		got := h.do(t, "INCRBYFLOAT", "f", "1")
		if want := strconv.FormatInt(n+1, 10); got.Kind != fsm.KindBulk || string(got.Str) != want {
			t.Fatalf("INCRBYFLOAT to %d: %s", n+1, fmtValue(got))
		}
		if v := h.do(t, "INCR", "f"); v.Kind != fsm.KindInt || v.Int != n+2 {
			t.Fatalf("INCR after INCRBYFLOAT: %s", fmtValue(v))
		}
	}
}
