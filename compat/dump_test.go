package compat

// DUMP, RESTORE and MIGRATE between redis-server 7.0.15 and the cluster, in
// both directions, with values of every type and encoding compared by what
// a client reads (a hashtable's DUMP bytes follow its dict's order, which
// differs; the differential script compares the bytes of the others).

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mustDo runs one command, failing the test on a connection error.
func mustDo(t *testing.T, c *rawConn, args ...string) val {
	t.Helper()
	v, err := c.do(args...)
	if err != nil {
		t.Fatalf("%.80q: %v", args, err)
	}
	return v
}

// mustOK runs a command that must not answer an error.
func mustOK(t *testing.T, c *rawConn, args ...string) val {
	t.Helper()
	v := mustDo(t, c, args...)
	if v.k == kErr {
		t.Fatalf("%.80q: %s", args, v)
	}
	return v
}

// readValue is what a client reads of key, the same for equal values
// whatever their encoding or order: its type and contents (sets and hashes
// sorted; a stream's entries, groups and pending summaries).
func readValue(t *testing.T, c *rawConn, key string) string {
	t.Helper()
	typ := mustOK(t, c, "TYPE", key).s
	var parts []string
	add := func(v val) { parts = append(parts, v.String()) }
	switch typ {
	case "string":
		add(mustOK(t, c, "GET", key))
	case "list":
		add(mustOK(t, c, "LRANGE", key, "0", "-1"))
	case "set":
		add(mustOK(t, c, "SORT", key, "ALPHA"))
	case "hash":
		v := mustOK(t, c, "HGETALL", key)
		var pairs []string
		for i := 0; i+1 < len(v.elems); i += 2 {
			pairs = append(pairs, v.elems[i].String()+"="+v.elems[i+1].String())
		}
		sort.Strings(pairs)
		parts = append(parts, strings.Join(pairs, ","))
	case "zset":
		add(mustOK(t, c, "ZRANGE", key, "0", "-1", "WITHSCORES"))
	case "stream":
		add(mustOK(t, c, "XRANGE", key, "-", "+"))
		groups := mustOK(t, c, "XINFO", "GROUPS", key)
		add(groups)
		for _, g := range groups.elems {
			add(mustOK(t, c, "XPENDING", key, g.elems[1].s))
		}
		info := mustOK(t, c, "XINFO", "STREAM", key)
		for i := 0; i+1 < len(info.elems); i += 2 {
			switch info.elems[i].s {
			case "length", "last-generated-id", "max-deleted-entry-id", "entries-added":
				add(info.elems[i+1])
			}
		}
	default:
		t.Fatalf("TYPE %s: %s", key, typ)
	}
	return typ + " " + strings.Join(parts, " ")
}

