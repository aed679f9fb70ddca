package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
)

// TestScripting_RedisPyLockThroughFollower: redis-py's Lock (acquire with
// blocking_timeout, extend, reacquire, release: each a script) and
// register_script (EVALSHA, then SCRIPT LOAD after NOSCRIPT) as an
// application uses them with Debian's python3-redis, through a follower,
// across the death of the leader in the middle.
func TestScripting_RedisPyLockThroughFollower(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import redis").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-redis is missing (%v): apt-get install python3-redis", err)
		}
		t.Skipf("no python3-redis (%v)", err)
	}
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	f := followers(nodes, l)[0]
	host, port, _ := strings.Cut(f.ClientAddr(), ":")
	cmd := exec.Command(py, "-c", redisPyLock, host, port)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("redis-py ended early: %s", stderr.String())
			}
			var out map[string]any
			if err := json.Unmarshal([]byte(line), &out); err != nil {
				t.Fatalf("redis-py output %q: %v (%s)", line, err, stderr.String())
			}
			return out
		case <-time.After(60 * time.Second):
			t.Fatalf("redis-py silent for 60s: %s", stderr.String())
		}
		return nil
	}
	check := func(phase string, got map[string]any, want map[string]any) {
		t.Helper()
		for k, w := range want {
			if g, _ := json.Marshal(got[k]); string(g) != mustJSON(w) {
				t.Errorf("%s: %s = %s, want %s (all: %v)", phase, k, g, mustJSON(w), got)
			}
		}
	}
	check("before the leader dies", next(), map[string]any{"acquire": true, "owned": true, "extend": true,
		"reacquire": true, "other_acquire": false, "script": 5, "script_after_flush": 6})

	l.Kill(t)
	leader(t, nodes)
	mustClient(t, f.ClientAddr()).MustReply(t, bulkReply("6"), "GET", "py:n")
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	check("after the leader died", next(), map[string]any{"owned": true, "extend": true, "reacquire": true,
		"release": true, "owned_after": false, "other_acquire": true, "script": 7})
	checkConvergence(t, nodes)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// redisPyLock talks to host argv[1] port argv[2]; it prints one JSON line
// per phase and waits for a line on stdin between them. TRYAGAIN (not
// executed, safe to retry) is retried while a new leader is elected.
const redisPyLock = `
import sys, json, time, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), socket_timeout=20)
def retry(fn):
    for _ in range(200):
        try:
            return fn()
        except redis.exceptions.ResponseError as e:
            if not str(e).startswith('TRYAGAIN'):
                raise
            time.sleep(0.05)
    return fn()
r.delete('py:lock', 'py:n')
lock = r.lock('py:lock', timeout=30)
s = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
out = {}
out['acquire'] = lock.acquire(blocking=False)
out['owned'] = lock.owned()
out['extend'] = lock.extend(5)
out['reacquire'] = lock.reacquire()
out['other_acquire'] = r.lock('py:lock', timeout=30, blocking_timeout=0.2).acquire()
out['script'] = s(keys=['py:n'], args=[5])
r.script_flush()
out['script_after_flush'] = s(keys=['py:n'], args=[1])
print(json.dumps(out), flush=True)
sys.stdin.readline()
out = {}
out['owned'] = retry(lock.owned)
out['extend'] = retry(lambda: lock.extend(5))
out['reacquire'] = retry(lock.reacquire)
out['release'] = retry(lock.release) is None
out['owned_after'] = retry(lock.owned)
other = r.lock('py:lock', timeout=30, blocking_timeout=5)
out['other_acquire'] = retry(other.acquire)
retry(other.release)
out['script'] = retry(lambda: s(keys=['py:n'], args=[1]))
print(json.dumps(out), flush=True)
`
