package workload

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
	"github.com/understudy/understudy/internal/redisserver"
)

// redisServer is the address of a scratch redis-server (internal/redisserver)
// that is stopped, by PID, at the end of the test.
func redisServer(t *testing.T) string {
	t.Helper()
	return redisserver.StartT(t).Addr
}

func runScriptWorkload(t *testing.T, addr string, transfer string, during func()) *Script {
	t.Helper()
	env := &Env{Base: time.Now(), Addrs: []string{addr}, OpTimeout: time.Second, Prefix: "t:", Log: slog.Default()}
	w := &Script{Env: env, Clients: 3, Keys: 2, OpsPerKey: 30, Pairs: 2, Total: 1000}
	if transfer != "" {
		w.transferScript = newLuaScript(transfer)
	}
	if !w.Setup(context.Background()) {
		t.Fatalf("setup failed: %v", w.Summary().Notes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, 1) }()
	if during != nil {
		during()
	}
	<-done
	cancel()
	if missing := w.Final(context.Background()); missing != 0 {
		t.Fatalf("%d keys without a final read", missing)
	}
	return w
}

// Against redis-server, with SCRIPT FLUSH in the middle of the run: the
// clients fall back on NOSCRIPT and the history checks clean.
func TestScript_AgainstRedisServerChecksClean(t *testing.T) {
	addr := redisServer(t)
	w := runScriptWorkload(t, addr, "", func() {
		time.Sleep(150 * time.Millisecond)
		c, err := respclient.Dial(addr, time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if r, err := c.Do(time.Second, "SCRIPT", "FLUSH"); err != nil || r.Str != "OK" {
			t.Errorf("SCRIPT FLUSH: %v %v", r, err)
		}
	})
	v := checker.CheckScript(w.CASOps(), w.TransferOps(), w.Total, 10*time.Second)
	if len(v.Violations) > 0 {
		t.Fatalf("violations against redis-server: %v", v.Violations)
	}
	if v.CAS.Linearizable != checker.LinYes || v.CAS.CheckedOps < 10 || v.Moved < 5 || v.SumChecked < 10 {
		t.Fatalf("too little history: %+v", v)
	}
	if n := w.noscript.Load(); n == 0 {
		t.Fatal("no NOSCRIPT after SCRIPT FLUSH: the fallback was not exercised")
	}
	if notes := strings.Join(w.Summary().Notes, " "); !strings.Contains(notes, "NOSCRIPT answered") {
		t.Fatalf("notes %q", notes)
	}
}

// A server that loses money (a transfer script whose second SET goes
// nowhere) is caught by the sum check.
func TestScript_BrokenTransferIsCaught(t *testing.T) {
	addr := redisServer(t)
	broken := strings.Replace(scriptTransfer.body, "redis.call('set', KEYS[2], b + amount)", "", 1)
	if broken == scriptTransfer.body {
		t.Fatal("the transfer script changed: update the test")
	}
	w := runScriptWorkload(t, addr, broken, nil)
	v := checker.CheckScript(w.CASOps(), w.TransferOps(), w.Total, 10*time.Second)
	found := false
	for _, x := range v.Violations {
		found = found || (x.Invariant == "I1" && strings.Contains(x.Detail, "the sum broke"))
	}
	if !found {
		t.Fatalf("no broken-sum violation: %v", v.Violations)
	}
}

func TestScript_UnknownCommandSkipsWorkload(t *testing.T) {
	// (The fake server reads lines: it cannot parse a script body, so it
	// answers without looking at the command.)
	addr := fakeServer(t, func([]string) string { return "-ERR unknown command 'SCRIPT', with args beginning with: \r\n" })
	env := &Env{Base: time.Now(), Addrs: []string{addr}, OpTimeout: time.Second, Log: slog.Default()}
	w := &Script{Env: env, Clients: 1, Keys: 1, OpsPerKey: 10, Pairs: 1, Total: 10}
	if w.Setup(context.Background()) {
		t.Fatal("setup succeeded without scripting")
	}
	w.Run(context.Background(), 1) // returns at once
	if notes := w.Summary().Notes; len(notes) != 1 || !strings.Contains(notes[0], "skipped") {
		t.Fatalf("notes %v", notes)
	}
}
