package fsm_test

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/conftab"
	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/fsm/internal/redistest"
)

// TestTablesAgainstRedis replays the command tables against a real Redis 7
// and checks that Redis gives the replies the tables expect, so the tables
// are Redis's word and not ours. It starts a scratch redis-server (or uses
// the one UNDERSTUDY_REDIS_ADDR names; it runs FLUSHALL there).
//
// Cases that move the harness clock or depend on its absolute value are
// skipped: a real server's clock cannot be set.
func TestTablesAgainstRedis(t *testing.T) {
	send, addr := dialRedis(t)
	all := allCases()
	old := redisOlderThan72(t, send)
	ran := 0
	for _, c := range all {
		if clockBound(c) || (old && strings.Contains(c.name, "(7.2)")) {
			continue
		}
		ran++
		t.Run(c.name, func(t *testing.T) {
			send(t, []string{"FLUSHALL"})
			send(t, []string{"SELECT", "0"})
			for _, s := range c.setup {
				if rest, ok := strings.CutPrefix(s, "CONFIG! "); ok {
					args := splitArgs(t, rest)
					s = "CONFIG SET " + rest
					defer func() { // FLUSHALL keeps settings: put back the default
						p := conftab.Lookup(args[0])
						send(t, []string{"CONFIG", "SET", args[0], p.Default})
					}()
				}
				if got := fmtValue(send(t, splitArgs(t, s))); strings.HasPrefix(got, "-") {
					t.Fatalf("setup %q: %s", s, got)
				}
			}
			for _, s := range c.steps {
				line, sorted := strings.CutPrefix(s.cmd, "~")
				v := send(t, splitArgs(t, line))
				if sorted {
					v = sortReply(v)
				}
				if got, want := fmtValue(v), resp2Want(s.want); got != want {
					t.Errorf("%s\nredis: %s\ntable: %s", s.cmd, got, want)
				}
			}
		})
	}
	t.Logf("checked %d of %d cases against %s", ran, len(all), addr)
}

// allCases is every command table.
func allCases() []tc {
	var all []tc
	for _, cs := range [][]tc{stringCases(), keyCases(), arityCases(), hashCases(), listCases(),
		setCases(), zsetCases(), zrangeCases(), objectCases(), wrongTypeCases(), dbCases(),
		bitmapCases(), hllCases(), geoCases()} {
		all = append(all, cs...)
	}
	return all
}

// redisOlderThan72 reports whether the server predates Redis 7.2, whose
// new behaviours (OBJECT ENCODING listpack for lists and sets, ZRANK
// WITHSCORE, shortest doubles) the "(7.2)" cases expect.
func redisOlderThan72(t *testing.T, send func(t *testing.T, args []string) fsm.Value) bool {
	info := string(send(t, []string{"INFO", "server"}).Str)
	_, rest, _ := strings.Cut(info, "redis_version:")
	ver, _, _ := strings.Cut(rest, "\r\n")
	var major, minor int
	fmt.Sscanf(ver, "%d.%d", &major, &minor)
	old := major < 7 || (major == 7 && minor < 2)
	if old {
		t.Logf("Redis %s: skipping the cases for 7.2 behaviour", ver)
	}
	return old
}

