package compat

// CLIENT LIST, INFO, KILL and HELP with real go-redis clients on the leader
// and on a follower (the CLIENT commands describe the node that answers).
// The differential script covers their errors; what they list differs
// between two servers, so it is checked here.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clientLines parses CLIENT LIST (or INFO) output into field maps.
func clientLines(t *testing.T, s string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		m := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				t.Fatalf("CLIENT LIST field %q has no '=' in %q", f, line)
			}
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

func ids(lines []map[string]string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l["id"])
	}
	return out
}

func TestCompat_ClientListInfoKill(t *testing.T) {
	cl := shared(t)
	l := cl.SettledLeader(t)
	for _, tg := range []struct {
		name string
		addr string
	}{{"leader", l.ClientAddr()}, {"follower", cl.Followers(l)[0].ClientAddr()}} {
		for _, proto := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/RESP%d", tg.name, proto), func(t *testing.T) {
				testClientCommands(t, tg.addr, proto, tg.name == "leader")
			})
		}
	}
}

// testClientCommands checks CLIENT on the node at addr; leads says whether
// it is the leader (a follower relays MULTI ... EXEC to the leader, where
// the CLIENT commands queued in it then run).
func testClientCommands(t *testing.T, addr string, proto int, leads bool) {
	ctx := ctxT(t, 30*time.Second)
	tag := fmt.Sprintf("cli%d-%d", proto, time.Now().UnixNano())
	named := func(name string) *redis.Client {
		rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, MaxRetries: -1, PoolSize: 1,
			ClientName: name, ReadTimeout: 10 * time.Second})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	a := named(tag + "-a")
	aID, err := a.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}

	// CLIENT INFO: this connection, as CLIENT LIST shows it.
	info, err := a.ClientInfo(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT INFO (go-redis's parser): %v", err)
	}
	// (No lib-name: go-redis sends CLIENT SETINFO, which Redis 7.0 does not have.)
	if info.ID != aID || info.Name != tag+"-a" || info.DB != 0 || info.User != "default" || info.Resp != proto ||
		info.LastCmd != "client|info" {
		t.Errorf("CLIENT INFO: %+v; want id %d, name %s-a, db 0, user default, resp %d, cmd client|info", info, aID, tag, proto)
	}
	raw, err := a.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil {
		t.Fatal(err)
	}
	if ls := clientLines(t, raw); len(ls) != 1 || ls[0]["id"] != strconv.FormatInt(aID, 10) || ls[0]["flags"] != "N" ||
		!regexp.MustCompile(`^\d+$`).MatchString(ls[0]["age"]) || ls[0]["laddr"] != addr {
		t.Errorf("CLIENT INFO = %q; want one line for id %d, flags N, laddr %s", raw, aID, addr)
	}

	// A subscriber is of type pubsub (flags P), the others normal.
	sub := named(tag + "-sub")
	ps := sub.Subscribe(ctx, tag+".ch")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	list := func(args ...any) []map[string]string {
		t.Helper()
		s, err := a.Do(ctx, append([]any{"CLIENT", "LIST"}, args...)...).Text()
		if err != nil {
			t.Fatalf("CLIENT LIST %v: %v", args, err)
		}
		return clientLines(t, s)
	}
	var subID string
	for _, line := range list() {
		if line["name"] == tag+"-sub" {
			subID = line["id"]
			if line["flags"] != "P" || line["sub"] != "1" || line["cmd"] != "subscribe" {
				t.Errorf("the subscriber in CLIENT LIST: %v; want flags P, sub 1, cmd subscribe", line)
			}
		}
	}
	if subID == "" {
		t.Fatalf("CLIENT LIST does not show the subscriber %s-sub", tag)
	}
	a2 := strconv.FormatInt(aID, 10)
	pubsubIDs := ids(list("TYPE", "pubsub"))
	normalIDs := ids(list("TYPE", "NORMAL"))
	if !contains(pubsubIDs, subID) || contains(pubsubIDs, a2) || !contains(normalIDs, a2) || contains(normalIDs, subID) {
		t.Errorf("CLIENT LIST TYPE pubsub = %v, TYPE normal = %v; want the subscriber %s in the first only, client %s in the second only",
			pubsubIDs, normalIDs, subID, a2)
	}
	if got := ids(list("TYPE", "replica")); len(got) != 0 {
		t.Errorf("CLIENT LIST TYPE replica = %v, want none", got)
	}
	if got := ids(list("ID", subID, a2, "999999999")); len(got) != 2 || !contains(got, subID) || !contains(got, a2) {
		t.Errorf("CLIENT LIST ID %s %s 999999999 = %v", subID, a2, got)
	}

	// CLIENT KILL TYPE: the filters combine; the subscriber is pubsub.
	kill := func(args ...any) int64 {
		t.Helper()
		n, err := a.Do(ctx, append([]any{"CLIENT", "KILL"}, args...)...).Int64()
		if err != nil {
			t.Fatalf("CLIENT KILL %v: %v", args, err)
		}
		return n
	}
	if n := kill("TYPE", "normal", "ID", subID); n != 0 {
		t.Errorf("CLIENT KILL TYPE normal ID <subscriber> = %d, want 0", n)
	}
	if n := kill("TYPE", "pubsub", "ID", subID); n != 1 {
		t.Errorf("CLIENT KILL TYPE pubsub ID <subscriber> = %d, want 1", n)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if m, err := ps.Receive(rctx); err == nil {
		t.Errorf("the killed subscriber received %v, want its connection closed", m)
	}
	cancel()
	waitFor(t, 5*time.Second, func() bool { return !contains(ids(list()), subID) }, "the killed subscriber is still listed")

	// ADDR and LADDR name a raw connection; it is closed.
	for _, by := range []string{"ADDR", "LADDR"} {
		r, err := dialRaw(addr, proto)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		rid, err := r.do("CLIENT", "ID")
		if err != nil {
			t.Fatal(err)
		}
		target := r.nc.LocalAddr().String() // the server's ADDR of it
		if by == "LADDR" {
			target = addr
		}
		// LADDR matches every client of this port: narrow it by ID.
		if n := kill(by, target, "ID", strconv.FormatInt(rid.i, 10)); n != 1 {
			t.Errorf("CLIENT KILL %s %s ID %d = %d, want 1", by, target, rid.i, n)
		}
		if v, err := r.readWithin(5 * time.Second); !errors.Is(err, io.EOF) {
			t.Errorf("after CLIENT KILL %s the raw client read %v %v, want EOF", by, v, err)
		}
	}
	if n := kill("USER", "default", "ID", "999999999"); n != 0 {
		t.Errorf("CLIENT KILL USER default ID 999999999 = %d", n)
	}

	// A client that kills itself gets the reply, then the connection ends;
	// the old form answers OK; inside MULTI, after EXEC's reply.
	for _, c := range []struct {
		name string
		cmds [][]string
		want []string
	}{
		{"SKIPME no", [][]string{{"CLIENT", "KILL", "ID", "<self>", "SKIPME", "no"}}, []string{"(integer) 1"}},
		{"old form", [][]string{{"CLIENT", "KILL", "<addr>"}}, []string{"+OK"}},
		{"in MULTI", [][]string{{"MULTI"}, {"CLIENT", "KILL", "ID", "<self>", "SKIPME", "no"}, {"PING"}, {"EXEC"}},
			[]string{"+OK", "+QUEUED", "+QUEUED", "[(integer) 1, +PONG]"}},
	} {
		if c.name == "in MULTI" && !leads {
			continue
		}
		r, err := dialRaw(addr, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		rid, err := r.do("CLIENT", "ID")
		if err != nil {
			t.Fatal(err)
		}
		for i, cmd := range c.cmds {
			args := make([]string, len(cmd))
			for j, a := range cmd {
				args[j] = strings.NewReplacer("<self>", strconv.FormatInt(rid.i, 10), "<addr>", r.nc.LocalAddr().String()).Replace(a)
			}
			if v, err := r.do(args...); err != nil || v.String() != c.want[i] {
				t.Errorf("%s: %v = %v %v, want %s", c.name, args, v, err, c.want[i])
			}
		}
		if v, err := r.readWithin(5 * time.Second); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after killing itself the client read %v %v, want EOF", c.name, v, err)
		}
	}

	// CLIENT HELP: Redis 7.0's layout, every subcommand served (SETINFO and
	// NO-TOUCH came in 7.2, so 7.0.15 does not describe them).
	help, err := a.Do(ctx, "CLIENT", "HELP").StringSlice()
	if err != nil || len(help) == 0 || !strings.HasPrefix(help[0], "CLIENT <subcommand>") || help[len(help)-2] != "HELP" {
		t.Fatalf("CLIENT HELP = %q %v", help, err)
	}
	text := strings.Join(help, "\n")
	for _, subcmd := range []string{"GETNAME", "ID", "INFO", "KILL", "LIST", "SETNAME", "NO-EVICT", "PAUSE", "UNPAUSE", "REPLY", "TRACKING", "UNBLOCK", "HELP"} {
		if !regexp.MustCompile(`(?m)^` + subcmd + `\b`).MatchString(text) {
			t.Errorf("CLIENT HELP does not describe %s:\n%s", subcmd, text)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
