package fsm_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/understudy/understudy/fsm"
)

var propKeys = []string{"a", "b", "c", "d", "n1", "n2", "f", "{x}", "h", "l", "s", "z"}

// cmdGen makes random commands over a small key set, mostly writes, some of
// them invalid on purpose.
type cmdGen struct {
	rng *rand.Rand
	now int64 // the entry's time, for absolute expiries
	// long makes every valid TTL far from now (past or future), so that
	// no key expires while commands run against a real server.
	long bool
}

// dur is a TTL argument: short and near the edge, or long when g.long.
func (g *cmdGen) dur(short int) string {
	if g.long {
		return g.pick("0", "-1", "100000", "200000")
	}
	return strconv.Itoa(g.rng.IntN(short) - 2)
}

// at is an absolute time in ms around now.
func (g *cmdGen) at(spread int64) int64 {
	if g.long {
		return g.now + g.rng.Int64N(2)*400_000 - 200_000
	}
	return g.now + g.rng.Int64N(spread) - spread/4
}

func (g *cmdGen) key() string { return propKeys[g.rng.IntN(len(propKeys))] }

func (g *cmdGen) pick(s ...string) string { return s[g.rng.IntN(len(s))] }

func (g *cmdGen) num() string {
	return g.pick("0", "1", "-1", "7", "100", "-250", "abc", "9223372036854775807", "01", strconv.Itoa(g.rng.IntN(1000)))
}

func (g *cmdGen) val() string {
	return g.pick("", "v", "hello", "12", "-3", "1.5", "x\x00y", "0.1", strconv.Itoa(g.rng.IntN(50)))
}

func (g *cmdGen) ttl() []string {
	switch g.rng.IntN(6) {
	case 0:
		return []string{"EX", g.dur(5)}
	case 1:
		return []string{"PX", g.dur(3000)}
	case 2:
		return []string{"EXAT", strconv.FormatInt(g.at(4000)/1000, 10)}
	case 3:
		return []string{"PXAT", strconv.FormatInt(g.at(3000), 10)}
	case 4:
		return []string{"KEEPTTL"}
	}
	return nil
}

// elem is a collection member or field: few, so commands meet each other.
func (g *cmdGen) elem() string {
	return g.pick("a", "b", "c", "1", "2", "10", "-3", "x", "")
}

// score is a sorted-set score that Redis 7.0 and 7.2 format alike.
func (g *cmdGen) score() string {
	return g.pick("0", "1", "2.5", "-3", "10", "inf", "-inf", "0.25", "1e3", "abc", strconv.Itoa(g.rng.IntN(20)))
}

// bound is a score or lex range end, or a rank.
func (g *cmdGen) bound() string {
	return g.pick("0", "1", "-1", "(1", "2.5", "-inf", "+inf", "(0", "[a", "(b", "-", "+", "[c", "3", "x")
}

func (g *cmdGen) ckey() string { return g.pick("h", "l", "s", "z", g.key()) }

