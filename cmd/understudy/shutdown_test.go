package main

import (
	"strings"
	"testing"
	"time"
)

// TestProcess_ShutdownCommandStopsTheNode: SHUTDOWN stops the node that
// receives it as SIGTERM does (exit 0, leadership handed over when it led),
// answering nothing; its argument errors leave it running; the rest of the
// cluster keeps serving, and the node restarts on its data.
func TestProcess_ShutdownCommandStopsTheNode(t *testing.T) {
	c := startProcCluster(t)
	leader := findLeader(t, c, 15*time.Second)
	lc := leader.client()
	defer lc.Close()
	mustDo(t, lc, "SET", "before-shutdown", "1")
	for _, bad := range [][]string{{"SHUTDOWN", "NOSAVE", "SAVE"}, {"SHUTDOWN", "ABORT", "NOW"}, {"SHUTDOWN", "nosuch"}} {
		if _, err := lc.Do(bad...); err == nil || !strings.Contains(err.Error(), "syntax error") {
			t.Errorf("%v: %v, want a syntax error", bad, err)
		}
	}
	if _, err := lc.Do("SHUTDOWN", "ABORT"); err == nil || !strings.Contains(err.Error(), "No shutdown in progress.") {
		t.Errorf("SHUTDOWN ABORT: %v", err)
	}
	if _, err := lc.Do("SHUTDOWN", "SAVE"); err == nil {
		t.Fatalf("SHUTDOWN SAVE answered: the connection should close without a reply")
	}
	code, ok := leader.wait(20 * time.Second)
	if !ok || code != 0 {
		t.Fatalf("%s after SHUTDOWN: exited %v, code %d; want exit 0", leader.id, ok, code)
	}
	next := findLeader(t, c, 15*time.Second)
	nc := next.client()
	defer nc.Close()
	if v, err := nc.Do("GET", "before-shutdown"); err != nil || v != "1" {
		t.Fatalf("GET on the new leader %s: %v %v", next.id, v, err)
	}
	leader.restart()
	rc := leader.client()
	defer rc.Close()
	waitFor(t, 20*time.Second, func() bool {
		v, err := rc.Do("GET", "before-shutdown")
		return err == nil && v == "1"
	}, "%s restarted after SHUTDOWN does not serve", leader.id)
}
