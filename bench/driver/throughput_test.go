package driver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy/understudy/bench"
	"github.com/understudy/understudy/internal/redisserver"
)

// fakeKV is an in-memory KV that can be told to fail.
type fakeKV struct {
	mu      sync.Mutex
	data    map[string][]byte
	fail    error
	batches int
	gets    int
	sets    int
}

func newFake() *fakeKV { return &fakeKV{data: map[string][]byte{}} }

func (f *fakeKV) Set(_ context.Context, k string, v []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.sets++
	f.data[k] = append([]byte(nil), v...)
	return nil
}

func (f *fakeKV) Get(context.Context, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	return f.fail
}

func (f *fakeKV) SetBatch(_ context.Context, keys []string, v []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			return errors.New("duplicate key in batch")
		}
		seen[k] = true
		f.data[k] = append([]byte(nil), v...)
	}
	f.batches++
	return nil
}

func (f *fakeKV) ReadMany(_ context.Context, keys []string) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = f.data[k]
	}
	return out, nil
}

func (f *fakeKV) Close() error { return nil }

func spec(name string) Spec {
	for _, s := range Workloads(4, 100, 150*time.Millisecond, 20*time.Millisecond) {
		if s.Workload == name {
			return s
		}
	}
	panic(name)
}

func TestPreload_WritesEveryKey(t *testing.T) {
	f := newFake()
	if err := Preload(context.Background(), func(int) KV { return f }, 1000, 3); err != nil {
		t.Fatal(err)
	}
	if len(f.data) != 1000 || len(f.data[Key(999)]) != 100 {
		t.Fatalf("preloaded %d keys", len(f.data))
	}
}

func TestRun_PipelineCountsEveryCommandAndKeysAreDistinct(t *testing.T) {
	f := newFake()
	r := Run(context.Background(), "fake", func(int) KV { return f }, spec(bench.WlPipeSet), 1)
	if r.Errors != 0 {
		t.Fatalf("errors: %+v", r.ErrorSamples)
	}
	if r.Ops == 0 || r.Ops%16 != 0 || r.Pipeline != 16 {
		t.Fatalf("ops %d, pipeline %d", r.Ops, r.Pipeline)
	}
	if r.OpsPerSec <= 0 || r.P50 <= 0 || r.P999 < r.P50 {
		t.Fatalf("rates: %+v", r)
	}
}

func TestRun_MixedIsMostlyReads(t *testing.T) {
	f := newFake()
	Run(context.Background(), "fake", func(int) KV { return f }, spec(bench.WlMixed), 1)
	total := f.gets + f.sets
	if total < 100 {
		t.Fatalf("only %d ops", total)
	}
	if frac := float64(f.gets) / float64(total); frac < 0.7 || frac > 0.9 {
		t.Fatalf("read fraction %.2f, want about 0.8", frac)
	}
}

func TestRun_CountsErrorsVerbatim(t *testing.T) {
	f := newFake()
	f.fail = errors.New("TRYAGAIN no leader")
	r := Run(context.Background(), "fake", func(int) KV { return f }, spec(bench.WlSet), 1)
	if r.Ops != 0 || r.Errors == 0 {
		t.Fatalf("ops %d errors %d", r.Ops, r.Errors)
	}
	if len(r.ErrorSamples) != 1 || !strings.HasPrefix(r.ErrorSamples[0].Text, "TRYAGAIN no leader") {
		t.Fatalf("samples %+v", r.ErrorSamples)
	}
}

func TestRun_StopsAtDeadline(t *testing.T) {
	f := newFake()
	start := time.Now()
	Run(context.Background(), "fake", func(int) KV { return f }, spec(bench.WlGet), 1)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("run took %v", d)
	}
}

func TestSupports_ScriptWorkloadNeedsAScripter(t *testing.T) {
	if Supports(newFake(), spec(bench.WlEvalSha)) {
		t.Fatal("a KV without scripts runs the evalsha workload")
	}
	if !Supports(newFake(), spec(bench.WlSet)) || !Supports(&RedisKV{}, spec(bench.WlEvalSha)) {
		t.Fatal("Supports refuses what it should accept")
	}
}

// The evalsha workload against a real redis-server: every operation is the
// script, loaded once (go-redis's EVAL after the first NOSCRIPT), and it
// wrote the keys it ran on.
func TestRun_EvalShaAgainstRedisServer(t *testing.T) {
	addr := scratchRedis(t)
	kv := NewRedisKV(addr, 4)
	defer kv.Close()
	r := Run(context.Background(), bench.SysRedisMem, func(int) KV { return kv }, spec(bench.WlEvalSha), 1)
	if r.Errors != 0 || r.Ops < 10 {
		t.Fatalf("ops %d errors %d %+v", r.Ops, r.Errors, r.ErrorSamples)
	}
	info, err := kv.C.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	// EVALSHA (EVAL only after a client's first NOSCRIPT); SET and GET are
	// counted from inside the script.
	if !strings.Contains(info, "cmdstat_evalsha:calls=") {
		t.Fatalf("commandstats: %s", info)
	}
	vals, err := kv.ReadMany(context.Background(), []string{Key(0), Key(1), Key(2), Key(3)})
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	for _, v := range vals {
		if len(v) == 100 {
			written++
		}
	}
	if written == 0 {
		t.Fatalf("no key written by the script: %q", vals)
	}
}

// scratchRedis is the address of a scratch redis-server (internal/redisserver)
// that is stopped, by PID, at the end of the test.
func scratchRedis(t *testing.T) string {
	t.Helper()
	return redisserver.StartT(t).Addr
}
