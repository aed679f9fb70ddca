package compat

// RESP3 reply types: what a RESP3 client sees, through go-redis (Go types:
// map[any]any, float64, redis.Nil) and on the wire (~ sets, % maps,
// , doubles, _ nulls), compared between Understudy and redis-server.

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

type resp3Case struct {
	cmd string
	// wire is the reply's RESP3 type as Redis sends it ("" = not asserted
	// beyond the comparison with redis-server).
	wire kind
	// random: compare only the reply's types, not its values.
	random bool
	// unordered: a set, whose order Redis 7.0 and 7.2 do not agree on.
	unordered bool
}

var resp3Setup = []string{
	"HSET {h} f1 v1 f2 v2",
	"SADD {s} a b c",
	"SADD {s2} b c d",
	"ZADD {z} 1.5 a 2 b 3 c",
	"RPUSH {l} x y",
	"SET {str} v",
}

// The commands, written as script steps ({name} is a key).
var resp3Cases = []resp3Case{
	{cmd: "HGETALL {h}", wire: kMap},
	{cmd: "HGETALL {missing}", wire: kMap},
	{cmd: "SMEMBERS {s}", wire: kSet, unordered: true},
	{cmd: "SMEMBERS {missing}", wire: kSet},
	{cmd: "SINTER {s} {s2}", wire: kSet, unordered: true},
	{cmd: "SUNION {s} {s2}", wire: kSet, unordered: true},
	{cmd: "SDIFF {s} {s2}", wire: kSet, unordered: true},
	{cmd: "SPOP {s} 0", wire: kSet},
	{cmd: "SRANDMEMBER {s} 2", random: true},
	{cmd: "SMISMEMBER {s} a z", wire: kArr},
	{cmd: "ZSCORE {z} a", wire: kDouble},
	{cmd: "ZSCORE {z} nope", wire: kNil},
	{cmd: "ZMSCORE {z} a nope c", wire: kArr},
	{cmd: "ZINCRBY {z} 0.5 c", wire: kDouble},
	{cmd: "ZADD {z} INCR 1 b", wire: kDouble},
	{cmd: "ZADD {z} NX INCR 1 b", wire: kNil},
	{cmd: "ZPOPMIN {z}", wire: kArr},
	{cmd: "ZRANK {z} nope", wire: kNil},
	{cmd: "INCRBYFLOAT {f} 1.5", wire: kStr},
	{cmd: "HINCRBYFLOAT {h} n 2.5", wire: kStr},
	{cmd: "GET {missing}", wire: kNil},
	{cmd: "HGET {h} nope", wire: kNil},
	{cmd: "MGET {str} {missing}", wire: kArr},
	{cmd: "HMGET {h} f1 nope", wire: kArr},
	{cmd: "LPOP {missing}", wire: kNil},
	{cmd: "LPOP {missing} 2", wire: kNil},
	{cmd: "LPOS {l} nope", wire: kNil},
	{cmd: "LINDEX {l} 9", wire: kNil},
	{cmd: "SPOP {missing}", wire: kNil},
	{cmd: "SRANDMEMBER {missing}", wire: kNil},
	{cmd: "HRANDFIELD {missing}", wire: kNil},
	{cmd: "ZRANDMEMBER {missing}", wire: kNil},
	{cmd: "BLPOP {missing} 0.05", wire: kNil},
	{cmd: "BRPOPLPUSH {missing} {d} 0.05", wire: kNil},
	{cmd: "GETDEL {missing}", wire: kNil},
	{cmd: "SET {k} v GET", wire: kNil},
	{cmd: "SET {str} v NX", wire: kNil},
	{cmd: "OBJECT ENCODING {missing}", wire: kNil},
	{cmd: "CLIENT GETNAME", wire: kNil},
	{cmd: "TYPE {h}", wire: kStatus},
	{cmd: "SET {k} v", wire: kStatus},
	{cmd: "EXISTS {h} {s}", wire: kInt},
	{cmd: "PUBSUB NUMSUB {ch}", wire: kArr},
	{cmd: "HSCAN {h} 0", wire: kArr},
	{cmd: "ZRANGE {z} 0 -1", wire: kArr},
	{cmd: "HELLO 3", wire: kMap},
}

