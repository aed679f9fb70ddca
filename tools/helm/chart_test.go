// Package helmtools holds the tools built from their own module (helm) and
// the tests of the Helm chart in deploy/helm/understudy: they render it with
// scripts/helm.sh, decode every object strictly into the k8s.io/api types,
// check the names and fields the API server would refuse, and check the
// chart against the understudy binary it runs.
package helmtools

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// root is the repository root (this module lives in tools/helm).
var root = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}()

// binary is the understudy binary built once for every test (TestMain).
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "understudy-chart-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "understudy")
	build := exec.Command("go", "build", "-o", binary, "./cmd/understudy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/understudy: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// render runs scripts/helm.sh template with args and returns its output,
// or the error and what helm printed.
func render(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "scripts", "helm.sh"), append([]string{"template"}, args...)...)
	cmd.Dir = root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, errb.String())
	}
	return out.String(), nil
}

func mustRender(t *testing.T, args ...string) *manifests {
	t.Helper()
	out, err := render(t, args...)
	if err != nil {
		t.Fatalf("helm template %s: %v", strings.Join(args, " "), err)
	}
	return mustDecode(t, out)
}

// understudy runs the built binary and returns its exit error and output.
func understudy(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	return string(out), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveProbes starts one understudy node with the given metrics address and
// reports the HTTP status of each path once the node has a leader, so the
// probe paths are checked against the binary that serves them.
func serveProbes(t *testing.T, paths ...string) map[string]int {
	t.Helper()
	metrics, raft := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, "serve", "--id=n0", "--data-dir="+t.TempDir(), "--raft-addr="+raft,
		"--client-addr="+freeAddr(t), "--admin-addr="+freeAddr(t), "--metrics-addr="+metrics, "--peers=n0="+raft)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("understudy serve log:\n%s", logs.String())
		}
	})
	got := map[string]int{}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range paths {
		for {
			resp, err := client.Get("http://" + metrics + p)
			if err == nil {
				resp.Body.Close()
				got[p] = resp.StatusCode
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v (status %d) after 30s", p, err, got[p])
			}
			time.Sleep(100 * time.Millisecond) // polling a starting process
		}
	}
	return got
}
