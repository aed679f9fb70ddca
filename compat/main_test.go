package compat

// The suite's fixtures: the scratch redis-server (started by TestMain when it
// is installed, stopped by PID at the end) and the shared in-process cluster
// (started by the first test that needs it, stopped by TestMain).

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/internal/redisserver"
	"github.com/understudy/understudy/internal/testcluster"
)

var (
	redisAddr    string // the scratch redis-server, "" if none
	redisVersion string // its redis_version, e.g. "7.0.15"
	redisErr     error  // why there is none
)

func TestMain(m *testing.M) {
	srv, err := redisserver.ForMain("compat")
	if redisErr = err; srv != nil {
		redisAddr, redisVersion = srv.Addr, srv.Version
	}
	code := m.Run()
	stopShared()
	srv.Stop()
	os.Exit(code)
}

// needRedis skips (or fails, under CI=true or with
// UNDERSTUDY_REQUIRE_REDIS_SERVER=1) a test that compares with redis-server
// when there is none.
func needRedis(t *testing.T) { t.Helper(); redisserver.Need(t, redisErr) }

// needRedisPy returns Debian's python3 after checking that it runs the
// python3-redis statement stmt (an import); without it the test fails under
// CI or with UNDERSTUDY_REQUIRE_REDIS_SERVER=1, and skips otherwise.
func needRedisPy(t *testing.T, stmt string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", stmt).Run(); err != nil {
		if redisserver.Required() {
			t.Fatalf("python3-redis is missing (%v): apt-get install python3-redis", err)
		}
		t.Skipf("no python3-redis (%v)", err)
	}
	return py
}

// redisPyAgainstRedis prepares a redis-py program run through a follower of
// the shared cluster and against redis-server: it needs python3-redis and
// redis-server (see needRedisPy, needRedis) and returns python3, the
// follower's host and port, and redis-server's port (on the same host).
func redisPyAgainstRedis(t *testing.T) (py, host string, port, redisPort int) {
	t.Helper()
	py = needRedisPy(t, "import redis")
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	host, port = splitAddr(t, cl.Followers(l)[0].ClientAddr())
	_, redisPort = splitAddr(t, redisAddr)
	return py, host, port, redisPort
}

// runRedisPy runs the python3-redis program prog (with py from needRedisPy)
// on args, within 120s, and decodes what it prints, JSON, into res; it fails
// t, showing the program's output, when the program fails or prints
// something else.
func runRedisPy(t *testing.T, py, prog string, res any, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(ctxT(t, 120*time.Second), py, append([]string{"-c", prog}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("redis-py %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	if err := json.Unmarshal(out, res); err != nil {
		t.Fatalf("redis-py %s output %q: %v", strings.Join(args, " "), out, err)
	}
}

// redisOlderThan72 reports whether the scratch server predates Redis 7.2,
// whose behaviour Understudy follows.
func redisOlderThan72() bool {
	var major, minor int
	fmt.Sscanf(redisVersion, "%d.%d", &major, &minor)
	return major < 7 || (major == 7 && minor < 2)
}

// ---------------------------------------------------------------------------
// The shared cluster

var (
	sharedOnce sync.Once
	sharedCl   *cluster
	sharedErr  error
)

// shared returns the package's three-node cluster (forward mode), started on
// first use. Tests may move its leadership; none may stop its nodes.
func shared(t *testing.T) *cluster {
	t.Helper()
	sharedOnce.Do(func() { sharedCl, sharedErr = startCluster("c", nil) })
	if sharedErr != nil {
		t.Fatalf("shared cluster: %v", sharedErr)
	}
	return sharedCl
}

func stopShared() {
	if sharedCl != nil {
		sharedCl.Close()
	}
}

// nodeLogger discards the nodes' logs unless UNDERSTUDY_COMPAT_LOG=1.
func nodeLogger(id string) *slog.Logger {
	if os.Getenv("UNDERSTUDY_COMPAT_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", id)
	}
	return slog.New(slog.DiscardHandler)
}

// ---------------------------------------------------------------------------
// Polling and clients

// waitFor polls cond until it holds, failing the test with msg after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	testcluster.WaitFor(t, timeout, cond, msg, args...)
}

// newClient is a go-redis client of one connection that does not retry, so
// every reply is the server's first answer.
func newClient(t *testing.T, addr string, protocol int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: protocol, MaxRetries: -1, PoolSize: 1,
		ReadTimeout: 10 * time.Second, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
