package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/tlsconf/tlstest"
)

// tlsProcCluster starts three `understudy serve` processes with TLS on every
// listener, each with its own certificate of ca and client certificates
// required (the default with a CA), plus extra flags.
func tlsProcCluster(t *testing.T, ca *tlstest.CA, extra ...string) *cluster {
	t.Helper()
	opts := []clusterOpt{withArgs(extra...)}
	for i := range 3 {
		cert := ca.Issue(t, fmt.Sprintf("n%d", i+1))
		opts = append(opts, withNodeArgs(i, "--tls-cert-file", cert.CertFile, "--tls-key-file", cert.KeyFile,
			"--tls-ca-cert-file", ca.CertFile))
	}
	return startProcCluster(t, opts...)
}

func adminAddrs(c *cluster) string {
	var out []string
	for _, p := range c.procs {
		out = append(out, p.adminAddr)
	}
	return strings.Join(out, ",")
}

// tlsLeader waits, asking over TLS with `understudy status --cluster`, until
// every node names the same leader and knows its client address.
func tlsLeader(t *testing.T, c *cluster, tlsArgs []string) *proc {
	t.Helper()
	var leader *proc
	var last string
	waitFor(t, 20*time.Second, func() bool {
		code, out, errOut := runOnce(t, t.TempDir(), nil, append([]string{"status", "--cluster", "-o", "json",
			"--admin", adminAddrs(c), "--timeout", "2s"}, tlsArgs...)...)
		var views []statusView
		if code != 0 || json.Unmarshal([]byte(out), &views) != nil || len(views) != len(c.procs) {
			last = fmt.Sprintf("exit %d: %s%s", code, out, errOut)
			return false
		}
		leader = nil
		for _, v := range views {
			if v.Role == "leader" {
				leader = c.proc(v.ID)
			}
		}
		for _, v := range views {
			if leader == nil || v.Error != "" || v.LeaderID != leader.id || v.LeaderClientAddr != leader.clientAddr {
				last = out
				return false
			}
		}
		return true
	}, "no leader known to every node over TLS (last: %s)", &last)
	return leader
}

