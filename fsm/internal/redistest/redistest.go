// Package redistest starts a scratch redis-server for tests that compare the
// algorithm packages (hll, geo, bitops) with the real Redis 7.0.15.
//
// The server (internal/redisserver) belongs to the test that started it and
// is stopped by PID when that test ends. When redis-server is not installed
// the test is skipped, unless CI=true or UNDERSTUDY_REQUIRE_REDIS_SERVER=1,
// in which case it fails.
package redistest

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/internal/redisserver"
)

// Start runs a redis-server for the duration of t and returns a client
// connected to it (RESP2, one connection, so commands run in order).
func Start(t testing.TB) *redis.Client {
	t.Helper()
	srv := redisserver.StartT(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, PoolSize: 1, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Seed returns the seed for a randomised comparison and logs it, so a failure
// can be replayed with UNDERSTUDY_SEED=<seed>.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("UNDERSTUDY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("UNDERSTUDY_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with UNDERSTUDY_SEED=%d)", seed, seed)
	return seed
}