// collection is a random command on a hash, list, set or sorted set.
func (g *cmdGen) collection() []string {
	k := g.ckey()
	switch g.rng.IntN(44) {
	case 0, 1, 2:
		return []string{g.pick("HSET", "HMSET"), k, g.elem(), g.val(), g.elem(), g.val()}
	case 3:
		return []string{g.pick("HDEL", "HGET", "HEXISTS", "HSTRLEN"), k, g.elem()}
	case 4:
		return []string{g.pick("HINCRBY", "HINCRBYFLOAT", "HSETNX"), k, g.elem(), g.pick("1", "-2", "0.5", "x")}
	case 5:
		return []string{g.pick("HGETALL", "HKEYS", "HVALS", "HLEN"), k}
	case 6:
		return []string{"HRANDFIELD", k, g.pick("1", "-3", "5", "0"), g.pick("WITHVALUES", "WITHVALUES", "")}[:3+g.rng.IntN(2)]
	case 7, 8, 9:
		return []string{g.pick("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"), k, g.elem(), g.elem()}
	case 10, 11:
		args := []string{g.pick("LPOP", "RPOP"), k}
		if g.rng.IntN(2) == 0 {
			args = append(args, g.pick("0", "1", "3", "-1"))
		}
		return args
	case 12:
		return []string{g.pick("LRANGE", "LTRIM"), k, g.bound(), g.bound()}
	case 13:
		return []string{g.pick("LINDEX", "LSET"), k, g.pick("0", "1", "-1", "5"), g.elem()}[:3+g.rng.IntN(2)]
	case 14:
		return []string{"LINSERT", k, g.pick("BEFORE", "AFTER"), g.elem(), g.elem()}
	case 15:
		return []string{"LREM", k, g.pick("0", "1", "-1", "2"), g.elem()}
	case 16:
		return []string{"LPOS", k, g.elem(), "RANK", g.pick("1", "-1", "2"), "COUNT", g.pick("0", "1")}
	case 17:
		if g.rng.IntN(2) == 0 {
			return []string{"RPOPLPUSH", k, g.ckey()}
		}
		return []string{"LMOVE", k, g.ckey(), g.pick("LEFT", "RIGHT"), g.pick("LEFT", "RIGHT")}
	case 18, 19, 20:
		return []string{g.pick("SADD", "SREM"), k, g.elem(), g.elem(), g.elem()}
	case 21:
		return []string{g.pick("SMEMBERS", "SCARD", "SPOP"), k}
	case 22:
		return []string{g.pick("SISMEMBER", "SMISMEMBER"), k, g.elem()}
	case 23:
		return []string{g.pick("SPOP", "SRANDMEMBER"), k, g.pick("0", "1", "2", "-2", "10")}
	case 24:
		return []string{"SMOVE", k, g.ckey(), g.elem()}
	case 25:
		return []string{g.pick("SINTER", "SUNION", "SDIFF"), k, g.ckey()}
	case 26:
		return []string{g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), g.ckey(), k, g.ckey()}
	case 27:
		return []string{"SINTERCARD", "2", k, g.ckey(), "LIMIT", g.pick("0", "1")}
	case 28, 29, 30:
		args := []string{"ZADD", k}
		if g.rng.IntN(3) == 0 {
			args = append(args, g.pick("NX", "XX", "GT", "LT", "CH", "INCR"))
		}
		args = append(args, g.score(), g.elem())
		if g.rng.IntN(2) == 0 && args[2] != "INCR" {
			args = append(args, g.score(), g.elem())
		}
		return args
	case 31:
		return []string{"ZINCRBY", k, g.score(), g.elem()}
	case 32:
		return []string{g.pick("ZREM", "ZSCORE", "ZRANK", "ZREVRANK"), k, g.elem()}
	case 33:
		return []string{g.pick("ZCARD", "ZPOPMIN", "ZPOPMAX"), k}
	case 34:
		return []string{g.pick("ZPOPMIN", "ZPOPMAX", "ZRANDMEMBER"), k, g.pick("0", "1", "2", "-2")}
	case 35:
		args := []string{"ZRANGE", k, g.bound(), g.bound()}
		for range g.rng.IntN(3) {
			args = append(args, g.pick("BYSCORE", "BYLEX", "REV", "WITHSCORES", "LIMIT"))
		}
		if args[len(args)-1] == "LIMIT" {
			args = append(args, g.pick("0", "1", "-1"), g.pick("1", "2", "-1"))
		}
		return args
	case 36:
		return []string{g.pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZCOUNT", "ZREMRANGEBYSCORE"), k, g.bound(), g.bound()}
	case 37:
		return []string{g.pick("ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"), k, g.bound(), g.bound()}
	case 38:
		return []string{g.pick("ZREVRANGE", "ZREMRANGEBYRANK"), k, g.bound(), g.bound()}
	case 39:
		args := []string{g.pick("ZUNIONSTORE", "ZINTERSTORE"), g.ckey(), "2", k, g.ckey()}
		if g.rng.IntN(2) == 0 {
			args = append(args, "WEIGHTS", g.pick("1", "2", "0.5", "-1"), g.pick("0", "1"))
		}
		if g.rng.IntN(2) == 0 {
			args = append(args, "AGGREGATE", g.pick("SUM", "MIN", "MAX"))
		}
		return args
	case 40:
		return []string{"ZMSCORE", k, g.elem(), g.elem()}
	case 41:
		return []string{g.pick("HSCAN", "SSCAN", "ZSCAN"), k, "0", "COUNT", "2"}
	case 42:
		return []string{"OBJECT", "ENCODING", k}
	}
	return []string{g.pick("TYPE", "EXISTS", "DEL"), k}
}