// TestCompat_RESP3Types runs each command on its own copy of the same data
// on Understudy (leader and follower) and redis-server, in RESP3, and
// compares go-redis's results and the raw replies.
func TestCompat_RESP3Types(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	targets := []struct{ name, addr string }{
		{"leader", l.ClientAddr()}, {"follower", cl.Followers(l)[0].ClientAddr()},
	}
	ctx := context.Background()
	for i, tc := range resp3Cases {
		args, err := splitArgs(tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%02d_%s", i, strings.Join(args[:min(2, len(args))], "_")), func(t *testing.T) {
			for _, tg := range targets {
				prefix := fmt.Sprintf("r3.%d.%s:", i, tg.name)
				who := [2]string{"redis-server", "understudy (" + tg.name + ")"}
				var goVals, rawVals [2]val
				for side, addr := range []string{redisAddr, tg.addr} {
					rdb := newClient(t, addr, 3)
					raw := mustDial(t, addr, 3)
					// go-redis and the raw client each get their own keys.
					viaGo := func(line, p string) val {
						a, _ := splitArgs(line)
						x, err := rdb.Do(ctx, toAny(expand(a, p, 3))...).Result()
						return fromGoRedis(x, err)
					}
					viaRaw := func(line, p string) val {
						a, _ := splitArgs(line)
						v, err := raw.do(expand(a, p, 3)...)
						if err != nil {
							t.Fatalf("%s %s: %v", who[side], line, err)
						}
						return v
					}
					for _, st := range resp3Setup {
						viaGo(st, prefix)
						viaRaw(st, prefix+"raw.")
					}
					goVals[side] = viaGo(tc.cmd, prefix)
					rawVals[side] = viaRaw(tc.cmd, prefix+"raw.")
					// go-redis's Go types for the kinds that have one.
					if want, ok := map[kind]kind{kMap: kMap, kDouble: kDouble, kNil: kNil}[tc.wire]; ok && goVals[side].k != want {
						t.Errorf("%s through go-redis: %s gave %s, want a %s", tc.cmd, who[side], goVals[side], kindName[want])
					}
				}
				for side := range 2 {
					if tc.wire != 0 && rawVals[side].k != tc.wire {
						t.Errorf("%s: %s replied %s, want a RESP3 %s", tc.cmd, who[side], rawVals[side], kindName[tc.wire])
					}
				}
				render := func(v val, p string) string {
					if tc.random || tc.cmd == "HELLO 3" {
						return shapeOf(v)
					}
					if tc.unordered {
						v = unordered(v)
					}
					return strings.ReplaceAll(v.String(), p, "{}")
				}
				if r, u := render(rawVals[0], prefix+"raw."), render(rawVals[1], prefix+"raw."); r != u {
					t.Errorf("%s on the wire (RESP3):\n  redis-server: %s\n  %s: %s", tc.cmd, r, who[1], u)
				}
				if r, u := render(goVals[0], prefix), render(goVals[1], prefix); r != u {
					t.Errorf("%s through go-redis (RESP3):\n  redis-server: %s\n  %s: %s", tc.cmd, r, who[1], u)
				}
			}
		})
	}
}

var kindName = map[kind]string{kStatus: "simple string", kErr: "error", kInt: "integer", kStr: "bulk string",
	kNil: "null (_)", kNilArr: "null array", kArr: "array", kMap: "map", kSet: "set", kPush: "push",
	kDouble: "double", kBool: "boolean", kVerb: "verbatim string", kBig: "big number"}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// shapeOf renders only the types of a reply: kinds and lengths.
func shapeOf(v val) string {
	if !v.aggregate() {
		return kindName[v.k]
	}
	parts := make([]string, len(v.elems))
	for i, e := range v.elems {
		parts[i] = shapeOf(e)
	}
	return kindName[v.k] + "[" + strings.Join(parts, ", ") + "]"
}
