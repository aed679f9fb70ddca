package fsm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/understudy/understudy/conftab"
	"github.com/understudy/understudy/fsm"
)

// TestConfigReplicated: every replicated parameter reads its Redis default,
// takes a value by any of its names, refuses a bad one with Redis's text,
// and keeps what it was set to through a snapshot.
func TestConfigReplicated(t *testing.T) {
	h := newHarness()
	for _, name := range fsm.ReplicatedConfigNames() {
		p := conftab.Lookup(name)
		want, _ := p.Parse(p.Default)
		if got, ok := h.f.ConfigGet(name); !ok || got != want {
			t.Errorf("%s = %q, want Redis's default %q", name, got, want)
		}
	}
	cases := []struct{ args, want string }{
		{"hash-max-ziplist-entries 7", "+OK"},
		{"ZSET-max-listpack-value 1kb", "+OK"},
		{"maxmemory-policy ALLKEYS-LRU", "+OK"},
		{"notify-keyspace-events KEd", "+OK"},
		{"hash-max-listpack-entries -1", "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive"},
		{"maxmemory 1.5gb", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"maxmemory-policy lru", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
		{"maxmemory-samples 0", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"},
		{"lfu-log-factor 010", "-ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument couldn't be parsed into an integer"},
		{"timeout 5", "-ERR Unknown option or number of arguments for CONFIG SET - 'timeout'"},
		// All or nothing: the first pair is not applied either.
		{"maxmemory 100 maxmemory-samples x", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer"},
	}
	for _, c := range cases {
		if got := h.run(t, "CONFIG! "+c.args); got != c.want {
			t.Errorf("config-set %s\n got: %s\nwant: %s", c.args, got, c.want)
		}
	}
	for name, want := range map[string]string{"hash-max-listpack-entries": "7", "hash-max-ziplist-entries": "7",
		"zset-max-listpack-value": "1024", "maxmemory-policy": "allkeys-lru", "notify-keyspace-events": "dKE", "maxmemory": "0"} {
		if got, _ := h.f.ConfigGet(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	r := fsm.New()
	if err := restore(r, persist(t, mustSnapshot(t, h.f))); err != nil {
		t.Fatal(err)
	}
	for _, name := range fsm.ReplicatedConfigNames() {
		a, _ := h.f.ConfigGet(name)
		b, _ := r.ConfigGet(name)
		if a != b {
			t.Errorf("%s: %q before the snapshot, %q after", name, a, b)
		}
	}
	if r.Hash() != h.f.Hash() {
		t.Fatal("restored state hashes differently")
	}
}

// TestNotifyFlagsString: CONFIG GET shows notify-keyspace-events as Redis
// 7.0.15 does (checked against redis-server).
func TestNotifyFlagsString(t *testing.T) {
	h := newHarness()
	for in, want := range map[string]string{"KEmn": "nKEm", "Ad": "A", "Ag": "A", "dg": "gd", "nmEK": "nKEm",
		"xe": "xe", "An": "A", "Am": "Am", "AnKm": "AKm", "tdn": "tdn", "": ""} {
		h.configSet(t, "notify-keyspace-events", in)
		if got, _ := h.f.ConfigGet("notify-keyspace-events"); got != want {
			t.Errorf("%q shows %q, want %q", in, got, want)
		}
	}
}

// TestEncodingThresholds: OBJECT ENCODING follows the thresholds set at run
// time, as Redis 7.0 does, at the next change of each collection.
func TestEncodingThresholds(t *testing.T) {
	h := newHarness()
	h.configSet(t, "hash-max-listpack-entries", "2", "hash-max-listpack-value", "4",
		"zset-max-listpack-entries", "2", "zset-max-listpack-value", "4")
	h.do(t, "HSET", "h", "a", "1", "b", "2")
	mustEncoding(t, h, "h", "listpack")
	h.do(t, "HSET", "h", "c", "3")
	mustEncoding(t, h, "h", "hashtable")
	h.do(t, "HSET", "v", "a", "12345")
	mustEncoding(t, h, "v", "hashtable")
	h.do(t, "ZADD", "z", "1", "a", "2", "b")
	mustEncoding(t, h, "z", "listpack")
	h.do(t, "ZADD", "z", "3", "c")
	mustEncoding(t, h, "z", "skiplist")
	h.do(t, "ZADD", "w", "1", "abcde")
	mustEncoding(t, h, "w", "skiplist")
	// Raising them again: new collections stay small longer.
	h.configSet(t, "hash-max-ziplist-entries", "128")
	h.do(t, "HSET", "h2", "a", "1", "b", "2", "c", "3")
	mustEncoding(t, h, "h2", "listpack")
	h.configSet(t, "proto-max-bulk-len", "1mb")
	if got := fmtValue(h.do(t, "SETRANGE", "s", "1048576", "x")); got != "-ERR string exceeds maximum allowed size (proto-max-bulk-len)" {
		t.Fatalf("SETRANGE past proto-max-bulk-len: %s", got)
	}
}

// TestAccessTracking: OBJECT IDLETIME counts from the last access in
// seconds (OBJECT itself is not one); under an LFU policy OBJECT FREQ starts
// at 5, grows logarithmically with accesses and decays by a point per
// lfu-decay-time minutes.
func TestAccessTracking(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "k", "v")
	h.now += 10_500
	if got := fmtValue(h.do(t, "OBJECT", "IDLETIME", "k")); got != ":10" {
		t.Fatalf("IDLETIME after 10.5 s: %s", got)
	}
	h.do(t, "GET", "k")
	if got := fmtValue(h.do(t, "OBJECT", "IDLETIME", "k")); got != ":0" {
		t.Fatalf("IDLETIME after GET: %s", got)
	}
	h.configSet(t, "maxmemory-policy", "allkeys-lfu")
	h.do(t, "SET", "f", "v")
	if got := fmtValue(h.do(t, "OBJECT", "FREQ", "f")); got != ":5" {
		t.Fatalf("FREQ of a new key: %s", got)
	}
	for range 1000 {
		h.do(t, "GET", "f")
	}
	freq := func() int64 { return h.do(t, "OBJECT", "FREQ", "f").Int }
	hot := freq()
	// lfu-log-factor 10: about 10*(c-5)^2/2 hits to reach c; 1000 hits: ~19.
	if hot < 12 || hot > 30 {
		t.Fatalf("FREQ after 1000 hits = %d, want about 19", hot)
	}
	h.now += 3 * 60_000
	if got := freq(); got != hot-3 {
		t.Fatalf("FREQ 3 minutes later = %d, want %d", got, hot-3)
	}
}

// TestEvictionPolicies: under each policy the evictor picks keys the policy
// allows, mostly the best candidates (idle, rarely used, soonest to
// expire), and the "evict" entry deletes them on every replica alike,
// sparing a key written since it was picked, counting them and sending
// "evicted" events.
func TestEvictionPolicies(t *testing.T) {
	for _, pol := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		t.Run(pol, func(t *testing.T) {
			a, b := fsm.New(), fsm.New()
			var events []string
			a.SetPublishHook(func(ms []fsm.Message) {
				for _, m := range ms {
					events = append(events, m.Channel+" "+m.Payload)
				}
			})
			idx, now := uint64(0), t0
			apply := func(cmds ...fsm.Cmd) []fsm.Value {
				idx++
				e := &fsm.Entry{Type: fsm.EntryBatch, Time: now, Seed: idx, Cmds: cmds}
				b.ApplyEntry(idx, e)
				return a.Apply(raftLog(idx, e)).(*fsm.Result).Replies
			}
			cmd := func(args ...string) fsm.Cmd { return fsm.Cmd{Op: fsm.OpClient, Argv: bargs(args)} }
			internal := func(args ...string) fsm.Cmd { return fsm.Cmd{Op: fsm.OpInternal, Argv: bargs(args)} }
			apply(internal("level", "2", "16"))
			apply(internal("config-set", "maxmemory-policy", pol, "notify-keyspace-events", "Ee"))
			// k0..k99; the odd ones expire, the higher the later; the
			// upper half is read often and late.
			for i := range 100 {
				c := cmd("SET", fmt.Sprint("k", i), "v")
				if i%2 == 1 {
					c = cmd("SET", fmt.Sprint("k", i), "v", "PX", fmt.Sprint(1_000_000+i*1000))
				}
				apply(c)
			}
			now += 100_000
			for r := range 200 {
				for i := 50; i < 100; i++ {
					a.Read(0, now, uint64(r*100+i), bargs([]string{"GET", fmt.Sprint("k", i)}))
				}
			}
			ev := fsm.NewEvictor(7)
			vs := ev.Pick(a, now, 1<<40, 10)
			if len(vs) != 10 {
				t.Fatalf("picked %d victims, want 10", len(vs))
			}
			best, seen := 0, map[string]bool{}
			for _, v := range vs {
				var i int
				fmt.Sscanf(v.Key, "k%d", &i)
				if seen[v.Key] {
					t.Fatalf("%s picked twice", v.Key)
				}
				seen[v.Key] = true
				if strings.HasPrefix(pol, "volatile") && i%2 == 0 {
					t.Fatalf("%s picked %s, which has no TTL", pol, v.Key)
				}
				if i < 50 {
					best++
				}
			}
			if !strings.HasSuffix(pol, "random") && best < 8 {
				t.Fatalf("%s picked %d of 10 among the cold or soonest-expiring half: %v", pol, best, vs)
			}
			// A key written after it was picked is spared.
			apply(cmd("SET", vs[0].Key, "new"))
			var evicted int64
			for _, c := range fsm.EvictCmds(vs) {
				evicted += apply(c)[0].Int
			}
			if evicted != 9 || a.EvictedKeys() != 9 || b.EvictedKeys() != 9 {
				t.Fatalf("evicted %d (counted %d and %d), want 9", evicted, a.EvictedKeys(), b.EvictedKeys())
			}
			if got := fmtValue(a.Read(0, now, 1, bargs([]string{"GET", vs[0].Key}))); got != `"new"` {
				t.Fatalf("rewritten victim: %s", got)
			}
			if a.Hash() != b.Hash() {
				t.Fatal("replicas differ after eviction")
			}
			if len(events) != 9 || events[0] != "__keyevent@0__:evicted "+vs[1].Key {
				t.Fatalf("events %q", events)
			}
		})
	}
}

// TestEvictionNothingToEvict: noeviction, and a volatile policy without a
// key that has a TTL, pick nothing (the leader then refuses writes).
func TestEvictionNothingToEvict(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "a", "1")
	if vs := fsm.NewEvictor(1).Pick(h.f, h.now, 100, 10); len(vs) != 0 {
		t.Fatalf("noeviction picked %v", vs)
	}
	h.configSet(t, "maxmemory-policy", "volatile-lru")
	if vs := fsm.NewEvictor(1).Pick(h.f, h.now, 100, 10); len(vs) != 0 {
		t.Fatalf("volatile-lru without volatile keys picked %v", vs)
	}
}