// TestProcess_TLSAdminCLI drives a TLS cluster with the admin CLI: with the
// CA and a client certificate (flags or UNDERSTUDY_TLS_* variables) status
// and backup work; in plaintext, or without a client certificate, the CLI
// fails with the address in the message.
func TestProcess_TLSAdminCLI(t *testing.T) {
	ca := tlstest.NewCA(t, "cli")
	op := ca.Issue(t, "operator")
	c := tlsProcCluster(t, ca)
	tlsArgs := []string{"--tls-ca-cert-file", ca.CertFile, "--tls-cert-file", op.CertFile, "--tls-key-file", op.KeyFile}
	leader := tlsLeader(t, c, tlsArgs)

	dir := t.TempDir()
	code, out, errOut := runOnce(t, dir, []string{"UNDERSTUDY_TLS_CA_CERT_FILE=" + ca.CertFile,
		"UNDERSTUDY_TLS_CERT_FILE=" + op.CertFile, "UNDERSTUDY_TLS_KEY_FILE=" + op.KeyFile},
		"members", "--admin", leader.adminAddr)
	if code != 0 || strings.Count(out, "voter") != 3 {
		t.Fatalf("members with TLS from the environment: exit %d\n%s%s", code, out, errOut)
	}
	backup := filepath.Join(dir, "b.snap")
	if code, out, errOut := runOnce(t, dir, nil, append([]string{"backup", backup, "--admin", adminAddrs(c)}, tlsArgs...)...); code != 0 {
		t.Fatalf("backup over TLS: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(backup + ".sha256"); err != nil {
		t.Fatalf("backup over TLS wrote no checksum: %v", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"plaintext", nil, "may serve TLS"},
		{"no client certificate", []string{"--tls-ca-cert-file", ca.CertFile}, "require a client certificate"},
		{"untrusted server", []string{"--tls", "--tls-cert-file", op.CertFile, "--tls-key-file", op.KeyFile}, "unknown authority"},
	} {
		code, out, errOut := runOnce(t, dir, nil, append([]string{"status", "--admin", leader.adminAddr, "--timeout", "2s"}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, leader.adminAddr) || !strings.Contains(errOut, tc.want) {
			t.Errorf("status %s: exit %d, want failure naming %s and saying %q\n%s%s", tc.name, code, leader.adminAddr, tc.want, out, errOut)
		}
		t.Logf("status %s: %s", tc.name, strings.TrimSpace(errOut))
	}
}

// runRedisCLI runs redis-cli against addr and returns what it printed and
// whether it exited 0.
func runRedisCLI(t *testing.T, addr string, args ...string) (string, bool) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err == nil
}

// requireRedisCLITLS skips unless redis-cli is installed with TLS support
// (Debian's redis-tools has it; scripts/test.sh installs it).
func requireRedisCLITLS(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("redis-cli")
	if err == nil {
		help, _ := exec.Command("redis-cli", "--help").CombinedOutput()
		if !bytes.Contains(help, []byte("--tls")) {
			err = fmt.Errorf("this redis-cli was built without TLS")
		}
	}
	if err != nil {
		if os.Getenv("UNDERSTUDY_REQUIRE_REDIS_CLI") == "1" {
			t.Fatalf("redis-cli with TLS needed and UNDERSTUDY_REQUIRE_REDIS_CLI=1: %v (apt-get install redis-tools)", err)
		}
		t.Skipf("redis-cli with TLS support not available: %v (install redis-tools; UNDERSTUDY_REQUIRE_REDIS_CLI=1 makes this a failure)", err)
	}
}

// TestProcess_TLSRedisCLI: `redis-cli --tls` with the CA and a client
// certificate writes on the leader and reads on a follower (forwarded over
// TLS); redis-cli in plaintext or without a certificate gets nothing.
func TestProcess_TLSRedisCLI(t *testing.T) {
	requireRedisCLITLS(t)
	ca := tlstest.NewCA(t, "rediscli")
	app := ca.Issue(t, "app")
	c := tlsProcCluster(t, ca)
	leader := tlsLeader(t, c, []string{"--tls-ca-cert-file", ca.CertFile, "--tls-cert-file", app.CertFile, "--tls-key-file", app.KeyFile})
	tlsArgs := []string{"--tls", "--cacert", ca.CertFile, "--cert", app.CertFile, "--key", app.KeyFile}

	// A new leader answers TRYAGAIN until its first entry is applied.
	var out string
	waitFor(t, 10*time.Second, func() bool {
		out, _ = runRedisCLI(t, leader.clientAddr, append(tlsArgs, "SET", "greeting", "hello over tls")...)
		return out == "OK"
	}, "redis-cli --tls SET on leader %s: %q", leader.id, &out)
	for _, p := range c.procs {
		if p == leader {
			continue
		}
		if out, ok := runRedisCLI(t, p.clientAddr, append(tlsArgs, "GET", "greeting")...); !ok || out != "hello over tls" {
			t.Fatalf("redis-cli --tls GET on follower %s: %q (ok %v)", p.id, out, ok)
		}
		if out, ok := runRedisCLI(t, p.clientAddr, append(tlsArgs, "INCR", "hits")...); !ok || (out != "1" && out != "2") {
			t.Fatalf("redis-cli --tls INCR on follower %s: %q (ok %v)", p.id, out, ok)
		}
	}
	if out, ok := runRedisCLI(t, leader.clientAddr, append(tlsArgs, "GET", "hits")...); !ok || out != "2" {
		t.Fatalf("GET hits on the leader after two forwarded INCRs: %q (ok %v)", out, ok)
	}

	if out, _ := runRedisCLI(t, leader.clientAddr, "GET", "greeting"); strings.Contains(out, "hello") {
		t.Fatalf("plaintext redis-cli on a TLS port got the value: %q", out)
	}
	if out, _ := runRedisCLI(t, leader.clientAddr, "--tls", "--cacert", ca.CertFile, "GET", "greeting"); strings.Contains(out, "hello") {
		t.Fatalf("redis-cli without a client certificate got the value: %q", out)
	}
}

// TestProcess_TLSFlagsRefused: half a TLS configuration stops serve before
// it listens, with a message naming the flag.
func TestProcess_TLSFlagsRefused(t *testing.T) {
	ca := tlstest.NewCA(t, "flags")
	cert := ca.Issue(t, "n1")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"CertWithoutKey", []string{"--tls-cert-file", cert.CertFile}, nil, "--tls-cert-file needs --tls-key-file"},
		{"EnvKeyWithoutCert", nil, []string{"UNDERSTUDY_TLS_KEY_FILE=" + cert.KeyFile}, "--tls-key-file needs --tls-cert-file"},
		{"AuthWithoutCA", []string{"--tls-cert-file", cert.CertFile, "--tls-key-file", cert.KeyFile, "--tls-auth-clients", "yes"}, nil,
			"--tls-auth-clients yes needs --tls-ca-cert-file"},
		{"MissingCA", []string{"--tls-cert-file", cert.CertFile, "--tls-key-file", cert.KeyFile, "--tls-ca-cert-file", "/nonexistent/ca.pem"}, nil,
			"/nonexistent/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, _, errOut := runOnce(t, dir, tc.env, append([]string{"serve", "--data-dir", filepath.Join(dir, "data"),
				"--raft-addr", freeAddr(t), "--client-addr", freeAddr(t), "--admin-addr", freeAddr(t)}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want failure containing %q; stderr:\n%s", code, tc.want, errOut)
			}
		})
	}
}