// fillEveryType makes, under prefix in c's current database, keys of every
// type and encoding: n of them, cycling through the kinds; every third key
// gets a TTL of 100-200 s. It returns the keys.
func fillEveryType(t *testing.T, c *rawConn, prefix string, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		k := fmt.Sprintf("%s%d", prefix, i)
		s := strconv.Itoa(i)
		switch i % 17 {
		case 0:
			mustOK(t, c, "SET", k, "v"+s)
		case 1:
			mustOK(t, c, "SET", k, s)
		case 2:
			mustOK(t, c, "SET", k, strings.Repeat("long-compressible-"+s, 20))
		case 3:
			mustOK(t, c, "RPUSH", k, "a", "b", s, "-12", "")
		case 4:
			args := []string{"RPUSH", k}
			for j := range 700 {
				args = append(args, fmt.Sprintf("element-%d-%d", i, j))
			}
			mustOK(t, c, args...)
		case 5:
			mustOK(t, c, "LPUSH", k, "x", "y", "z", s)
		case 6:
			mustOK(t, c, "SADD", k, "3", "1", "2", s, "-70000000000")
		case 7:
			args := []string{"SADD", k}
			for j := range 200 {
				args = append(args, fmt.Sprintf("m%d", j))
			}
			mustOK(t, c, args...)
		case 8:
			mustOK(t, c, "HSET", k, "f", "v", "g", s, "n", "12")
		case 9:
			args := []string{"HSET", k}
			for j := range 600 {
				args = append(args, fmt.Sprintf("f%d", j), fmt.Sprintf("v%d", j*i))
			}
			mustOK(t, c, args...)
		case 10:
			mustOK(t, c, "HSET", k, "long", strings.Repeat("x", 100))
		case 11:
			mustOK(t, c, "ZADD", k, "1", "a", "2.5", "b", "-3", "c", "inf", "d", s, "e")
		case 12:
			args := []string{"ZADD", k}
			for j := range 300 {
				args = append(args, strconv.Itoa(j%50)+".25", fmt.Sprintf("m%d", j))
			}
			mustOK(t, c, args...)
		case 13:
			for j := 1; j <= 250; j++ {
				mustOK(t, c, "XADD", k, fmt.Sprintf("%d-%d", j, i), "f", strconv.Itoa(j), "g", "w")
			}
			mustOK(t, c, "XDEL", k, "3-"+s)
			mustOK(t, c, "XGROUP", "CREATE", k, "grp", "0")
			mustOK(t, c, "XREADGROUP", "GROUP", "grp", "alice", "COUNT", "3", "STREAMS", k, ">")
			mustOK(t, c, "XGROUP", "CREATE", k, "late", "$")
		case 14:
			mustOK(t, c, "PFADD", k, "a", "b", "c", s)
		case 15:
			mustOK(t, c, "SETBIT", k, strconv.Itoa(100+i), "1")
		case 16:
			mustOK(t, c, "XADD", k, "5-5", "only", "entry")
		}
		if i%3 == 0 {
			mustOK(t, c, "EXPIRE", k, strconv.Itoa(100+i%100))
		}
		keys = append(keys, k)
	}
	return keys
}

// TestCompat_DumpRestoreRoundTrip DUMPs every type and encoding from
// redis-server, RESTOREs it here (through the leader and a follower),
// DUMPs it back here and RESTOREs that into redis-server, comparing what a
// client reads at every stop.
func TestCompat_DumpRestoreRoundTrip(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	r := mustDial(t, redisAddr, 2)
	prefix := fmt.Sprintf("rt%d:", time.Now().UnixNano())
	keys := fillEveryType(t, r, prefix, 34)
	for i, n := range []*cnode{l, cl.Followers(l)[0]} {
		u := mustDial(t, n.ClientAddr(), 2)
		for _, k := range keys {
			want := readValue(t, r, k)
			p := mustOK(t, r, "DUMP", k).s
			here := fmt.Sprintf("%s-%d", k, i)
			mustOK(t, u, "RESTORE", here, "0", p)
			if got := readValue(t, u, here); got != want {
				t.Fatalf("%s RESTOREd here:\n got %.300s\nwant %.300s", k, got, want)
			}
			back := mustOK(t, u, "DUMP", here).s
			mustOK(t, r, "RESTORE", here, "0", back)
			if got := readValue(t, r, here); got != want {
				t.Fatalf("%s back in redis-server:\n got %.300s\nwant %.300s", k, got, want)
			}
			// Both RESTOREd the same payload: the same encoding.
			if enc, ours := mustOK(t, r, "OBJECT", "ENCODING", here), mustOK(t, u, "OBJECT", "ENCODING", here); enc.String() != ours.String() {
				t.Errorf("%s: OBJECT ENCODING %s in redis-server, %s here", k, enc, ours)
			}
			if typ := mustOK(t, r, "TYPE", k).s; typ != "set" && typ != "hash" && back != p {
				if enc := mustOK(t, r, "OBJECT", "ENCODING", k).s; typ != "string" || enc != "raw" {
					t.Errorf("%s (%s %s): DUMP here differs from redis-server's", k, typ, enc)
				}
			}
		}
	}
}

