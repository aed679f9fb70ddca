package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// redisCLIAny runs redis-cli against addr and returns stdout and stderr
// whatever its exit code (error replies are what some steps check).
func redisCLIAny(t *testing.T, addr string, args ...string) (string, string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	return strings.TrimRight(stdout.String(), "\n"), stderr.String()
}

// TestProcess_AuthWithRedisCLI runs a cluster with --requirepass-file and
// --admin-token-file and drives it with redis-cli -a (forwarding through a
// follower) and the admin CLI with --token-file. The followers' own admin
// calls to the leader (registering their addresses) need the token from the
// file too: ROLE on the leader lists them only once those succeeded.
func TestProcess_AuthWithRedisCLI(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		if os.Getenv("UNDERSTUDY_REQUIRE_REDIS_CLI") == "1" {
			t.Fatal("redis-cli not on PATH and UNDERSTUDY_REQUIRE_REDIS_CLI=1 (apt-get install redis-tools)")
		}
		t.Skip("redis-cli not on PATH (set UNDERSTUDY_REQUIRE_REDIS_CLI=1 to make this a failure)")
	}
	dir := t.TempDir()
	passFile := filepath.Join(dir, "requirepass")
	tokenFile := filepath.Join(dir, "token")
	for p, v := range map[string]string{passFile: "cli-secret\n", tokenFile: "cli-token\n"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := startProcCluster(t, withArgs("--requirepass-file", passFile, "--admin-token-file", tokenFile))
	auth := []string{"-a", "cli-secret", "--no-auth-warning"}

	var leader *proc
	waitFor(t, 20*time.Second, func() bool {
		for _, p := range c.procs {
			if out, _ := redisCLIAny(t, p.clientAddr, append(auth, "ROLE")...); strings.HasPrefix(out, "master\n") {
				leader = p
				return true
			}
		}
		return false
	}, "no node answers ROLE master to redis-cli -a")
	var follower *proc
	for _, p := range c.procs {
		if p != leader {
			follower = p
			break
		}
	}
	waitFor(t, 20*time.Second, func() bool {
		out, _ := redisCLIAny(t, leader.clientAddr, append(auth, "ROLE")...)
		for _, p := range c.procs {
			if p != leader && !strings.Contains(out, fmt.Sprint(portOf(p.clientAddr))) {
				return false
			}
		}
		return true
	}, "the leader's ROLE never lists both followers: they could not register with the admin token from the file")

	if out, _ := redisCLIAny(t, follower.clientAddr, "GET", "k"); out != "NOAUTH Authentication required." {
		t.Errorf("GET without -a: %q", out)
	}
	if out, stderr := redisCLIAny(t, follower.clientAddr, "-a", "wrong", "--no-auth-warning", "GET", "k"); !strings.Contains(out+stderr, "WRONGPASS") {
		t.Errorf("GET with a wrong -a: %q %q", out, stderr)
	}
	waitFor(t, 10*time.Second, func() bool {
		out, _ := redisCLIAny(t, follower.clientAddr, append(auth, "SET", "k", "v")...)
		return out == "OK"
	}, "SET through the follower with -a never succeeded")
	if out, _ := redisCLIAny(t, leader.clientAddr, "--user", "default", "--pass", "cli-secret", "--no-auth-warning", "GET", "k"); out != "v" {
		t.Errorf("GET on the leader with --user/--pass: %q", out)
	}
	if out, _ := redisCLIAny(t, follower.clientAddr, append(auth, "ACL", "WHOAMI")...); out != "default" {
		t.Errorf("ACL WHOAMI: %q", out)
	}

	// The admin CLI: the token from a file; none, or both ways, is refused.
	admin := leader.adminAddr
	if code, out, stderr := runOnce(t, dir, nil, "snapshot", "--admin", admin, "--token-file", tokenFile); code != 0 {
		t.Errorf("snapshot --token-file: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runOnce(t, dir, []string{"UNDERSTUDY_ADMIN_TOKEN_FILE=" + tokenFile}, "snapshot", "--admin", admin); code != 0 {
		t.Errorf("snapshot with UNDERSTUDY_ADMIN_TOKEN_FILE: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runOnce(t, dir, nil, "snapshot", "--admin", admin); code == 0 || !strings.Contains(stderr, "admin token") {
		t.Errorf("snapshot without a token: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runOnce(t, dir, nil, "snapshot", "--admin", admin, "--token", "x", "--token-file", tokenFile); code == 0 || !strings.Contains(stderr, "--token and --token-file are exclusive") {
		t.Errorf("snapshot with --token and --token-file: exit %d\n%s", code, stderr)
	}
}