func (g *cmdGen) next() []string {
	if g.rng.IntN(8) == 0 {
		return g.bitsHLLGeo()
	}
	if g.rng.IntN(5) < 3 {
		return g.collection()
	}
	k := g.key()
	switch g.rng.IntN(30) {
	case 0, 1, 2, 3:
		args := []string{"SET", k, g.val()}
		for range g.rng.IntN(3) {
			switch g.rng.IntN(4) {
			case 0:
				args = append(args, g.pick("NX", "XX", "GET"))
			default:
				args = append(args, g.ttl()...)
			}
		}
		return args
	case 4:
		return []string{g.pick("SETEX", "PSETEX"), k, g.dur(2500), g.val()}
	case 5, 6:
		return []string{g.pick("INCR", "DECR"), g.pick("n1", "n2", k)}
	case 7:
		return []string{g.pick("INCRBY", "DECRBY"), g.pick("n1", "n2", k), g.num()}
	case 8:
		return []string{"INCRBYFLOAT", g.pick("f", "n1", k), g.pick("0.1", "-0.3", "1e3", "2.5", "abc", "1")}
	case 9, 10:
		return []string{"APPEND", k, g.val()}
	case 11:
		return []string{g.pick("DEL", "UNLINK"), k, g.key()}
	case 12, 13:
		args := []string{g.pick("EXPIRE", "PEXPIRE"), k, g.dur(3000)}
		if g.rng.IntN(2) == 0 {
			args = append(args, g.pick("NX", "XX", "GT", "LT"))
		}
		return args
	case 14:
		if g.rng.IntN(2) == 0 {
			return []string{"EXPIREAT", k, strconv.FormatInt(g.at(4000)/1000, 10)}
		}
		return []string{"PEXPIREAT", k, strconv.FormatInt(g.at(3000), 10)}
	case 15:
		return []string{"PERSIST", k}
	case 16:
		return []string{g.pick("RENAME", "RENAMENX"), k, g.key()}
	case 17:
		return []string{"SETRANGE", k, strconv.Itoa(g.rng.IntN(12) - 1), g.val()}
	case 18:
		return []string{"GETDEL", k}
	case 19:
		if g.rng.IntN(2) == 0 {
			return []string{"GETEX", k}
		}
		return []string{"GETEX", k, g.pick("PERSIST", "EX", "FOO")}
	case 20:
		return append([]string{"GETEX", k}, g.ttl()...)
	case 21:
		return []string{"GETSET", k, g.val()}
	case 22:
		return []string{g.pick("MSET", "MSETNX"), k, g.val(), g.key(), g.val()}
	case 23:
		return []string{"SETNX", k, g.val()}
	case 24:
		if g.rng.IntN(40) == 0 {
			return []string{g.pick("FLUSHDB", "FLUSHALL")}
		}
		return []string{"GET", k}
	case 25:
		return []string{g.pick("TTL", "PTTL", "EXISTS", "STRLEN", "TYPE", "EXPIRETIME"), k}
	case 26:
		return []string{"RANDOMKEY"}
	case 27:
		return []string{"SCAN", "0", "COUNT", "3"}
	case 28:
		return []string{"GETRANGE", k, strconv.Itoa(g.rng.IntN(6) - 3), strconv.Itoa(g.rng.IntN(6) - 3)}
	}
	return []string{"MGET", k, g.key()}
}

// follower is an FSM restored from a snapshot of the original, fed every
// entry after the snapshot's.
type follower struct {
	f    *fsm.FSM
	next int // index into the entry list of the next entry to apply
}

