package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestProcess_MetricsAndSlowlogFlags starts the binary with --metrics-addr
// and the slow log configured through UNDERSTUDY_* variables, and checks
// that /metrics, /livez and /readyz answer on that port, that CONFIG GET
// shows the slow log settings and that SLOWLOG records a command.
func TestProcess_MetricsAndSlowlogFlags(t *testing.T) {
	metrics := freeAddr(t)
	c := startProcCluster(t, withNodes(1), withArgs("--metrics-addr", metrics),
		withEnv("UNDERSTUDY_SLOWLOG_LOG_SLOWER_THAN=0", "UNDERSTUDY_SLOWLOG_MAX_LEN=7"))
	p := findLeader(t, c, 15*time.Second)
	cl := p.client()
	defer cl.Close()

	got, err := cl.Do("CONFIG", "GET", "slowlog*")
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{"slowlog-log-slower-than", "0", "slowlog-max-len", "7"}; !equalAny(got, want) {
		t.Errorf("CONFIG GET slowlog*: %#v, want %#v", got, want)
	}
	mustDo(t, cl, "SET", "k", "v")
	if n, err := cl.Do("SLOWLOG", "LEN"); err != nil || n.(int64) < 2 {
		t.Errorf("SLOWLOG LEN: %v %v, want at least CONFIG GET and SET", n, err)
	}

	body := httpGet(t, "http://"+metrics+"/metrics")
	for _, want := range []string{`understudy_raft_role{role="leader"} 1`, `understudy_commands_total{command="set"} 1`, "understudy_keys 1", "go_goroutines"} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, path := range []string{"/livez", "/readyz"} {
		if b := httpGet(t, "http://"+metrics+path); b == "" {
			t.Errorf("%s: empty", path)
		}
	}

	code, _, stderr := runOnce(t, t.TempDir(), nil, "serve", "--slowlog-max-len", "-1")
	if code == 0 || !strings.Contains(stderr, "--slowlog-max-len -1") {
		t.Errorf("--slowlog-max-len -1: exit %d, stderr %q", code, stderr)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", url, resp.Status, err, b)
	}
	return string(b)
}

func equalAny(got any, want []any) bool {
	arr, ok := got.([]any)
	if !ok || len(arr) != len(want) {
		return false
	}
	for i := range arr {
		if arr[i] != want[i] {
			return false
		}
	}
	return true
}