// dialRedis connects to UNDERSTUDY_REDIS_ADDR, or to a scratch redis-server
// the test starts (redistest: a failure under CI when none is installed).
func dialRedis(t *testing.T) (send func(t *testing.T, args []string) fsm.Value, addr string) {
	addr = os.Getenv("UNDERSTUDY_REDIS_ADDR")
	if addr == "" {
		addr = redistest.Start(t).Options().Addr
	}
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	return func(t *testing.T, args []string) fsm.Value {
		t.Helper()
		// Generous: PFSELFTEST alone takes seconds on a loaded two-core machine.
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
		var sb strings.Builder
		fmt.Fprintf(&sb, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&sb, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := conn.Write([]byte(sb.String())); err != nil {
			t.Fatal(err)
		}
		v, err := readResp2(r)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}, addr
}

// TestRandomAgainstRedis sends the same random commands, many of them
// malformed, to the FSM (at the wall clock) and to Redis, and compares the
// replies. Like TestTablesAgainstRedis it needs UNDERSTUDY_REDIS_ADDR;
// UNDERSTUDY_SEED picks the commands.
func TestRandomAgainstRedis(t *testing.T) {
	send, _ := dialRedis(t)
	old := redisOlderThan72(t, send)
	seed := propertySeed(t)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	g := &cmdGen{rng: rng, long: true}
	f := newHarness().f // at cluster level 2, as a new cluster runs
	idx := uint64(0)
	run := func(now int64, args []string) {
		var v fsm.Value
		if c := fsm.Lookup([]byte(args[0])); c != nil && c.IsWrite() {
			idx++
			v = f.ApplyEntry(idx, &fsm.Entry{Type: fsm.EntryBatch, Time: now, Cmds: []fsm.Cmd{{Argv: bargs(args)}}})[0]
		} else {
			v = f.Read(0, now, 1, bargs(args))
		}
		rv := send(t, args)
		// The geo commands print their doubles as 7.0.15 does already
		// (coordinates as long doubles with 17 decimals, distances with 4);
		// doublesAs70 is for the doubles printed the 7.2 way.
		if old && !strings.HasPrefix(strings.ToUpper(args[0]), "GEO") {
			v = doublesAs70(v)
		}
		if got, want := fmtValue(sortReply(asResp2(v))), fmtValue(sortReply(rv)); got != want {
			// TTLs may differ by the time between the two calls.
			switch strings.ToUpper(args[0]) {
			case "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME":
				if v.Kind == fsm.KindInt && rv.Kind == fsm.KindInt && v.Int-rv.Int <= 20 && rv.Int-v.Int <= 20 {
					return
				}
			}
			t.Errorf("%q\n  fsm: %s\nredis: %s", args, got, want)
		}
	}
	send(t, []string{"FLUSHALL"})
	names := strings.Fields("get set getset mget mset msetnx setnx setex psetex append strlen incr decr incrby decrby incrbyfloat getdel getex getrange substr setrange del unlink exists type expire pexpire expireat pexpireat ttl pttl expiretime pexpiretime persist rename renamenx keys" +
		" hset hmset hsetnx hget hmget hdel hexists hlen hstrlen hkeys hvals hgetall hincrby hincrbyfloat" +
		" lpush rpush lpushx rpushx lpop rpop llen lrange lindex lset linsert lrem ltrim lpos lmove rpoplpush" +
		" sadd srem smembers sismember smismember scard smove sinter sinterstore sintercard sunion sunionstore sdiff sdiffstore" +
		" zadd zincrby zrem zscore zmscore zcard zcount zlexcount zrank zrevrank zrange zrevrange zrangebyscore zrevrangebyscore" +
		" zrangebylex zrevrangebylex zpopmin zpopmax zremrangebyrank zremrangebyscore zremrangebylex zunionstore zinterstore")
	for i := 0; i < 20000 && !t.Failed(); i++ {
		now := time.Now().UnixMilli()
		g.now = now
		args := g.next()
		if i%2 == 0 { // a command name and arguments drawn from a pool
			// Numbers that are TTLs are far from now: no key may expire
			// between the two servers' clocks.
			pool := []string{"a", "b", "n1", "f", "NX", "XX", "GT", "LT", "GET", "EX", "PX", "EXAT", "PXAT",
				"KEEPTTL", "PERSIST", "0", "-1", "-100", "100000", "abc", "1.5", "", "9223372036854775807",
				"-9223372036854775808", "nx", "*", "a*", strconv.FormatInt(now/1000+500, 10), strconv.FormatInt(now+500_000, 10),
				"h", "l", "s", "z", "LEFT", "RIGHT", "BEFORE", "AFTER", "WITHSCORES", "BYSCORE", "BYLEX", "REV", "LIMIT", "RANK",
				"COUNT", "MAXLEN", "WEIGHTS", "AGGREGATE", "MIN", "(1", "[a", "-", "+", "inf", "-inf", "2.5"}
			args = []string{names[rng.IntN(len(names))]}
			for range rng.IntN(6) {
				args = append(args, pool[rng.IntN(len(pool))])
			}
		}
		switch strings.ToUpper(args[0]) {
		case "RANDOMKEY", "SCAN", "FLUSHDB", "FLUSHALL", // random, cursor-bound, or too destructive
			"SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", // random
			"HSCAN", "SSCAN", "ZSCAN", "OBJECT": // encodings differ before Redis 7.2
			continue
		case "ZRANK", "ZREVRANK": // WITHSCORE is new in 7.2
			if len(args) > 3 {
				continue
			}
		}
		run(now, args)
	}
	// Glob patterns against awkward keys.
	const alphabet = `ab*?[]^-\`
	word := func(n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	send(t, []string{"FLUSHALL"})
	f = fsm.New()
	for range 60 {
		run(time.Now().UnixMilli(), []string{"SET", word(6), "v"})
	}
	for i := 0; i < 5000 && !t.Failed(); i++ {
		run(time.Now().UnixMilli(), []string{"KEYS", word(7)})
	}
}

// doublesAs70 formats the doubles in v as Redis before 7.2 did, with
// "%.17g" (so 1e+18, and 1.1000000000000001 for 1.1).
func doublesAs70(v fsm.Value) fsm.Value {
	switch v.Kind {
	case fsm.KindDouble:
		f, err := strconv.ParseFloat(string(v.Str), 64)
		if err != nil || math.IsInf(f, 0) {
			return v
		}
		return fsm.Value{Kind: fsm.KindDouble, Str: []byte(strconv.FormatFloat(f, 'g', 17, 64))}
	case fsm.KindArray, fsm.KindMap, fsm.KindSet, fsm.KindPairs:
		arr := make([]fsm.Value, len(v.Arr))
		for i, e := range v.Arr {
			arr[i] = doublesAs70(e)
		}
		return fsm.Value{Kind: v.Kind, Arr: arr}
	}
	return v
}

// clockBound reports whether a case needs the harness's clock: it moves
// the clock, names absolute times, or reads milliseconds left.
func clockBound(c tc) bool {
	ls := slices.Clone(c.setup)
	for _, s := range c.steps {
		ls = append(ls, s.cmd)
	}
	for _, l := range ls {
		u := strings.ToUpper(l)
		if strings.HasPrefix(l, "@") || strings.Contains(u, "1700000") {
			return true
		}
		for _, w := range []string{"PTTL", "EXPIRETIME", "PX ", "PSETEX"} {
			if strings.Contains(u, w) {
				return true
			}
		}
	}
	return false
}

func readResp2(r *bufio.Reader) (fsm.Value, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return fsm.Value{}, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return fsm.Value{}, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return fsm.Simple(body), nil
	case '-':
		return fsm.Err(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		return fsm.Int(n), err
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return fsm.Null, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return fsm.Value{}, err
		}
		return fsm.Bulk(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return fsm.NullArray, err
		}
		arr := make([]fsm.Value, n)
		for i := range arr {
			if arr[i], err = readResp2(r); err != nil {
				return fsm.Value{}, err
			}
		}
		return fsm.Array(arr), nil
	}
	return fsm.Value{}, fmt.Errorf("unknown reply type %q", line)
}
