package compat

// The suite's fixtures: the scratch redis-server (started by TestMain when it
// is on PATH, stopped by PID at the end) and the shared in-process cluster
// (started by the first test that needs it, stopped by TestMain).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// requireRedisEnv makes the differential tests fail instead of skipping when
// redis-server is missing (CI sets it after installing redis-server).
const requireRedisEnv = "UNDERSTUDY_REQUIRE_REDIS_SERVER"

var (
	redisAddr    string // the scratch redis-server, "" if none
	redisVersion string // its redis_version, e.g. "7.0.15"
	redisErr     error  // why there is none
)

func TestMain(m *testing.M) {
	stop, err := startRedisServer()
	if err != nil {
		redisErr = err
		fmt.Fprintf(os.Stderr, "compat: no redis-server: %v\n", err)
	}
	code := m.Run()
	stopShared()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// startRedisServer starts redis-server on a free 127.0.0.1 port with
// persistence off and waits until it answers PING.
func startRedisServer() (stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "compat-redis-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	cmd.SysProcAttr = dieWithParent()
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Kill() // by PID: only the process started here
		<-exited
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, err := pingRedis(addr); err == nil {
			redisAddr, redisVersion = addr, v
			fmt.Fprintf(os.Stderr, "compat: redis-server %s on %s (pid %d)\n", v, addr, cmd.Process.Pid)
			return stop, nil
		}
		select {
		case <-exited:
			stop()
			return nil, fmt.Errorf("redis-server exited: %s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on %s did not answer within 10s", addr)
		}
	}
}

// pingRedis returns the server's redis_version.
func pingRedis(addr string) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(nc, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"); err != nil {
		return "", err
	}
	br := bufio.NewReader(nc)
	r, err := readVal(br)
	if err != nil {
		return "", err
	}
	_, rest, ok := strings.Cut(r.s, "redis_version:")
	if !ok {
		return "", fmt.Errorf("INFO server: %s", r)
	}
	v, _, _ := strings.Cut(rest, "\r\n")
	return v, nil
}

// needRedis skips (or fails, with UNDERSTUDY_REQUIRE_REDIS_SERVER=1) a test
// that compares with redis-server when there is none.
func needRedis(t *testing.T) {
	t.Helper()
	if redisAddr != "" {
		return
	}
	if os.Getenv(requireRedisEnv) == "1" {
		t.Fatalf("%s=1 but there is no redis-server: %v", requireRedisEnv, redisErr)
	}
	t.Skipf("no redis-server to compare with (%v); set %s=1 to fail instead", redisErr, requireRedisEnv)
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
		sharedCl.close()
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
	if err := poll(timeout, cond); err != nil {
		t.Fatalf("after %v: %s", timeout, fmt.Sprintf(msg, args...))
	}
}

// poll is waitFor without a test: nil once cond holds, an error after timeout.
func poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v", timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
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
