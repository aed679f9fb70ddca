package compat

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCompat_ReadOnlyScriptsOnAReadonlyFollower: a READONLY connection to a
// follower runs EVAL_RO, EVALSHA_RO, FCALL_RO and `no-writes` scripts
// itself, and sees the writes its connection made before (through the
// leader); a write inside them gets the error redis-server gives for the
// same script, in RESP2 and RESP3.
func TestCompat_ReadOnlyScriptsOnAReadonlyFollower(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	lib := fmt.Sprintf("#!lua name=rofollow%d\n", time.Now().UnixNano()) +
		"redis.register_function{function_name='rof_get', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}\n" +
		"redis.register_function{function_name='rof_set', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}"
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			us := mustDial(t, f.ClientAddr(), proto)
			rs := mustDial(t, redisAddr, proto)
			must := func(c *rawConn, args ...string) val {
				t.Helper()
				v, err := c.do(args...)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				return v
			}
			if v := must(us, "READONLY"); v.k == kErr {
				t.Fatalf("READONLY: %v", v)
			}
			key := fmt.Sprintf("rof:%d:%d", proto, time.Now().UnixNano())
			getBody := "return redis.call('get', KEYS[1])"
			setBody := "return redis.call('set', KEYS[1], 'y')"
			sha := must(us, "SCRIPT", "LOAD", getBody).s
			must(rs, "SCRIPT", "LOAD", getBody)
			if v := must(us, "FUNCTION", "LOAD", "REPLACE", lib); v.k == kErr {
				t.Fatalf("FUNCTION LOAD through the follower: %v", v)
			}
			must(rs, "FUNCTION", "LOAD", "REPLACE", lib)
			for i := range 20 {
				want := fmt.Sprint(i)
				must(us, "SET", key, want)
				must(rs, "SET", key, want)
				// Each read on the follower must see the SET just made.
				for _, cmd := range [][]string{
					{"EVAL_RO", getBody, "1", key},
					{"EVALSHA_RO", sha, "1", key},
					{"FCALL_RO", "rof_get", "1", key},
					{"EVAL", "#!lua flags=no-writes\n" + getBody, "1", key},
				} {
					u, r := must(us, cmd...), must(rs, cmd...)
					if u.String() != r.String() || u.s != want {
						t.Fatalf("%s after SET %s: understudy %v, redis-server %v", cmd[0], want, u, r)
					}
				}
			}
			for _, cmd := range [][]string{
				{"EVAL_RO", setBody, "1", key},
				{"EVAL", "#!lua flags=no-writes\n" + setBody, "1", key},
				{"FCALL_RO", "rof_set", "1", key},
				{"FCALL", "rof_set", "1", key},
			} {
				u, r := must(us, cmd...), must(rs, cmd...)
				if u.String() != r.String() || u.k != kErr || !strings.Contains(u.s, "Write commands are not allowed from read-only scripts") {
					t.Errorf("%s with a write on a READONLY follower: understudy %v, redis-server %v", cmd[0], u, r)
				}
			}
			if u := must(us, "GET", key); u.s != "19" {
				t.Errorf("GET after the refused writes: %v, want 19", u)
			}
		})
	}
}
