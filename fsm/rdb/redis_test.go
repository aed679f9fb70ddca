package rdb

// The scratch redis-server the tests compare with (internal/redisserver):
// started on first use (sanitize-dump-payload yes so its RESTORE checks what
// Decode checks), stopped by PID when the tests end.
// Without redis-server the tests that need it skip, or fail when CI=true or
// UNDERSTUDY_REQUIRE_REDIS_SERVER=1.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/internal/redisserver"
)

var scratch struct {
	once   sync.Once
	client *redis.Client
	err    error
	stop   func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if scratch.stop != nil {
		scratch.stop()
	}
	os.Exit(code)
}

// redisClient returns a client of the scratch redis-server, starting it on
// first use.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	scratch.once.Do(func() { scratch.client, scratch.stop, scratch.err = startRedis() })
	redisserver.Need(t, scratch.err)
	return scratch.client
}

func startRedis() (*redis.Client, func(), error) {
	srv, err := redisserver.Start("--sanitize-dump-payload", "yes")
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(srv.Version, "7.0.") {
		srv.Stop()
		return nil, nil, fmt.Errorf("redis-server %s is not Redis 7.0", srv.Version)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, MaxRetries: -1, ReadTimeout: 10 * time.Second})
	stop := func() {
		c.Close()
		srv.Stop()
	}
	return c, stop, nil
}

// do runs a command on the scratch server and fails the test on error.
func do(t testing.TB, c *redis.Client, args ...any) any {
	t.Helper()
	v, err := c.Do(context.Background(), args...).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// redisValue reads key from the scratch server as a Value, with the
// encoding Redis 7.0 reports (OBJECT ENCODING).
func redisValue(t testing.TB, c *redis.Client, key string) Value {
	t.Helper()
	typ := do(t, c, "TYPE", key).(string)
	enc, _ := do(t, c, "OBJECT", "ENCODING", key).(string)
	strs := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	switch typ {
	case "string":
		return String(do(t, c, "GET", key).(string))
	case "list":
		return &List{Elements: strs(do(t, c, "LRANGE", key, 0, -1)), Encoding: Encoding(enc)}
	case "set":
		return &Set{Members: strs(do(t, c, "SMEMBERS", key)), Encoding: Encoding(enc)}
	case "hash":
		kv := strs(do(t, c, "HGETALL", key))
		h := &Hash{Encoding: Encoding(enc)}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Fields = append(h.Fields, HashField{kv[i], kv[i+1]})
		}
		return h
	case "zset":
		kv := strs(do(t, c, "ZRANGE", key, 0, -1, "WITHSCORES"))
		z := &ZSet{Encoding: Encoding(enc)}
		for i := 0; i+1 < len(kv); i += 2 {
			score, err := strconv.ParseFloat(kv[i+1], 64)
			if err != nil && !math.IsInf(score, 0) {
				t.Fatalf("ZRANGE %s: score %q: %v", key, kv[i+1], err)
			}
			z.Entries = append(z.Entries, ZEntry{kv[i], score})
		}
		return z
	}
	t.Fatalf("key %s has type %q", key, typ)
	return nil
}

// sameContent reports whether a and b hold the same data, ignoring the
// order of a hashtable and the encodings.
func sameContent(a, b Value) bool {
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	switch a := a.(type) {
	case String:
		b, ok := b.(String)
		return ok && a == b
	case *List:
		b, ok := b.(*List)
		return ok && slices.Equal(a.Elements, b.Elements)
	case *Set:
		b, ok := b.(*Set)
		return ok && slices.Equal(sorted(a.Members), sorted(b.Members))
	case *Hash:
		b, ok := b.(*Hash)
		if !ok || len(a.Fields) != len(b.Fields) {
			return false
		}
		m := make(map[HashField]bool, len(a.Fields))
		for _, f := range a.Fields {
			m[f] = true
		}
		for _, f := range b.Fields {
			if !m[f] {
				return false
			}
		}
		return true
	case *ZSet:
		b, ok := b.(*ZSet)
		return ok && slices.EqualFunc(a.Entries, b.Entries, func(x, y ZEntry) bool {
			return x.Member == y.Member && x.Score == y.Score && math.Signbit(x.Score) == math.Signbit(y.Score)
		})
	}
	return false
}

func describe(v Value) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}
