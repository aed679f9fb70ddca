package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// redisCLI runs the real redis-cli against addr and returns its stdout.
func redisCLI(t *testing.T, addr string, stdin []byte, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("redis-cli %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestProcess_RedisCLIRoundTrip drives the cluster with the real redis-cli
// (Debian redis-tools), on the leader and on a follower (forwarding).
func TestProcess_RedisCLIRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		if os.Getenv("UNDERSTUDY_REQUIRE_REDIS_CLI") == "1" {
			t.Fatal("redis-cli not on PATH and UNDERSTUDY_REQUIRE_REDIS_CLI=1 (apt-get install redis-tools)")
		}
		t.Skip("redis-cli not on PATH (set UNDERSTUDY_REQUIRE_REDIS_CLI=1 to make this a failure)")
	}
	c := startProcCluster(t)
	leader := findLeader(t, c, 15*time.Second)
	var follower *proc
	for _, p := range c.procs {
		if p != leader {
			follower = p
			break
		}
	}
	// A follower forwards only once it knows the leader's client address.
	fc := follower.client()
	waitFor(t, 10*time.Second, func() bool { _, err := fc.Do("GET", "nothing"); return err == nil }, "follower %s cannot forward", follower.id)
	fc.Close()

	for _, tc := range []struct {
		name, role string
		p          *proc
	}{{"leader", "master", leader}, {"follower", "slave", follower}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.p.clientAddr
			k := "k-" + tc.name
			expect := func(got, want string, args ...string) {
				t.Helper()
				if got = strings.TrimRight(got, "\n"); got != want {
					t.Errorf("redis-cli %s on %s: got %q, want %q", strings.Join(args, " "), tc.p.id, got, want)
				}
			}
			run := func(want string, args ...string) {
				t.Helper()
				expect(redisCLI(t, addr, nil, args...), want, args...)
			}
			run("OK", "SET", k, "v")
			run("v", "GET", k)
			run("1", "INCR", "n-"+tc.name)
			run("PONG", "PING")
			run("hello", "ECHO", "hello")

			// ROLE, as redis-cli prints it without a terminal: one item a line.
			roleOut := redisCLI(t, addr, nil, "ROLE")
			if first := strings.SplitN(roleOut, "\n", 2)[0]; first != tc.role {
				t.Errorf("ROLE on %s: first line %q, want %q\n%s", tc.p.id, first, tc.role, roleOut)
			}
			if tc.role == "slave" && !strings.Contains(roleOut, fmt.Sprint(portOf(leader.clientAddr))) {
				t.Errorf("ROLE on follower %s does not name the leader's port %d:\n%s", tc.p.id, portOf(leader.clientAddr), roleOut)
			}
			infoOut := redisCLI(t, addr, nil, "INFO", "replication")
			if !strings.Contains(infoOut, "role:"+tc.role) || !strings.Contains(infoOut, "# Replication") {
				t.Errorf("INFO replication on %s lacks role:%s:\n%s", tc.p.id, tc.role, infoOut)
			}

			// -r repeats one command on one connection.
			out := redisCLI(t, addr, nil, "-r", "100", "INCR", "c-"+tc.name)
			if got := lastLine(out); got != "100" || strings.Count(out, "\n") != 100 {
				t.Errorf("-r 100 INCR on %s: %d lines, last %q; want 100 lines ending in 100", tc.p.id, strings.Count(out, "\n"), got)
			}

			// --pipe sends raw RESP and counts replies and errors.
			var in bytes.Buffer
			const n = 1000
			for i := range n {
				key := fmt.Sprintf("pipe-%s-%d", tc.name, i)
				fmt.Fprintf(&in, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nx\r\n", len(key), key)
			}
			out = redisCLI(t, addr, in.Bytes(), "--pipe")
			if !strings.Contains(out, fmt.Sprintf("errors: 0, replies: %d", n)) {
				t.Errorf("--pipe on %s: %q, want errors: 0, replies: %d", tc.p.id, out, n)
			}
			run("x", "GET", fmt.Sprintf("pipe-%s-%d", tc.name, n-1))
			run("100", "GET", "c-"+tc.name)
		})
	}

	// What one node wrote, the other reads.
	if got := strings.TrimSpace(redisCLI(t, leader.clientAddr, nil, "GET", "k-follower")); got != "v" {
		t.Errorf("GET k-follower on the leader: %q, want v", got)
	}
	if got := strings.TrimSpace(redisCLI(t, follower.clientAddr, nil, "GET", "pipe-leader-999")); got != "x" {
		t.Errorf("GET pipe-leader-999 on the follower: %q, want x", got)
	}
}
