// Package redisserver starts the scratch redis-server that tests compare
// Understudy with (compat, fsm and its packages, chaos/workload,
// bench/driver): the one place that finds the binary, picks its port,
// starts it and decides whether its absence skips a test or fails it.
//
// The server listens on a free 127.0.0.1 port (from freeport, the one port
// allocator) with persistence off, in a temporary directory, and is stopped
// by PID; on Linux the kernel kills it too if the test binary dies first.
package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/internal/freeport"
)

// RequireEnv makes the tests that need redis-server fail instead of
// skipping when it is missing (scripts/test.sh exports it under CI, after
// installing redis-server).
const RequireEnv = "UNDERSTUDY_REQUIRE_REDIS_SERVER"

// Required reports whether a missing redis-server fails a test rather than
// skipping it: under CI=true or with UNDERSTUDY_REQUIRE_REDIS_SERVER=1.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv(RequireEnv) == "1"
}

// Need ends t for want of a redis-server when err, why there is none, is
// not nil: it fails t when Required, and skips it otherwise.
func Need(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if Required() {
		t.Fatalf("no redis-server (required under CI=true or %s=1): %v", RequireEnv, err)
	}
	t.Skipf("no redis-server to compare with (%v); set %s=1 to fail instead", err, RequireEnv)
}

// Server is a redis-server this process started.
type Server struct {
	Addr    string // 127.0.0.1:port
	Version string // its redis_version, e.g. "7.0.15"
	Pid     int
	stop    func()
}

// Stop kills the server by PID (only the process started here), waits for
// it to exit and removes its directory. On a nil Server it does nothing.
func (s *Server) Stop() {
	if s != nil {
		s.stop()
	}
}

// Bin is the redis-server binary: the one on PATH, else Debian's
// /usr/bin/redis-server.
func Bin() (string, error) {
	if bin, err := exec.LookPath("redis-server"); err == nil {
		return bin, nil
	}
	const bin = "/usr/bin/redis-server"
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New("redis-server is not installed")
	}
	return bin, nil
}

// Start starts redis-server, with args added to its command line, and
// returns once it answers. A port found free can be taken before
// redis-server binds it, so it tries up to five.
func Start(args ...string) (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		s, err := launch(bin, args)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// ForMain starts a test binary's redis-server for its TestMain (see Start)
// and says on stderr, after pkg, which server it is or why there is none.
func ForMain(pkg string) (*Server, error) {
	s, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: no redis-server: %v\n", pkg, err)
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: redis-server %s on %s (pid %d)\n", pkg, s.Version, s.Addr, s.Pid)
	return s, nil
}

// StartT starts a redis-server for the duration of t (see Start), or ends t
// as Need does when there is none.
func StartT(t testing.TB, args ...string) *Server {
	t.Helper()
	s, err := Start(args...)
	Need(t, err)
	t.Cleanup(s.Stop)
	return s
}

func launch(bin string, args []string) (*Server, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dir, err := os.MkdirTemp("", "redis-server-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"}, args...)...)
	cmd.SysProcAttr = dieWithParent()
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill() // by PID: only the process started here
		<-exited
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Another process's server may hold the port (ours then exits):
		// only a server reporting our process's PID is ours.
		if info, err := infoServer(addr); err == nil && info["process_id"] == strconv.Itoa(cmd.Process.Pid) {
			return &Server{Addr: addr, Version: info["redis_version"], Pid: cmd.Process.Pid, stop: stop}, nil
		}
		select {
		case <-exited:
			stop()
			return nil, fmt.Errorf("redis-server on %s exited: %s", addr, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on %s did not answer within 10s", addr)
		}
	}
}

// infoServer asks the server at addr for INFO server, over a connection of
// its own, and returns its fields.
func infoServer(addr string) (map[string]string, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(nc, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "$") {
		return nil, fmt.Errorf("INFO server: %q", strings.TrimSpace(line))
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("INFO server: %q", strings.TrimSpace(line))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	info := map[string]string{}
	for l := range strings.SplitSeq(string(body), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			info[k] = v
		}
	}
	return info, nil
}
