package compat

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// TestCompat_MigrateToRedis: MIGRATE from the cluster into redis-server,
// sent to the leader and to a follower (which forwards it), from databases
// 0 and 3: every value, type and TTL arrives, the keys leave the cluster
// (not with COPY), and the target's errors come back as Redis words them
// (compared with redis-server's own MIGRATE to itself).
func TestCompat_MigrateToRedis(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	r := mustDial(t, redisAddr, 2)
	host, port, _ := net.SplitHostPort(redisAddr)
	prefix := fmt.Sprintf("out%d:", time.Now().UnixNano())
	for _, c := range []struct {
		db string
		n  *cnode
	}{{"0", l}, {"3", f}} {
		u := mustDial(t, c.n.ClientAddr(), 2)
		mustOK(t, u, "SELECT", c.db)
		mustOK(t, r, "SELECT", c.db)
		keys := fillEveryType(t, u, prefix+c.db+":", 120)
		want, pttl := map[string]string{}, map[string]int64{}
		for _, k := range keys {
			want[k], pttl[k] = readValue(t, u, k), mustOK(t, u, "PTTL", k).i
		}
		if v := mustDo(t, u, "MIGRATE", host, port, keys[0], c.db, "10000"); v.String() != "+OK" {
			t.Fatalf("MIGRATE %s via %s: %s", keys[0], c.n.ID, v)
		}
		if v := mustDo(t, u, "MIGRATE", host, port, keys[0], c.db, "10000"); v.String() != "+NOKEY" {
			t.Fatalf("MIGRATE of a key already moved: %s", v)
		}
		mustOK(t, r, "SET", keys[1], "in the way")
		v := mustDo(t, u, "MIGRATE", host, port, "", c.db, "10000", "KEYS", keys[1], keys[2])
		if v.String() != "-ERR Target instance replied with error: BUSYKEY Target key name already exists." {
			t.Fatalf("MIGRATE onto an existing key: %s", v)
		}
		if mustOK(t, u, "EXISTS", keys[1]).i != 1 || mustOK(t, u, "EXISTS", keys[2]).i != 0 {
			t.Fatalf("after a MIGRATE with one key refused, the refused key must stay and the other go")
		}
		mustOK(t, u, "MIGRATE", host, port, "", c.db, "10000", "COPY", "REPLACE", "KEYS", keys[3])
		if mustOK(t, u, "EXISTS", keys[3]).i != 1 {
			t.Fatalf("MIGRATE COPY deleted the source key")
		}
		rest := keys[1:]
		for len(rest) > 0 {
			n := min(len(rest), 50)
			args := append([]string{"MIGRATE", host, port, "", c.db, "10000", "REPLACE", "KEYS"}, rest[:n]...)
			if v := mustDo(t, u, args...); v.String() != "+OK" && v.String() != "+NOKEY" {
				t.Fatalf("MIGRATE of %d keys via %s: %s", n, c.n.ID, v)
			}
			rest = rest[n:]
		}
		if n := mustOK(t, u, append([]string{"EXISTS"}, keys...)...).i; n != 0 {
			t.Errorf("db %s: %d keys still in the cluster after MIGRATE", c.db, n)
		}
		for _, k := range keys {
			if got := readValue(t, r, k); got != want[k] {
				t.Fatalf("db %s %s in redis-server:\n got %.300s\nwant %.300s", c.db, k, got, want[k])
			}
			got := mustOK(t, r, "PTTL", k).i
			if w := pttl[k]; (w == -1) != (got == -1) || got > w || (w > 0 && got < w-60_000) {
				t.Errorf("db %s %s: PTTL %d in redis-server, %d here before MIGRATE", c.db, k, got, w)
			}
		}
	}
	// The target's own errors, word for word: redis-server's reply to the
	// command MIGRATE sent, after Redis's "Target instance replied with
	// error: ". (redis-server cannot MIGRATE to itself: it would wait on its
	// own reply.)
	u := mustDial(t, f.ClientAddr(), 2)
	k := prefix + "errors"
	for _, c := range []struct{ opts, direct []string }{
		{[]string{"AUTH", "secret"}, []string{"AUTH", "secret"}},
		{[]string{"AUTH2", "nobody", "secret"}, []string{"AUTH", "nobody", "secret"}},
		{nil, []string{"SELECT", "99"}},
	} {
		mustOK(t, u, "SET", k, "v")
		db := "0"
		if c.opts == nil {
			db = "99"
		}
		ours := mustDo(t, u, append([]string{"MIGRATE", host, port, k, db, "10000"}, c.opts...)...)
		theirs := mustDo(t, r, c.direct...)
		if want := "-ERR Target instance replied with error: " + theirs.s; theirs.k != kErr || ours.String() != want {
			t.Errorf("MIGRATE %q:\n got %s\nwant %s", c.opts, ours, want)
		}
		if mustOK(t, u, "EXISTS", k).i != 1 {
			t.Errorf("MIGRATE %q refused by the target deleted the key", c.opts)
		}
	}
}

