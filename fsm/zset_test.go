package fsm_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

func zsetCases() []tc {
	z := lines("ZADD z 1 a 2 b 3 c")
	const (
		errPositive = "-ERR value is out of range, must be positive"
		errNaN      = "-ERR resulting score is not a number (NaN)"
		errNXXX     = "-ERR XX and NX options at the same time are not compatible"
		errGTLT     = "-ERR GT, LT, and/or NX options at the same time are not compatible"
	)
	return []tc{
		// ZADD
		{name: "zadd", steps: []step{{"ZADD z 1 a 2 b", ":2"}, {"ZADD z 3 b 4 c", ":1"}, {"ZRANGE z 0 -1 WITHSCORES", `["a" ,1 "b" ,3 "c" ,4]`},
			{"TYPE z", "+zset"}}},
		{name: "zadd ties by member", steps: []step{{"ZADD z 1 c 1 a 1 b", ":3"}, {"ZRANGE z 0 -1", `["a" "b" "c"]`}}},
		{name: "zadd same member twice", steps: []step{{"ZADD z 1 a 2 a", ":1"}, {"ZSCORE z a", ",2"}}},
		{name: "zadd nx", setup: z, steps: []step{{"ZADD z NX 10 a 4 d", ":1"}, {"ZSCORE z a", ",1"}, {"ZSCORE z d", ",4"}}},
		{name: "zadd xx", setup: z, steps: []step{{"ZADD z XX 10 a 4 d", ":0"}, {"ZSCORE z a", ",10"}, {"ZSCORE z d", "(nil)"}}},
		{name: "zadd xx missing key", steps: []step{{"ZADD z XX 1 a", ":0"}, {"EXISTS z", ":0"}}},
		row("zadd xx incr missing key", nil, "ZADD z XX INCR 1 a", "(nil)"),
		{name: "zadd ch", setup: z, steps: []step{{"ZADD z CH 1 a 5 b 6 d", ":2"}, {"ZCARD z", ":4"}}},
		{name: "zadd gt", setup: z, steps: []step{{"ZADD z GT CH 0 a 5 b 1 d", ":2"}, {"ZRANGE z 0 -1 WITHSCORES", `["a" ,1 "d" ,1 "c" ,3 "b" ,5]`}}},
		{name: "zadd lt", setup: z, steps: []step{{"ZADD z LT CH 0 a 5 b", ":1"}, {"ZSCORE z a", ",0"}, {"ZSCORE z b", ",2"}}},
		{name: "zadd xx gt", setup: z, steps: []step{{"ZADD z XX GT 5 a 5 d", ":0"}, {"ZSCORE z a", ",5"}, {"ZCARD z", ":3"}}},
		{name: "zadd incr", setup: z, steps: []step{{"ZADD z INCR 2.5 a", ",3.5"}, {"ZADD z INCR 1 new", ",1"}}},
		row("zadd incr nx exists", z, "ZADD z INCR NX 1 a", "(nil)"),
		row("zadd incr xx missing member", z, "ZADD z INCR XX 1 d", "(nil)"),
		row("zadd incr gt lower", z, "ZADD z INCR GT -1 b", "(nil)"),
		row("zadd incr zero", z, "ZADD z INCR 0 b", ",2"),
		{name: "zadd incr inf", setup: z, steps: []step{{"ZADD z INCR inf a", ",inf"}, {"ZADD z INCR -inf a", errNaN}, {"ZSCORE z a", ",inf"}}},
		row("zadd nx xx", z, "ZADD z NX XX 1 a", errNXXX),
		row("zadd gt lt", z, "ZADD z GT LT 1 a", errGTLT),
		row("zadd nx gt", z, "ZADD z NX GT 1 a", errGTLT),
		row("zadd nx lt", z, "ZADD z LT NX 1 a", errGTLT),
		row("zadd incr two pairs", z, "ZADD z INCR 1 a 2 b", "-ERR INCR option supports a single increment-element pair"),
		row("zadd odd", z, "ZADD z 1 a 2", errSyntax),
		row("zadd unknown option", z, "ZADD z FOO 1 a", errSyntax),
		row("zadd options only", z, "ZADD z NX XX CH", errSyntax),
		row("zadd syntax before conflict", z, "ZADD z NX XX 1", errSyntax),
		row("zadd bad score", z, "ZADD z x a", errNotFloat),
		row("zadd nan", z, "ZADD z nan a", errNotFloat),
		row("zadd score overflow", z, "ZADD z 1e400 a", errNotFloat),
		row("zadd score underflow", z, "ZADD z 1e-400 a", errNotFloat),
		row("zadd score space", z, `ZADD z " 1" a`, errNotFloat),
		row("zadd score trailing", z, `ZADD z "1 " a`, errNotFloat),
		row("zadd score empty", z, `ZADD z "" a`, errNotFloat),
		row("zadd bad score checked first", lines("SET z x"), "ZADD z x a", errNotFloat),
		{name: "zadd score forms", steps: []step{{"ZADD z +inf a -INF b 1e2 c .5 d 5. e 0x10 f -0 g +1.5e-3 h", ":8"},
			{"ZRANGE z 0 -1 WITHSCORES", `["b" ,-inf "g" ,0 "h" ,0.0015 "d" ,0.5 "e" ,5 "f" ,16 "c" ,100 "a" ,inf]`}}},
		{name: "zadd denormal (7.2)", steps: []step{{"ZADD z 1e-310 a", ":1"}, {"ZSCORE z a", ",1e-310"}}},
		{name: "zadd negative zero equals zero", setup: lines("ZADD z 0 a"), steps: []step{{"ZADD z CH -0 a", ":0"}, {"ZSCORE z a", ",0"}}},
		{name: "zadd keeps ttl", setup: lines("ZADD z 1 a", "EXPIRE z 100"), steps: []step{{"ZADD z 2 b", ":1"}, {"TTL z", ":100"}}},

		// ZINCRBY
		{name: "zincrby", setup: z, steps: []step{{"ZINCRBY z 10 a", ",11"}, {"ZINCRBY z -0.5 new", ",-0.5"}, {"ZRANGE z 0 0", `["new"]`}}},
		row("zincrby bad", z, "ZINCRBY z x a", errNotFloat),
		row("zincrby nan", z, "ZINCRBY z nan a", errNotFloat),
		{name: "zincrby to nan", setup: lines("ZADD z inf a"), steps: []step{{"ZINCRBY z -inf a", errNaN}, {"ZSCORE z a", ",inf"}}},
		{name: "zincrby decimal (7.2)", setup: z, steps: []step{{"ZINCRBY z 0.1 a", ",1.1"}, {"ZINCRBY z 0.2 a", ",1.3"}, {"ZINCRBY z 0.1 x", ",0.1"}, {"ZINCRBY z 0.2 x", ",0.30000000000000004"}}},

		// ZREM, ZCARD, ZSCORE, ZMSCORE
		{name: "zrem", setup: z, steps: []step{{"ZREM z a z b", ":2"}, {"ZRANGE z 0 -1", `["c"]`}}},
		{name: "zrem last deletes", setup: lines("ZADD z 1 a"), steps: []step{{"ZREM z a", ":1"}, {"EXISTS z", ":0"}}},
		row("zrem missing", nil, "ZREM z a", ":0"),
		row("zcard", z, "ZCARD z", ":3"),
		row("zcard missing", nil, "ZCARD z", ":0"),
		row("zscore", lines("ZADD z 1.5 a"), "ZSCORE z a", ",1.5"),
		row("zscore integer", lines("ZADD z 100 a"), "ZSCORE z a", ",100"),
		row("zscore big integer (7.2)", lines("ZADD z 1e18 a"), "ZSCORE z a", ",1000000000000000000"),
		row("zscore huge (7.2)", lines("ZADD z 1e20 a"), "ZSCORE z a", ",1e+20"),
		row("zscore tiny (7.2)", lines("ZADD z 1e-7 a"), "ZSCORE z a", ",1e-7"),
		row("zscore decimal (7.2)", lines("ZADD z 1.1 a"), "ZSCORE z a", ",1.1"),
		row("zscore negative zero listpack", lines("ZADD z -0 a"), "ZSCORE z a", ",0"),
		row("zscore negative zero skiplist", lines("ZADD z -0 "+strings.Repeat("x", 65)), "ZSCORE z "+strings.Repeat("x", 65), ",-0"),
		{name: "zunionstore negative zero", setup: lines("ZADD z -0 " + strings.Repeat("x", 65)), steps: []step{
			{"ZUNIONSTORE d 1 z", ":1"}, {"ZSCORE d " + strings.Repeat("x", 65), ",-0"}, {"ZUNIONSTORE d 1 z WEIGHTS 1", ":1"}}},
		row("zscore missing member", z, "ZSCORE z x", "(nil)"),
		row("zscore missing key", nil, "ZSCORE z a", "(nil)"),
		row("zmscore", z, "ZMSCORE z a x c", `[,1 (nil) ,3]`),
		row("zmscore missing key", nil, "ZMSCORE z a b", `[(nil) (nil)]`),

		// ZRANK, ZREVRANK
		row("zrank", z, "ZRANK z b", ":1"),
		row("zrevrank", z, "ZREVRANK z b", ":1"),
		row("zrevrank top", z, "ZREVRANK z c", ":0"),
		row("zrank missing member", z, "ZRANK z x", "(nil)"),
		row("zrank missing key", nil, "ZRANK z a", "(nil)"),
		// Redis 7.0 (the reference): ZRANK takes no WITHSCORE (a 7.2 option).
		row("zrank withscore is 7.2", z, "ZRANK z c WITHSCORE", errArity("zrank")),
		row("zrevrank withscore is 7.2", z, "ZREVRANK z c withscore", errArity("zrevrank")),

		// ZPOPMIN, ZPOPMAX
		{name: "zpopmin", setup: z, steps: []step{{"ZPOPMIN z", `["a" ,1]`}, {"ZCARD z", ":2"}}},
		row("zpopmax", z, "ZPOPMAX z", `["c" ,3]`),
		row("zpopmin count", z, "ZPOPMIN z 2", `["a" ,1 "b" ,2]`),
		{name: "zpopmax count all", setup: z, steps: []step{{"ZPOPMAX z 10", `["c" ,3 "b" ,2 "a" ,1]`}, {"EXISTS z", ":0"}}},
		row("zpopmin missing", nil, "ZPOPMIN z", `[]`),
		row("zpopmin count missing", nil, "ZPOPMIN z 2", `[]`),
		row("zpopmin count 0", z, "ZPOPMIN z 0", `[]`),
		row("zpopmin count 0 wrong type", lines("SET z x"), "ZPOPMIN z 0", errWrongType),
		row("zpopmin negative", z, "ZPOPMIN z -1", errPositive),
		row("zpopmin bad count", z, "ZPOPMIN z x", errPositive),
		row("zpopmin extra", z, "ZPOPMIN z 1 2", errSyntax),

		// ZRANDMEMBER (random picks: TestRandomCommands)
		row("zrandmember missing", nil, "ZRANDMEMBER z", "(nil)"),
		row("zrandmember one", lines("ZADD z 1 a"), "ZRANDMEMBER z", `"a"`),
		row("zrandmember all", z, "ZRANDMEMBER z 5 WITHSCORES", `["c" ,3 "b" ,2 "a" ,1]`),
		row("zrandmember negative one", lines("ZADD z 1 a"), "ZRANDMEMBER z -2 WITHSCORES", `["a" ,1 "a" ,1]`),
		row("zrandmember count 0", z, "ZRANDMEMBER z 0", `[]`),
		row("zrandmember count missing", nil, "ZRANDMEMBER z 2", `[]`),
		row("zrandmember bad option", z, "ZRANDMEMBER z 1 WITHVALUES", errSyntax),
		row("zrandmember too negative", z, "ZRANDMEMBER z -4611686018427387904 WITHSCORES", "-ERR value is out of range"),
		row("zrandmember min", z, "ZRANDMEMBER z -9223372036854775808",
			"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),

		// ZSCAN
		row("zscan", lines("ZADD z 1.5 a 2 b"), "ZSCAN z 0", `["0" ["a" "1.5" "b" "2"]]`),
		row("zscan match", z, "ZSCAN z 0 MATCH b", `["0" ["b" "2"]]`),
		row("zscan missing", nil, "ZSCAN z 0", `["0" []]`),
		row("zscan bad cursor", z, "ZSCAN z -x", "-ERR invalid cursor"),
	}
}

func TestZsetCommands(t *testing.T) { runCases(t, zsetCases()) }

func zrangeCases() []tc {
	z := lines("ZADD z 1 a 2 b 3 c 4 d 5 e")
	lex := lines("ZADD z 0 a 0 b 0 c 0 d 0 e")
	return []tc{
		// By rank
		row("zrange", z, "ZRANGE z 0 -1", `["a" "b" "c" "d" "e"]`),
		row("zrange withscores", z, "ZRANGE z 1 2 WITHSCORES", `["b" ,2 "c" ,3]`),
		row("zrange negative", z, "ZRANGE z -2 -1", `["d" "e"]`),
		row("zrange out of range", z, "ZRANGE z 5 10", `[]`),
		row("zrange reversed", z, "ZRANGE z 3 1", `[]`),
		row("zrange clamp", z, "ZRANGE z -100 100", `["a" "b" "c" "d" "e"]`),
		row("zrange rev", z, "ZRANGE z 0 1 REV", `["e" "d"]`),
		row("zrevrange", z, "ZREVRANGE z 1 -2 WITHSCORES", `["d" ,4 "c" ,3 "b" ,2]`),
		row("zrange missing", nil, "ZRANGE z 0 -1", `[]`),
		row("zrange bad index", z, "ZRANGE z x 1", errNotInt),
		row("zrange limit by rank", z, "ZRANGE z 0 1 LIMIT 0 1",
			"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
		row("zrange unknown option", z, "ZRANGE z 0 1 FOO", errSyntax),
		row("zrange byscore bylex", z, "ZRANGE z 0 1 BYSCORE BYLEX", errSyntax),
		row("zrange rev twice", z, "ZRANGE z 0 1 REV REV", errSyntax),
		row("zrevrange rev", z, "ZREVRANGE z 0 1 REV", errSyntax),
		row("zrange limit short", z, "ZRANGE z 0 1 BYSCORE LIMIT 0", errSyntax),
		row("zrange limit bad", z, "ZRANGE z 0 1 BYSCORE LIMIT x 1", errNotInt),

		// By score
		row("zrange byscore", z, "ZRANGE z 2 4 BYSCORE", `["b" "c" "d"]`),
		row("zrange byscore exclusive", z, "ZRANGE z (2 (4 BYSCORE", `["c"]`),
		row("zrange byscore inf", z, "ZRANGE z -inf +inf BYSCORE WITHSCORES", `["a" ,1 "b" ,2 "c" ,3 "d" ,4 "e" ,5]`),
		row("zrange byscore rev", z, "ZRANGE z 4 2 BYSCORE REV", `["d" "c" "b"]`),
		row("zrange byscore limit", z, "ZRANGE z -inf +inf BYSCORE LIMIT 1 2", `["b" "c"]`),
		row("zrange byscore rev limit", z, "ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2", `["d" "c"]`),
		row("zrange byscore negative limit", z, "ZRANGE z -inf +inf BYSCORE LIMIT 3 -1", `["d" "e"]`),
		row("zrange byscore negative offset", z, "ZRANGE z -inf +inf BYSCORE LIMIT -1 2", `[]`),
		row("zrange byscore offset past", z, "ZRANGE z -inf +inf BYSCORE LIMIT 5 2", `[]`),
		row("zrange byscore limit 0", z, "ZRANGE z -inf +inf BYSCORE LIMIT 0 0", `[]`),
		row("zrange byscore empty range", z, "ZRANGE z 3 2 BYSCORE", `[]`),
		row("zrange byscore equal exclusive", z, "ZRANGE z (3 3 BYSCORE", `[]`),
		row("zrangebyscore", z, "ZRANGEBYSCORE z 2 (4 WITHSCORES", `["b" ,2 "c" ,3]`),
		row("zrangebyscore limit", z, "ZRANGEBYSCORE z -inf inf WITHSCORES LIMIT 4 10", `["e" ,5]`),
		row("zrevrangebyscore", z, "ZREVRANGEBYSCORE z 4 2", `["d" "c" "b"]`),
		row("zrevrangebyscore limit", z, "ZREVRANGEBYSCORE z +inf -inf LIMIT 0 2 WITHSCORES", `["e" ,5 "d" ,4]`),
		row("zrangebyscore bad", z, "ZRANGEBYSCORE z x 1", "-ERR min or max is not a float"),
		row("zrangebyscore bracket", z, "ZRANGEBYSCORE z [1 2", "-ERR min or max is not a float"),
		row("zrangebyscore nan", z, "ZRANGEBYSCORE z nan 2", "-ERR min or max is not a float"),
		row("zrangebyscore empty is zero", lines("ZADD z 0 a 1 b"), `ZRANGEBYSCORE z "" ""`, `["a"]`),
		row("zrangebyscore open empty", lines("ZADD z 0 a 1 b"), `ZRANGEBYSCORE z "(" 1`, `["b"]`),
		row("zrangebyscore leading space", z, `ZRANGEBYSCORE z " 2" 2`, `["b"]`),
		row("zrangebyscore huge", z, "ZRANGEBYSCORE z 4 1e400", `["d" "e"]`),
		row("zrangebyscore rev option", z, "ZRANGEBYSCORE z 1 2 REV", errSyntax),
		row("zrangebyscore missing", nil, "ZRANGEBYSCORE z 1 2", `[]`),
		row("zrangebyscore bad before key", lines("SET z x"), "ZRANGEBYSCORE z x 1", "-ERR min or max is not a float"),

		// By lex
		row("zrange bylex", lex, "ZRANGE z [b (d BYLEX", `["b" "c"]`),
		row("zrange bylex all", lex, "ZRANGE z - + BYLEX", `["a" "b" "c" "d" "e"]`),
		row("zrange bylex rev", lex, "ZRANGE z (d - BYLEX REV", `["c" "b" "a"]`),
		row("zrange bylex limit", lex, "ZRANGE z - + BYLEX LIMIT 1 2", `["b" "c"]`),
		row("zrange bylex withscores", lex, "ZRANGE z - + BYLEX WITHSCORES",
			"-ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
		row("zrangebylex", lex, "ZRANGEBYLEX z [aa [c", `["b" "c"]`),
		row("zrangebylex empty bound", lex, `ZRANGEBYLEX z "[" (b`, `["a"]`),
		row("zrangebylex minus minus", lex, "ZRANGEBYLEX z - -", `[]`),
		row("zrangebylex plus minus", lex, "ZRANGEBYLEX z + -", `[]`),
		row("zrevrangebylex", lex, "ZREVRANGEBYLEX z + [c", `["e" "d" "c"]`),
		row("zrevrangebylex limit", lex, "ZREVRANGEBYLEX z + - LIMIT 1 1", `["d"]`),
		row("zrangebylex bad", lex, "ZRANGEBYLEX z a c", "-ERR min or max not valid string range item"),
		row("zrangebylex empty", lex, `ZRANGEBYLEX z "" c`, "-ERR min or max not valid string range item"),
		row("zrangebylex plus extra", lex, `ZRANGEBYLEX z +a c`, "-ERR min or max not valid string range item"),
		row("zrangebylex withscores", lex, "ZRANGEBYLEX z - + WITHSCORES",
			"-ERR syntax error, WITHSCORES not supported in combination with BYLEX"),

		// ZCOUNT, ZLEXCOUNT
		row("zcount", z, "ZCOUNT z 2 4", ":3"),
		row("zcount exclusive", z, "ZCOUNT z (2 (4", ":1"),
		row("zcount all", z, "ZCOUNT z -inf +inf", ":5"),
		row("zcount empty", z, "ZCOUNT z 4 2", ":0"),
		row("zcount missing", nil, "ZCOUNT z 0 1", ":0"),
		row("zcount bad", z, "ZCOUNT z x 1", "-ERR min or max is not a float"),
		row("zlexcount", lex, "ZLEXCOUNT z [b +", ":4"),
		row("zlexcount all", lex, "ZLEXCOUNT z - +", ":5"),
		row("zlexcount bad", lex, "ZLEXCOUNT z b +", "-ERR min or max not valid string range item"),

		// ZREMRANGEBY*
		{name: "zremrangebyrank", setup: z, steps: []step{{"ZREMRANGEBYRANK z 1 2", ":2"}, {"ZRANGE z 0 -1", `["a" "d" "e"]`}}},
		{name: "zremrangebyrank negative", setup: z, steps: []step{{"ZREMRANGEBYRANK z -2 -1", ":2"}, {"ZCARD z", ":3"}}},
		{name: "zremrangebyrank all deletes", setup: z, steps: []step{{"ZREMRANGEBYRANK z 0 -1", ":5"}, {"EXISTS z", ":0"}}},
		row("zremrangebyrank empty", z, "ZREMRANGEBYRANK z 3 1", ":0"),
		row("zremrangebyrank bad", z, "ZREMRANGEBYRANK z x 1", errNotInt),
		row("zremrangebyrank missing", nil, "ZREMRANGEBYRANK z 0 1", ":0"),
		{name: "zremrangebyscore", setup: z, steps: []step{{"ZREMRANGEBYSCORE z (1 3", ":2"}, {"ZRANGE z 0 -1", `["a" "d" "e"]`}}},
		row("zremrangebyscore none", z, "ZREMRANGEBYSCORE z 10 20", ":0"),
		row("zremrangebyscore bad", z, "ZREMRANGEBYSCORE z 1 x", "-ERR min or max is not a float"),
		{name: "zremrangebylex", setup: lex, steps: []step{{"ZREMRANGEBYLEX z [b (d", ":2"}, {"ZRANGE z 0 -1", `["a" "d" "e"]`}}},
		row("zremrangebylex bad", lex, "ZREMRANGEBYLEX z b d", "-ERR min or max not valid string range item"),

		// ZUNIONSTORE, ZINTERSTORE
		{name: "zunionstore", setup: lines("ZADD a 1 x 2 y", "ZADD b 10 y 20 z"), steps: []step{
			{"ZUNIONSTORE d 2 a b", ":3"}, {"ZRANGE d 0 -1 WITHSCORES", `["x" ,1 "y" ,12 "z" ,20]`}}},
		{name: "zunionstore weights", setup: lines("ZADD a 1 x 2 y", "ZADD b 10 y 20 z"), steps: []step{
			{"ZUNIONSTORE d 2 a b WEIGHTS 2 0.5", ":3"}, {"ZRANGE d 0 -1 WITHSCORES", `["x" ,2 "y" ,9 "z" ,10]`}}},
		{name: "zunionstore min", setup: lines("ZADD a 1 x 2 y", "ZADD b 10 y 20 z"), steps: []step{
			{"ZUNIONSTORE d 2 a b AGGREGATE MIN", ":3"}, {"ZSCORE d y", ",2"}}},
		{name: "zunionstore max", setup: lines("ZADD a 1 x 2 y", "ZADD b 10 y 20 z"), steps: []step{
			{"ZUNIONSTORE d 2 a b aggregate max weights 1 -1", ":3"}, {"ZRANGE d 0 -1 WITHSCORES", `["z" ,-20 "x" ,1 "y" ,2]`}}},
		{name: "zunionstore with set", setup: lines("ZADD a 5 x", "SADD s x y"), steps: []step{
			{"ZUNIONSTORE d 2 a s", ":2"}, {"ZRANGE d 0 -1 WITHSCORES", `["y" ,1 "x" ,6]`}}},
		{name: "zunionstore inf", setup: lines("ZADD a inf x", "ZADD b -inf x"), steps: []step{
			{"ZUNIONSTORE d 2 a b", ":1"}, {"ZSCORE d x", ",0"}}},
		{name: "zunionstore zero weight inf", setup: lines("ZADD a inf x"), steps: []step{
			{"ZUNIONSTORE d 1 a WEIGHTS 0", ":1"}, {"ZSCORE d x", ",0"}}},
		{name: "zunionstore missing deletes", setup: lines("SET d x"), steps: []step{{"ZUNIONSTORE d 1 nope", ":0"}, {"EXISTS d", ":0"}}},
		{name: "zunionstore onto source", setup: lines("ZADD a 1 x", "ZADD b 2 x"), steps: []step{
			{"ZUNIONSTORE a 2 a b", ":1"}, {"ZSCORE a x", ",3"}}},
		{name: "zunionstore drops ttl", setup: lines("ZADD a 1 x", "SET d v EX 100"), steps: []step{{"ZUNIONSTORE d 1 a", ":1"}, {"TTL d", ":-1"}}},
		{name: "zinterstore", setup: lines("ZADD a 1 x 2 y 3 w", "ZADD b 10 y 20 z 30 w"), steps: []step{
			{"ZINTERSTORE d 2 a b", ":2"}, {"ZRANGE d 0 -1 WITHSCORES", `["y" ,12 "w" ,33]`}}},
		{name: "zinterstore max", setup: lines("ZADD a 1 x 2 y", "ZADD b 10 y"), steps: []step{
			{"ZINTERSTORE d 2 a b AGGREGATE MAX", ":1"}, {"ZSCORE d y", ",10"}}},
		{name: "zinterstore same key", setup: lines("ZADD a 1 x 2 y"), steps: []step{
			{"ZINTERSTORE d 2 a a WEIGHTS 1 3", ":2"}, {"ZRANGE d 0 -1 WITHSCORES", `["x" ,4 "y" ,8]`}}},
		{name: "zinterstore empty deletes", setup: lines("ZADD a 1 x", "ZADD b 1 y", "SET d v"), steps: []step{
			{"ZINTERSTORE d 2 a b", ":0"}, {"EXISTS d", ":0"}}},
		row("zinterstore missing", lines("ZADD a 1 x"), "ZINTERSTORE d 2 a nope", ":0"),
		row("zunionstore numkeys 0", nil, "ZUNIONSTORE d 0 a", "-ERR at least 1 input key is needed for 'zunionstore' command"),
		row("zinterstore numkeys negative", nil, "ZINTERSTORE d -1 a", "-ERR at least 1 input key is needed for 'zinterstore' command"),
		row("zunionstore numkeys bad", nil, "ZUNIONSTORE d x a", errNotInt),
		row("zunionstore numkeys too many", nil, "ZUNIONSTORE d 2 a", errSyntax),
		row("zunionstore weights short", lines("ZADD a 1 x"), "ZUNIONSTORE d 1 a WEIGHTS", errSyntax),
		row("zunionstore weights bad", lines("ZADD a 1 x"), "ZUNIONSTORE d 1 a WEIGHTS x", "-ERR weight value is not a float"),
		row("zunionstore weights too many", lines("ZADD a 1 x"), "ZUNIONSTORE d 1 a WEIGHTS 1 2", errSyntax),
		row("zunionstore aggregate bad", lines("ZADD a 1 x"), "ZUNIONSTORE d 1 a AGGREGATE AVG", errSyntax),
		row("zunionstore unknown option", lines("ZADD a 1 x"), "ZUNIONSTORE d 1 a WITHSCORES", errSyntax),
		row("zunionstore string source", lines("SET a x"), "ZUNIONSTORE d 1 a", errWrongType),
		row("zunionstore wrongtype before options", lines("SET a x"), "ZUNIONSTORE d 1 a FOO", errWrongType),
	}
}

func TestZrangeCommands(t *testing.T) { runCases(t, zrangeCases()) }

// TestZsetEncoding: listpack up to 128 members of up to 64 bytes; ZADD
// with more pairs converts up front; *STORE results go back to a listpack.
func TestZsetEncoding(t *testing.T) {
	h := newHarness()
	for i := range 128 {
		h.do(t, "ZADD", "z", fmt.Sprint(i), fmt.Sprint("m", i))
	}
	mustEncoding(t, h, "z", "listpack")
	h.do(t, "ZADD", "z", "1", "m128")
	mustEncoding(t, h, "z", "skiplist")
	h.do(t, "ZREMRANGEBYRANK", "z", "0", "100")
	mustEncoding(t, h, "z", "skiplist")
	h.do(t, "ZUNIONSTORE", "u", "1", "z")
	mustEncoding(t, h, "u", "listpack")
	h.do(t, "ZADD", "long", "1", strings.Repeat("x", 65))
	mustEncoding(t, h, "long", "skiplist")
	h.do(t, "ZADD", "short", "1", "a")
	h.do(t, "ZADD", "short", "1", strings.Repeat("x", 65))
	mustEncoding(t, h, "short", "skiplist")
	// ZSCAN of a skiplist shows scores as %.17g, as Redis does.
	h.do(t, "ZADD", "long", "1.1", "b")
	v := h.do(t, "ZSCAN", "long", "0", "MATCH", "b")
	if got := fmtValue(v.Arr[1]); got != `["b" "1.1000000000000001"]` {
		t.Fatalf("ZSCAN of a skiplist: %s", got)
	}
}

// TestFormatFloat checks Redis 7.2's d2string layout.
func TestFormatFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "-0", 1: "1", -1.5: "-1.5", 0.1: "0.1", 1e15: "1000000000000000",
		4611686018427387904: "4611686018427387904", 1e19: "1e+19", 1e18: "1000000000000000000", 1.5e20: "1.5e+20",
		0.001: "0.001", 1e-6: "0.000001", 1.5e-6: "1.5e-6", 1e-7: "1e-7", 1.2345678e-5: "1.2345678e-5", 1.5e-5: "0.000015",
		123456789.125: "123456789.125", math.Inf(1): "inf", math.Inf(-1): "-inf", 5e-324: "5e-324",
		1.7976931348623157e308: "1.7976931348623157e+308", 1e100: "1e+100", 12345.678e-10: "1.2345678e-6",
	} {
		if got := fsm.FormatFloat(f); got != want {
			t.Errorf("FormatFloat(%v) = %q, want %q", f, got, want)
		}
	}
}
