package compat

// MONITOR against redis-server: what another client's commands look like
// on a monitor of the node they reach (leader and follower), timestamps and
// client addresses left out.

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var monitorPrefix = regexp.MustCompile(`^\+[0-9]{10}\.[0-9]{6} \[([0-9]+) [^\]]+\] `)

func monitorLines(t *testing.T, addr string) []string {
	t.Helper()
	m, err := dialRaw(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if v, err := m.do("MONITOR"); err != nil || v.String() != "+OK" {
		t.Fatalf("MONITOR: %v %v", v, err)
	}
	c, err := dialRaw(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmds := [][]string{
		{"SET", "mon:a b", "x\"y\n\x01"},
		{"GET", "mon:a b"},
		{"SELECT", "3"},
		{"GET", "mon:k"},
		{"SELECT", "0"},
		{"CONFIG", "GET", "maxclients"}, // admin: not shown
		{"AUTH", "user", "secret"},      // shown redacted
		{"NOSUCH"},                      // refused: not shown
		{"GET"},                         // refused: not shown
		{"MULTI"}, {"INCR", "mon:n"}, {"EXEC"},
		{"PING", "last"},
	}
	for _, cmd := range cmds {
		if _, err := c.do(cmd...); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	var out []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		v, err := m.readWithin(2 * time.Second)
		if err != nil {
			t.Fatalf("reading the monitor: %v (so far %q)", err, out)
		}
		line := "+" + v.s
		sub := monitorPrefix.FindStringSubmatch(line)
		if sub == nil {
			t.Fatalf("monitor line %q", line)
		}
		out = append(out, "["+sub[1]+"] "+line[len(sub[0]):])
		if strings.Contains(line, `"last"`) {
			return out
		}
	}
	t.Fatalf("the monitor never showed PING last: %q", out)
	return nil
}

func TestCompat_Monitor(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	want := strings.Join(monitorLines(t, redisAddr), "\n")
	for _, n := range []*cnode{l, cl.Followers(l)[0]} {
		if got := strings.Join(monitorLines(t, n.ClientAddr()), "\n"); got != want {
			t.Errorf("MONITOR on %s:\n%s\nredis-server:\n%s", n.ID, got, want)
		}
	}
}
