package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy/understudy/rpc"
	"time"
)

// runOnce runs the binary to completion (bounded) in dir and returns its exit
// code, stdout and stderr.
func runOnce(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = hermeticEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("understudy %s: still running after 15s (killed)\nstderr: %s", strings.Join(args, " "), stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("understudy %s: %v", strings.Join(args, " "), err)
	}
	return code, stdout.String(), stderr.String()
}

// TestProcess_ServeFlagsAndEnv checks that bad configuration is refused
// before anything is opened, that UNDERSTUDY_* variables configure a node
// (and a flag beats the variable), and `understudy version`.
func TestProcess_ServeFlagsAndEnv(t *testing.T) {
	t.Run("Refused", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			env  []string
			want []string // all in stderr
		}{
			{"FollowerModeBogus", []string{"--follower-mode", "bogus"}, nil,
				[]string{`--follower-mode "bogus": want forward or redirect`}},
			{"PeersTwice", []string{"--peers", "n1=a,n1=b"}, nil,
				[]string{"--peers", `"n1" listed twice`}},
			{"PeersMalformed", []string{"--peers", "n1"}, nil,
				[]string{"--peers", "want ID=HOST:PORT"}},
			{"IDNotAmongPeers", []string{"--id", "n9", "--peers", "n1=127.0.0.1:1,n2=127.0.0.1:2"}, nil,
				[]string{`"n9" is not among the peers`}},
			{"EnvFollowerModeBogus", nil, []string{"UNDERSTUDY_FOLLOWER_MODE=sideways"},
				[]string{`--follower-mode "sideways"`}},
			{"EnvBadDuration", nil, []string{"UNDERSTUDY_HEARTBEAT_TIMEOUT=soon"},
				[]string{"UNDERSTUDY_HEARTBEAT_TIMEOUT", "soon"}},
			{"UnknownFlag", []string{"--no-such-flag"}, nil,
				[]string{"unknown flag: --no-such-flag"}},
			{"LeaseAboveHeartbeat", []string{"--leader-lease-timeout", "2s", "--heartbeat-timeout", "1s", "--election-timeout", "1s"}, nil,
				[]string{"leader lease timeout 2s must not exceed heartbeat timeout 1s"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				dataDir := filepath.Join(dir, "data")
				args := append([]string{"serve",
					"--data-dir", dataDir,
					"--raft-addr", freeAddr(t), "--client-addr", freeAddr(t), "--admin-addr", freeAddr(t),
				}, tc.args...)
				start := time.Now()
				code, _, stderr := runOnce(t, dir, tc.env, args...)
				if code == 0 {
					t.Fatalf("exit 0, want non-zero; stderr:\n%s", stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, stderr)
					}
				}
				if !strings.HasPrefix(stderr, "understudy: ") && !strings.Contains(stderr, "\nunderstudy: ") {
					t.Errorf("stderr has no 'understudy: <reason>' line:\n%s", stderr)
				}
				if _, err := os.Stat(dataDir); err == nil {
					t.Errorf("refused configuration still created %s", dataDir)
				}
				t.Logf("exit %d in %v: %s", code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(tail(stderr, 1)))
			})
		}
	})

	t.Run("Version", func(t *testing.T) {
		for _, arg := range []string{"version", "--version"} {
			code, stdout, stderr := runOnce(t, t.TempDir(), nil, arg)
			if code != 0 || stdout != "understudy "+stampedVersion+"\n" {
				t.Errorf("understudy %s: exit %d, stdout %q, stderr %q; want exit 0 and %q",
					arg, code, stdout, stderr, "understudy "+stampedVersion+"\n")
			}
		}
	})

	t.Run("EnvFollowerModeRedirect", func(t *testing.T) {
		// Every node gets UNDERSTUDY_FOLLOWER_MODE=redirect; n3 also gets
		// --follower-mode forward, which must win.
		c := startProcCluster(t, withEnv("UNDERSTUDY_FOLLOWER_MODE=redirect"), withNodeArgs(2, "--follower-mode", "forward"))
		leader := findLeader(t, c, 15*time.Second)
		n3 := c.proc("n3")
		if leader == n3 {
			// n3 must be a follower: hand leadership to n1.
			admin := rpc.NewClient(n3.adminAddr, "")
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			_, err := admin.TransferLeadership(ctx, "n1")
			cancel()
			if err != nil {
				t.Fatalf("transfer leadership from n3 to n1: %v", err)
			}
			waitFor(t, 15*time.Second, func() bool { return findLeader(t, c, 15*time.Second) != n3 }, "n3 still leads")
			leader = findLeader(t, c, 15*time.Second)
		}
		lc := leader.client()
		defer lc.Close()
		mustDo(t, lc, "SET", "k", "v")

		for _, p := range c.procs {
			if p == leader {
				continue
			}
			cl := p.client()
			var v any
			var err error
			// A follower knows the leader's client address once the leader's
			// metadata entry has been applied there.
			waitFor(t, 10*time.Second, func() bool {
				v, err = cl.Do("GET", "k")
				return err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN")
			}, "%s: GET keeps failing: %v", p.id, &err)
			cl.Close()
			switch p {
			case n3: // flag beats environment: forwarded
				if err != nil || v != "v" {
					t.Errorf("n3 (--follower-mode forward, env redirect): GET k = %#v, %v; want \"v\" (forwarded)", v, err)
				}
			default:
				want := "MOVED 0 " + leader.clientAddr
				if err == nil || err.Error() != want {
					t.Errorf("%s (env redirect): GET k = %#v, %v; want error %q", p.id, v, err, want)
				}
				if n, err := infoUint(p, "stats", "redirected_commands"); err != nil || n == 0 {
					t.Errorf("%s: INFO stats redirected_commands = %d (%v), want > 0", p.id, n, err)
				}
			}
		}
	})
}
