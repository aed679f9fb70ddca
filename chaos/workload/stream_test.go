package workload

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// redisServer is script_test.go's scratch redis-server 7.0.

func TestStream_AgainstRedisIsClean(t *testing.T) {
	env := &Env{Base: time.Now(), Addrs: []string{redisServer(t)}, OpTimeout: time.Second, Pace: time.Millisecond,
		CutProb: 0.05, Prefix: "t:", Log: slog.Default()}
	w := &Stream{Env: env, Producers: 2, Consumers: 3, Keys: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	w.Run(ctx, 1)
	cancel()
	if missing := w.Final(context.Background()); missing != 0 {
		t.Fatalf("%d streams not drained or read back", missing)
	}
	ops := w.Ops()
	v := checker.CheckStream(ops)
	if len(v.Violations) > 0 {
		t.Fatalf("violations against redis-server: %v", v.Violations)
	}
	if v.Keys != 2 || v.Acknowledged < 20 || v.Delivered < v.Acknowledged || v.Acks == 0 || v.Undelivered != 0 || v.KeysUnchecked != 0 {
		t.Fatalf("too little history or not all delivered: %+v", v)
	}
	t.Logf("verdict %+v", v)
	kinds := map[string]int{}
	for _, op := range ops {
		if op.Outcome == checker.OK && (len(op.Entries) > 0 || op.Kind == checker.StrAck) {
			kinds[op.Kind]++
		}
	}
	for _, k := range []string{checker.StrNew, checker.StrHistory, checker.StrAck, checker.StrRange} {
		if kinds[k] == 0 {
			t.Errorf("no successful %s operation with entries: %v", k, kinds)
		}
	}
}

func TestStream_CheckerCatchesAServerThatForgetsAcks(t *testing.T) {
	// A server that answers XACK but never removes the entry from the
	// pending list: the consumer's next history read hands it out again.
	addr := redisServer(t)
	proxy := fakeServer(t, func(argv []string) string {
		if strings.EqualFold(argv[0], "XACK") {
			return ":" + strconv.Itoa(len(argv)-3) + "\r\n"
		}
		c, err := respclient.Dial(addr, time.Second)
		if err != nil {
			return "-ERR " + err.Error() + "\r\n"
		}
		defer c.Close()
		r, err := c.Do(time.Second, argv...)
		if err != nil {
			return "-ERR " + err.Error() + "\r\n"
		}
		return string(encode(nil, r))
	})
	env := &Env{Base: time.Now(), Addrs: []string{proxy}, OpTimeout: time.Second, Pace: time.Millisecond, Prefix: "t:", Log: slog.Default()}
	w := &Stream{Env: env, Producers: 1, Consumers: 2, Keys: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	w.Run(ctx, 1)
	cancel()
	if missing := w.Final(context.Background()); missing != 0 {
		t.Fatalf("%d streams not drained or read back", missing)
	}
	v := checker.CheckStream(w.Ops())
	if v.Redelivered == 0 {
		t.Fatalf("redelivery after XACK not detected: %+v", v)
	}
}

// encode writes r back as RESP2.
func encode(b []byte, r respclient.Reply) []byte {
	switch {
	case r.Nil && r.Kind == respclient.Array:
		return append(b, "*-1\r\n"...)
	case r.Nil:
		return append(b, "$-1\r\n"...)
	case r.Kind == respclient.Simple || r.Kind == respclient.Error:
		return append(append(append(b, byte(r.Kind)), r.Str...), "\r\n"...)
	case r.Kind == respclient.Int:
		return append(strconv.AppendInt(append(b, ':'), r.Int, 10), "\r\n"...)
	case r.Kind == respclient.Bulk:
		b = append(strconv.AppendInt(append(b, '$'), int64(len(r.Str)), 10), "\r\n"...)
		return append(append(b, r.Str...), "\r\n"...)
	}
	b = append(strconv.AppendInt(append(b, '*'), int64(len(r.Elems)), 10), "\r\n"...)
	for _, e := range r.Elems {
		b = encode(b, e)
	}
	return b
}

func TestRegister_OddClientsWorkInTheirDatabase(t *testing.T) {
	addr := redisServer(t)
	env := &Env{Base: time.Now(), Addrs: []string{addr}, OpTimeout: time.Second, Pace: time.Millisecond, Prefix: "t:", Log: slog.Default()}
	w := &Register{Env: env, Clients: 4, Keys: 2, OpsPerKey: 50, DB: 3}
	if !w.ProbeCAS(context.Background()) {
		t.Fatal("redis-server has no transactions?")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	w.Run(ctx, 1)
	cancel()
	if missing := w.Final(context.Background()); missing != 0 {
		t.Fatalf("%d keys without a final read", missing)
	}
	v := checker.CheckRegister(w.Ops(), time.Minute)
	if v.Linearizable != checker.LinYes || len(v.Violations) > 0 || v.LostWrites != 0 {
		t.Fatalf("register against redis-server: %+v", v)
	}
	c, err := respclient.Dial(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	count := func(db string) int {
		t.Helper()
		if r, err := c.Do(time.Second, "SELECT", db); err != nil || r.IsError() {
			t.Fatalf("SELECT %s: %v %v", db, r, err)
		}
		r, err := c.Do(time.Second, "KEYS", "t:reg:*")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range r.Elems {
			if strings.HasPrefix(k.Str, "t:reg:db3:") != (db == "3") {
				t.Errorf("key %s in db %s", k.Str, db)
			}
		}
		return len(r.Elems)
	}
	if n0, n3 := count("0"), count("3"); n0 == 0 || n3 == 0 {
		t.Fatalf("keys in db 0: %d, in db 3: %d", n0, n3)
	}
}