// TestCompat_MigrateFromRedisWithAuth: redis-server's MIGRATE with AUTH and
// AUTH2 into a cluster that requires a password, through the leader and a
// follower (which authenticates the client and relays as it); a wrong
// password comes back as the cluster's WRONGPASS and the key stays in Redis.
func TestCompat_MigrateFromRedisWithAuth(t *testing.T) {
	needRedis(t)
	cl, err := startCluster("mauth", func(c *server.Config) { c.RequirePass = "sekret" })
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	l := cl.SettledLeader(t)
	r := mustDial(t, redisAddr, 2)
	prefix := fmt.Sprintf("mauth%d:", time.Now().UnixNano())
	mustOK(t, r, "SELECT", "4")
	for i, c := range []struct {
		n    *cnode
		auth []string
		want string
	}{
		{l, []string{"AUTH", "sekret"}, "+OK"},
		{cl.Followers(l)[0], []string{"AUTH2", "default", "sekret"}, "+OK"},
		// redis-server keeps its connection to a target for 10 s, and a
		// failed AUTH leaves it authenticated: a node not used yet.
		{cl.Followers(l)[1], []string{"AUTH", "wrong"}, "-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled."},
	} {
		k := fmt.Sprintf("%s%d", prefix, i)
		mustOK(t, r, "HSET", k, "f", "v")
		mustOK(t, r, "PEXPIRE", k, "100000")
		host, port, _ := net.SplitHostPort(c.n.ClientAddr())
		args := append([]string{"MIGRATE", host, port, "", "4", "10000"}, c.auth...)
		if v := mustDo(t, r, append(args, "KEYS", k)...); v.String() != c.want {
			t.Fatalf("MIGRATE %q into %s: %s, want %s", c.auth, c.n.ID, v, c.want)
		}
		u := mustDial(t, c.n.ClientAddr(), 2)
		mustOK(t, u, "AUTH", "sekret")
		mustOK(t, u, "SELECT", "4")
		moved := c.want == "+OK"
		if got := mustOK(t, u, "EXISTS", k).i; got != map[bool]int64{true: 1}[moved] {
			t.Fatalf("MIGRATE %q: EXISTS %d in the cluster", c.auth, got)
		}
		if got := mustOK(t, r, "EXISTS", k).i; got != map[bool]int64{false: 1}[moved] {
			t.Fatalf("MIGRATE %q: EXISTS %d in redis-server", c.auth, got)
		}
		if moved {
			if v := readValue(t, u, k); v != `hash "f"="v"` {
				t.Fatalf("migrated value: %s", v)
			}
			if pttl := mustOK(t, u, "PTTL", k).i; pttl <= 0 || pttl > 100000 {
				t.Fatalf("migrated PTTL %d", pttl)
			}
		}
	}
}