// TestCompat_MigrateFromRedis: redis-server MIGRATEs several hundred keys
// of every type, with TTLs, from databases 0 and 3 into the cluster (into
// the leader and into a follower, several keys at once and one at a time,
// COPY and REPLACE) and every value, type and TTL arrives.
func TestCompat_MigrateFromRedis(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	r := mustDial(t, redisAddr, 2)
	prefix := fmt.Sprintf("mig%d:", time.Now().UnixNano())
	type source struct {
		db     string
		target *cnode
		keys   []string
		want   map[string]string
		pttl   map[string]int64
	}
	sources := []*source{{db: "0", target: l}, {db: "3", target: f}}
	for _, s := range sources {
		mustOK(t, r, "SELECT", s.db)
		s.keys = fillEveryType(t, r, prefix+s.db+":", 340)
		s.want, s.pttl = map[string]string{}, map[string]int64{}
		for _, k := range s.keys {
			s.want[k] = readValue(t, r, k)
			s.pttl[k] = mustOK(t, r, "PTTL", k).i
		}
	}
	for _, s := range sources {
		host, port, _ := net.SplitHostPort(s.target.ClientAddr())
		mustOK(t, r, "SELECT", s.db)
		// The first key alone, then the rest in batches (KEYS), the last
		// batch with REPLACE over keys already there, and one with COPY.
		if v := mustDo(t, r, "MIGRATE", host, port, s.keys[0], s.db, "10000"); v.String() != "+OK" {
			t.Fatalf("MIGRATE %s: %s", s.keys[0], v)
		}
		if v := mustDo(t, r, "MIGRATE", host, port, s.keys[0], s.db, "10000"); v.String() != "+NOKEY" {
			t.Fatalf("MIGRATE of a key already moved: %s", v)
		}
		u := mustDial(t, s.target.ClientAddr(), 2)
		mustOK(t, u, "SELECT", s.db)
		mustOK(t, u, "SET", s.keys[1], "in the way")
		v := mustDo(t, r, "MIGRATE", host, port, "", s.db, "10000", "KEYS", s.keys[1])
		if !strings.HasPrefix(v.s, "ERR Target instance replied with error: BUSYKEY") {
			t.Fatalf("MIGRATE onto an existing key: %s", v)
		}
		mustOK(t, r, "MIGRATE", host, port, "", s.db, "10000", "COPY", "KEYS", s.keys[2])
		if mustOK(t, r, "EXISTS", s.keys[2]).i != 1 {
			t.Fatalf("MIGRATE COPY deleted the source key")
		}
		rest := s.keys[1:]
		for len(rest) > 0 {
			n := min(len(rest), 100)
			args := append([]string{"MIGRATE", host, port, "", s.db, "10000", "REPLACE", "KEYS"}, rest[:n]...)
			if v := mustDo(t, r, args...); v.String() != "+OK" {
				t.Fatalf("MIGRATE of %d keys into %s: %s", n, s.target.ID, v)
			}
			rest = rest[n:]
		}
		if n := mustOK(t, r, append([]string{"EXISTS"}, s.keys...)...).i; n != 0 {
			t.Errorf("redis-server db %s still has %d of the keys after MIGRATE", s.db, n)
		}
	}
	for _, s := range sources {
		for _, n := range []*cnode{l, f} {
			u := mustDial(t, n.ClientAddr(), 2)
			mustOK(t, u, "SELECT", s.db)
			for _, k := range s.keys {
				if got := readValue(t, u, k); got != s.want[k] {
					t.Fatalf("db %s %s on %s:\n got %.300s\nwant %.300s", s.db, k, n.ID, got, s.want[k])
				}
				pttl := mustOK(t, u, "PTTL", k).i
				if want := s.pttl[k]; (want == -1) != (pttl == -1) || pttl > want || (want > 0 && pttl < want-60_000) {
					t.Errorf("db %s %s on %s: PTTL %d, %d in redis-server before MIGRATE", s.db, k, n.ID, pttl, want)
				}
			}
		}
	}
}