func propertySeed(t *testing.T) uint64 {
	if s := os.Getenv("UNDERSTUDY_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("UNDERSTUDY_SEED=%q: %v", s, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// TestReplicationProperty applies a few thousand random commands in random
// batches at an advancing (sometimes skewed) clock. Along the way it takes
// snapshots, persists them a little later (copy-on-write), restores each into
// a fresh FSM and feeds it the rest of the log. Every restored FSM must give
// the same replies as the original for every later entry, and at the end the
// original, every restored FSM and a replay of the whole log from empty (fed
// through the raft.FSM interface and the codec) must hold the same state.
func TestReplicationProperty(t *testing.T) {
	seed := propertySeed(t)
	t.Logf("seed %d (rerun with UNDERSTUDY_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32|1))
	gen := &cmdGen{rng: rng}

	orig := fsm.New()
	var entries []*fsm.Entry
	var replies [][]string
	var followers []*follower
	type pending struct {
		snap   raft.FSMSnapshot
		next   int
		hash   uint64
		due    int
		reads  map[string]string
		atTime int64
	}
	var pend []pending
	now := t0
	commands := 0
	// Transactions: WATCH reads versions from the original now, and EXEC
	// runs a few entries later, so writes, deletions, expiries and pruned
	// tombstones fall in between.
	type watched struct {
		records []byte
		due     int
	}
	var watches []watched
	execs := map[string]int{}

	applyTo := func(f *fsm.FSM, i int) []string {
		vs := f.ApplyEntry(uint64(i+1), entries[i])
		out := make([]string, len(vs))
		for j, v := range vs {
			out[j] = fmtValue(v)
		}
		return out
	}
	catchUp := func(fl *follower) {
		for ; fl.next < len(entries); fl.next++ {
			got := applyTo(fl.f, fl.next)
			if fmt.Sprint(got) != fmt.Sprint(replies[fl.next]) {
				t.Fatalf("seed %d: entry %d replies differ after restore:\nrestored: %v\noriginal: %v\ncommands: %v",
					seed, fl.next, got, replies[fl.next], entries[fl.next].Cmds)
			}
		}
	}

	// The cluster starts at level 2, with databases: commands run in 0-2.
	entries = append(entries, &fsm.Entry{Type: fsm.EntryBatch, Time: now, Cmds: []fsm.Cmd{
		{Op: fsm.OpInternal, Argv: bargs([]string{"level", "2", "16"})}}})
	replies = append(replies, applyTo(orig, 0))
	db := func() int {
		if rng.IntN(3) == 0 {
			return 1 + rng.IntN(2)
		}
		return 0
	}
	for commands < 4000 {
		// The leader's clock: usually forward, now and then behind the
		// replicated clock, as after a leader change with skew.
		switch r := rng.IntN(20); {
		case r == 0:
			now -= int64(rng.IntN(2000))
		case r < 3:
			now += int64(rng.IntN(5000))
		default:
			now += int64(rng.IntN(200))
		}
		gen.now = max(now, orig.Clock())
		e := &fsm.Entry{Type: fsm.EntryBatch, Time: now, Seed: rng.Uint64()}
		for range 1 + rng.IntN(8) {
			e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpClient, DB: db(), Argv: bargs(gen.next())})
		}
		if rng.IntN(30) == 0 {
			dbs := []string{"0", "1", "2"}
			cmd := [][]string{{"MOVE", gen.key(), gen.pick(dbs...)}, {"SWAPDB", gen.pick(dbs...), gen.pick(dbs...)},
				{"COPY", gen.key(), gen.key(), "DB", gen.pick(dbs...), gen.pick("REPLACE", "DB", "0")}}[rng.IntN(3)]
			e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpClient, DB: db(), Argv: bargs(cmd)})
		}
		if rng.IntN(6) == 0 { // what the leader's expiry loop proposes, per database
			byDB := map[int][]string{}
			for _, k := range orig.ExpiredKeys(gen.now, 1+rng.IntN(4)) {
				byDB[k.DB] = append(byDB[k.DB], k.Key)
			}
			for d := range 3 {
				if keys := byDB[d]; len(keys) > 0 {
					e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpInternal, DB: d, Argv: bargs(append([]string{"expired"}, keys...))})
				}
			}
		}
		if rng.IntN(100) == 0 {
			e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpInternal, Argv: bargs([]string{"meta", gen.pick("n1", "n2"), gen.val(), gen.val()})})
		}
		if rng.IntN(8) == 0 {
			keys := []string{fsm.VersionsCommand}
			for range 1 + rng.IntN(3) {
				keys = append(keys, gen.key())
			}
			wdb := db()
			v := orig.Read(wdb, gen.now, rng.Uint64(), bargs(keys))
			at, _ := strconv.ParseUint(string(v.Arr[len(v.Arr)-1].Str), 10, 64)
			var recs []byte
			for i, k := range keys[1:] {
				ver, _ := strconv.ParseUint(string(v.Arr[i].Str), 10, 64)
				recs = fsm.AppendWatch(recs, wdb, []byte(k), ver, at)
			}
			watches = append(watches, watched{records: recs, due: len(entries) + rng.IntN(20)})
		}
		if len(watches) > 0 && watches[0].due <= len(entries) {
			var queued []byte
			for range 1 + rng.IntN(3) {
				queued = fsm.AppendCmd(queued, fsm.Cmd{Op: fsm.OpClient, DB: db(), Argv: bargs(gen.next())})
			}
			e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpClient, Argv: [][]byte{[]byte(fsm.ExecCommand), watches[0].records, queued}})
			watches = watches[1:]
		}
		commands += len(e.Cmds)
		entries = append(entries, e)
		replies = append(replies, applyTo(orig, len(entries)-1))
		for i, c := range e.Cmds {
			if string(c.Argv[0]) == fsm.ExecCommand {
				execs[replies[len(replies)-1][i][:1]]++
			}
		}
		for _, fl := range followers {
			catchUp(fl)
		}

		// Persist snapshots that are due; they must still show the state
		// at the time they were taken.
		for len(pend) > 0 && pend[0].due <= len(entries) {
			p := pend[0]
			pend = pend[1:]
			fl := &follower{f: fsm.New(), next: p.next}
			if err := restore(fl.f, persist(t, p.snap)); err != nil {
				t.Fatalf("seed %d: restore: %v", seed, err)
			}
			if fl.f.Hash() != p.hash {
				t.Fatalf("seed %d: snapshot taken after entry %d does not restore the state it was taken in", seed, p.next)
			}
			for k, want := range p.reads {
				if got := dumpKey(fl.f, p.atTime, k); got != want {
					t.Fatalf("seed %d: restored %s = %s, want %s", seed, k, got, want)
				}
			}
			catchUp(fl)
			followers = append(followers, fl)
		}
		if len(followers)+len(pend) < 12 && rng.IntN(60) == 0 {
			snap, err := orig.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			reads := map[string]string{}
			for _, k := range propKeys {
				reads[k] = dumpKey(orig, orig.Clock(), k)
			}
			pend = append(pend, pending{snap: snap, next: len(entries), hash: orig.Hash(),
				due: len(entries) + rng.IntN(6), reads: reads, atTime: orig.Clock()})
		}
	}

	// Replay the whole log from empty, through raft.FSM.Apply and the codec.
	replay := fsm.New()
	for i, e := range entries {
		res, ok := replay.Apply(&raft.Log{Index: uint64(i + 1), Term: 1, Type: raft.LogCommand, Data: fsm.AppendEntry(nil, e)}).(*fsm.Result)
		if !ok {
			t.Fatalf("seed %d: Apply returned no result", seed)
		}
		got := make([]string, len(res.Replies))
		for j, v := range res.Replies {
			got[j] = fmtValue(v)
		}
		if fmt.Sprint(got) != fmt.Sprint(replies[i]) {
			t.Fatalf("seed %d: replay of entry %d: %q, original %q", seed, i, got, replies[i])
		}
	}

	all := append([]*fsm.FSM{replay}, orig)
	for _, fl := range followers {
		all = append(all, fl.f)
	}
	t.Logf("%d commands in %d entries, %d restored followers, %d keys at the end; EXEC ran %d, aborted %d",
		commands, len(entries), len(followers), orig.Stats().Keys, execs["["], execs["("])
	if execs["["] == 0 || execs["("] == 0 {
		t.Fatalf("seed %d: transactions ran %d and aborted %d times: both must happen", seed, execs["["], execs["("])
	}
	if len(followers) == 0 {
		t.Fatalf("seed %d: no snapshot was exercised", seed)
	}
	want := orig.Hash()
	clock := orig.Clock()
	for i, f := range all {
		if f.Hash() != want {
			t.Fatalf("seed %d: FSM %d hash differs from the original", seed, i)
		}
		if f.Stats() != orig.Stats() {
			t.Fatalf("seed %d: FSM %d stats %+v, original %+v", seed, i, f.Stats(), orig.Stats())
		}
		for _, at := range []int64{clock, clock + 1000, clock + 1_000_000} {
			sameReads(t, orig, f, at, propKeys)
		}
	}
}
