package compat

// Client-side caching and the CLIENT subcommands around it: the same
// conversation with redis-server 7.0.15 and with a follower of the cluster
// (whose reads are forwarded, and whose invalidations come from the writes
// it applies) gives the same replies and the same pushed invalidations.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// trackingConversation runs the conversation on addr (writes go to
// writeAddr: the leader for the cluster, the same server for Redis) and
// returns what every connection saw, one line per reply or push.
func trackingConversation(t *testing.T, addr, writeAddr, p string) []string {
	var log []string
	ids := regexp.MustCompile(`(REDIRECT|GETREDIR[^:]*:) \(?[a-z]*\)? ?[0-9]+`)
	note := func(who string, v val, err error) {
		line := strings.ReplaceAll(fmt.Sprintf("%s: %v %v", who, v, err), p, "{}")
		log = append(log, ids.ReplaceAllString(line, "$1 <id>")) // client ids differ
	}
	do := func(who string, c *rawConn, args ...string) {
		v, err := c.do(args...)
		note(who+" "+strings.Join(args, " "), v, err)
	}
	// push reads one pushed message, or notes that none came.
	push := func(who string, c *rawConn) {
		v, err := c.readWithin(3 * time.Second)
		note(who+" <push>", v, err)
	}
	w := mustDial(t, writeAddr, 2)
	k := func(s string) string { return p + s }

	// RESP3, default mode: a read is remembered, a write invalidates once.
	a := mustDial(t, addr, 3)
	do("a", a, "CLIENT", "TRACKING", "ON")
	do("a", a, "CLIENT", "TRACKINGINFO")
	do("a", a, "GET", k("x"))
	do("a", a, "MGET", k("y"), k("z"))
	do("w", w, "SET", k("x"), "1")
	push("a", a)
	do("w", w, "MSET", k("y"), "1", k("z"), "2")
	push("a", a)
	push("a", a)
	do("w", w, "SET", k("x"), "2") // not read again: no second invalidation
	do("a", a, "PING")

	// BCAST with prefixes: every matching write, read or not, batched.
	b := mustDial(t, addr, 3)
	do("b", b, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", k("user:"), "PREFIX", k("cfg:"))
	do("b", b, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", k("user:1"))
	do("b", b, "CLIENT", "TRACKINGINFO")
	do("w", w, "SET", k("user:7"), "v")
	push("b", b)
	do("w", w, "SET", k("other"), "v")
	do("w", w, "SET", k("cfg:a"), "v")
	push("b", b)

	// OPTIN: only reads after CLIENT CACHING YES are remembered.
	o := mustDial(t, addr, 3)
	do("o", o, "CLIENT", "TRACKING", "ON", "OPTIN")
	do("o", o, "CLIENT", "CACHING", "NO")
	do("o", o, "GET", k("o1"))
	do("o", o, "CLIENT", "CACHING", "YES")
	do("o", o, "GET", k("o2"))
	do("w", w, "SET", k("o1"), "v")
	do("w", w, "SET", k("o2"), "v")
	push("o", o)

	// RESP2 with REDIRECT to a subscriber of __redis__:invalidate.
	sub := mustDial(t, addr, 2)
	id, err := sub.do("CLIENT", "ID")
	if err != nil {
		t.Fatal(err)
	}
	do("sub", sub, "SUBSCRIBE", "__redis__:invalidate")
	r := mustDial(t, addr, 2)
	do("r", r, "CLIENT", "TRACKING", "ON", "REDIRECT", fmt.Sprint(id.i))
	do("r", r, "CLIENT", "GETREDIR")
	do("r", r, "GET", k("r1"))
	do("w", w, "SET", k("r1"), "v")
	push("sub", sub)

	// Errors.
	e := mustDial(t, addr, 3)
	do("e", e, "CLIENT", "TRACKING", "ON", "PREFIX", "x")
	do("e", e, "CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT")
	do("e", e, "CLIENT", "TRACKING", "ON", "BCAST", "OPTIN")
	do("e", e, "CLIENT", "TRACKING", "ON", "REDIRECT", "999999")
	do("e", e, "CLIENT", "TRACKING", "MAYBE")
	do("e", e, "CLIENT", "CACHING", "YES")
	do("e", e, "CLIENT", "GETREDIR")

	// FLUSHALL invalidates everything a client tracks, with a null.
	f := mustDial(t, addr, 3)
	do("f", f, "CLIENT", "TRACKING", "ON")
	do("f", f, "GET", k("f1"))
	do("w", w, "FLUSHALL")
	push("f", f)

	// CLIENT REPLY: OFF and SKIP answer nothing, ON answers OK.
	q := mustDial(t, addr, 2)
	for _, args := range [][]string{{"CLIENT", "REPLY", "SKIP"}, {"PING", "skipped"}} {
		if err := q.send(args...); err != nil { // no reply to either
			t.Fatal(err)
		}
	}
	do("q", q, "PING", "after-skip")
	if err := q.send("CLIENT", "REPLY", "OFF"); err != nil {
		t.Fatal(err)
	}
	if err := q.send("SET", k("silent"), "1"); err != nil {
		t.Fatal(err)
	}
	do("q", q, "CLIENT", "REPLY", "ON")
	do("q", q, "GET", k("silent"))
	return log
}

func TestCompat_ClientTracking(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	rc := mustDial(t, redisAddr, 2)
	if v, err := rc.do("FLUSHALL"); err != nil || v.k == kErr {
		t.Fatal(v, err)
	}
	p := fmt.Sprintf("trk%d:", time.Now().UnixNano())
	want := trackingConversation(t, redisAddr, redisAddr, p)
	got := trackingConversation(t, f.ClientAddr(), l.ClientAddr(), p)
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("step %d:\n redis-server: %s\n understudy:   %s", i, w, g)
		}
	}
}
