package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestProcess_ConvertLog moves a stopped node between log stores the way
// an operator would: started with the other --log-store it refuses, naming
// convert-log; convert-log moves the log; started again it serves every key.
func TestProcess_ConvertLog(t *testing.T) {
	c := startProcCluster(t, withNodes(1), withArgs("--log-store", "bolt"))
	p := c.procs[0]
	findLeader(t, c, 15*time.Second)
	cl := p.client()
	keys := map[string]string{}
	for i := range 20 {
		k, v := fmt.Sprintf("key:%02d", i), fmt.Sprintf("value:%02d", i)
		if got := mustDo(t, cl, "SET", k, v); got != "OK" {
			t.Fatalf("SET %s: %#v", k, got)
		}
		keys[k] = v
	}
	cl.Close()
	if code := p.term(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	store := slices.Index(p.args, "--log-store") + 1
	for _, to := range []string{"wal", "bolt"} {
		from := p.args[store]
		p.args[store] = to
		// Started with the other store, it refuses, naming convert-log.
		out := expectRefusal(t, p, keys, "convert-log")
		if !strings.Contains(finalError(out), "--log-store "+to) {
			t.Errorf("refusal does not name --log-store %s: %s", to, finalError(out))
		}
		cmd := exec.Command(binPath, "convert-log", "--data-dir", p.dataDir, "--to", to)
		conv, err := cmd.CombinedOutput()
		t.Logf("convert-log --to %s: %s", to, strings.TrimSpace(string(conv)))
		if err != nil || !strings.Contains(string(conv), fmt.Sprintf("log store %s -> %s", from, to)) {
			t.Fatalf("convert-log --to %s: %v\n%s", to, err, conv)
		}
		p.restart()
		findLeader(t, c, 15*time.Second)
		cl := p.client()
		for k, v := range keys {
			if got, err := cl.Do("GET", k); err != nil || got != v {
				t.Fatalf("after convert-log --to %s: GET %s = %v, %v; want %s", to, k, got, err, v)
			}
		}
		cl.Close()
		if code := p.term(); code != 0 {
			t.Fatalf("exit %d after SIGTERM", code)
		}
	}
}
