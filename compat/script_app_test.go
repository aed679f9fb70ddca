package compat

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// TestCompat_ScriptAppsRedisPyAcrossLeaderKill: the scripts applications
// run, written as they are with Debian's python3-redis, through a follower
// of a dedicated cluster whose leader is killed between two phases: redis-py's
// Lock (acquire, blocking_timeout, extend, reacquire, release, not-owned
// errors, expiry), a Redlock-style unlock script, a token-bucket rate
// limiter and a FUNCTION LOAD library. The second phase resumes the first's
// lock by its token and the bucket by its state, and calls the scripts by
// EVALSHA and FCALL on the new leader (the script cache and the libraries
// are replicated state). The same two phases against redis-server must give
// the same results.
func TestCompat_ScriptAppsRedisPyAcrossLeaderKill(t *testing.T) {
	py := needRedisPy(t, "import redis")
	needRedis(t)
	cl, err := startCluster("lk", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	host, port := splitAddr(t, f.ClientAddr())
	_, redisPort := splitAddr(t, redisAddr)
	dir := t.TempDir()

	run := func(phase string, port int, state string) map[string]any {
		t.Helper()
		var res map[string]any
		runRedisPy(t, py, redisPyScriptApps, &res, host, strconv.Itoa(port), phase, state)
		return res
	}

	theirs1 := run("before", redisPort, filepath.Join(dir, "redis.json"))
	theirs2 := run("after", redisPort, filepath.Join(dir, "redis.json"))

	ours1 := run("before", port, filepath.Join(dir, "ours.json"))
	t.Logf("killing the leader %s; redis-py stays on follower %s", l.ID, f.ID)
	l.Kill(t)
	nl := cl.SettledLeader(t)
	t.Logf("new leader %s", nl.ID)
	ours2 := run("after", port, filepath.Join(dir, "ours.json"))

	compare := func(phase string, ours, theirs map[string]any) {
		if len(ours) < 10 {
			t.Errorf("%s: redis-py reported only %d results: %v", phase, len(ours), ours)
		}
		keys := make([]string, 0, len(theirs))
		for k := range theirs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			got, _ := json.Marshal(ours[k])
			want, _ := json.Marshal(theirs[k])
			if string(got) != string(want) {
				t.Errorf("%s %s: understudy %s, redis-server %s", phase, k, got, want)
			}
		}
		for k := range ours {
			if _, ok := theirs[k]; !ok {
				t.Errorf("%s %s: only understudy reported it", phase, k)
			}
		}
	}
	compare("before the kill", ours1, theirs1)
	compare("after the kill", ours2, theirs2)
	// What must be true whatever redis-server says.
	for k, want := range map[string]any{"acquire": true, "other_nonblocking": false, "other_blocking_timeout": false,
		"other_waited": true, "extend": true, "reacquire": true, "unlock_right": float64(1), "limiter_allowed": float64(5)} {
		if got := ours1[k]; got != want {
			t.Errorf("before the kill %s = %v, want %v", k, got, want)
		}
	}
	for k, want := range map[string]any{"held_by_token": true, "other_nonblocking": false, "resumed_extend": true,
		"released": true, "other_after_release": true, "evalsha_cached": "NOSCRIPT never", "fcall": "hello from lib"} {
		if got := ours2[k]; got != want {
			t.Errorf("after the kill %s = %v, want %v", k, got, want)
		}
	}
	t.Logf("redis-py through follower %s: before %v; after the leader kill %v", f.ID, ours1, ours2)
}

// redisPyScriptApps runs against host argv[1] port argv[2]; argv[3] is the
// phase ("before" or "after" the leader kill), argv[4] a file that carries
// the lock's token from one phase to the next. It prints its results as
// JSON: only what is the same on any server (no tokens, no clock readings).
const redisPyScriptApps = `
import sys, json, time, threading, redis
from redis.exceptions import LockNotOwnedError, LockError, NoScriptError, ResponseError

host, port, phase, statefile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = redis.Redis(host=host, port=port, socket_timeout=10)
out = {}
P = 'app:'

UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
else
    return 0
end
"""

# Token bucket: rate tokens per second up to capacity, the caller's clock
# in milliseconds (ARGV[3]) so that the outcome is exact.
BUCKET = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4])
local data = redis.call('hmget', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or capacity
local ts = tonumber(data[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
if tokens >= requested then
    tokens = tokens - requested
    allowed = 1
end
redis.call('hset', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('pexpire', KEYS[1], 600000)
return {allowed, tostring(tokens)}
"""

# The same bucket on the server's clock (TIME inside a write script).
BUCKET_TIME = """
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local tokens = tonumber(redis.call('hget', KEYS[1], 'tokens')) or capacity
local allowed = 0
if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
end
redis.call('hset', KEYS[1], 'tokens', tokens, 'ts', now)
return allowed
"""

LIB = """#!lua name=applib
redis.register_function('app_hello', function(keys, args) return 'hello from lib' end)
redis.register_function{function_name='app_get', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}}
"""

def bucket(script, now, n):
    return [script(keys=[P + 'bucket'], args=[1, 5, now, 1]) for _ in range(n)]

unlock = r.register_script(UNLOCK)
limiter = r.register_script(BUCKET)

if phase == 'before':
    r.delete(P + 'lock', P + 'lock2', P + 'short', P + 'rl', P + 'bucket', P + 'tbucket', P + 'ctx')
    try:
        r.function_delete('applib')
    except ResponseError:
        pass
    lock = r.lock(P + 'lock', timeout=60)
    out['acquire'] = lock.acquire(blocking=False)
    out['owned'] = lock.owned()
    other = r.lock(P + 'lock', timeout=60)
    out['other_nonblocking'] = other.acquire(blocking=False)
    t0 = time.monotonic()
    out['other_blocking_timeout'] = other.acquire(blocking_timeout=0.3)
    # redis-py retries every 0.1 s and gives up when the next try would be
    # past the timeout: after about 0.2 s.
    out['other_waited'] = time.monotonic() - t0 >= 0.15
    out['other_owned'] = other.owned()
    out['extend'] = lock.extend(30)
    out['pttl_after_extend_in_range'] = 60000 < r.pttl(P + 'lock') <= 90000
    out['extend_replace'] = lock.extend(45, replace_ttl=True)
    out['pttl_after_replace_in_range'] = 30000 < r.pttl(P + 'lock') <= 45000
    out['reacquire'] = lock.reacquire()
    out['pttl_after_reacquire_in_range'] = 45000 < r.pttl(P + 'lock') <= 60000
    for name, fn in (('other_release', other.release), ('other_extend', lambda: other.extend(5)),
                     ('other_reacquire', other.reacquire)):
        try:
            fn()
            out[name] = 'no error'
        except LockNotOwnedError as e:
            out[name] = 'LockNotOwnedError'
        except LockError as e:
            out[name] = 'LockError: ' + str(e)
    # A blocked acquire succeeds once the holder releases from another thread.
    holder = r.lock(P + 'lock2', timeout=10, thread_local=False)
    out['holder_acquire'] = holder.acquire()
    def release_soon():
        time.sleep(0.3)
        holder.release()
    th = threading.Thread(target=release_soon)
    th.start()
    waiter = r.lock(P + 'lock2', timeout=10, sleep=0.05)
    out['waiter_acquire'] = waiter.acquire(blocking_timeout=10)
    th.join()
    waiter.release()
    out['lock2_gone'] = r.exists(P + 'lock2')
    # A lock expires by its timeout; another client then takes it.
    short = r.lock(P + 'short', timeout=0.2)
    out['short_acquire'] = short.acquire()
    time.sleep(0.5)
    out['short_expired_owned'] = short.owned()
    taker = r.lock(P + 'short', timeout=5)
    out['short_taken'] = taker.acquire(blocking=False)
    try:
        short.release()
        out['short_release'] = 'no error'
    except LockNotOwnedError:
        out['short_release'] = 'LockNotOwnedError'
    taker.release()
    with r.lock(P + 'ctx', timeout=5, blocking_timeout=1) as cm:
        out['ctx_held'] = r.exists(P + 'ctx')
    out['ctx_after'] = r.exists(P + 'ctx')
    # Redlock-style unlock.
    r.set(P + 'rl', 'tok-1', px=60000, nx=True)
    out['unlock_wrong'] = unlock(keys=[P + 'rl'], args=['tok-2'])
    out['unlock_right'] = unlock(keys=[P + 'rl'], args=['tok-1'])
    out['unlock_again'] = unlock(keys=[P + 'rl'], args=['tok-1'])
    r.set(P + 'rl', 'tok-3', px=60000, nx=True)
    # Token bucket: 5 tokens, 1 per second; 7 requests at t=1000 ms.
    res = bucket(limiter, 1000, 7)
    out['limiter'] = [[a, t.decode()] for a, t in res]
    out['limiter_allowed'] = sum(a for a, _ in res)
    tlimiter = r.register_script(BUCKET_TIME)
    out['time_limiter'] = [tlimiter(keys=[P + 'tbucket'], args=[3]) for _ in range(5)]
    loaded = r.function_load(LIB)
    out['function_load'] = loaded.decode() if isinstance(loaded, bytes) else loaded
    with open(statefile, 'w') as f:
        json.dump({'token': lock.local.token.decode()}, f)
else:
    state = json.load(open(statefile))
    token = state['token']
    out['held_by_token'] = r.get(P + 'lock') == token.encode()
    other = r.lock(P + 'lock', timeout=60)
    out['other_nonblocking'] = other.acquire(blocking=False)
    out['other_blocking_timeout'] = other.acquire(blocking_timeout=0.2)
    lock = r.lock(P + 'lock', timeout=60)
    lock.local.token = token.encode()
    out['resumed_owned'] = lock.owned()
    out['resumed_extend'] = lock.extend(10)
    out['resumed_reacquire'] = lock.reacquire()
    lock.release()
    out['released'] = r.exists(P + 'lock') == 0
    out['other_after_release'] = other.acquire(blocking=False)
    other.release()
    # The scripts the first phase ran are in the new leader's cache.
    try:
        out['evalsha_unlock'] = r.evalsha(unlock.sha, 1, P + 'rl', 'tok-3')
        out['evalsha_limiter'] = [a for a, _ in [r.evalsha(limiter.sha, 1, P + 'bucket', 1, 5, 3000, 1) for _ in range(3)]]
        out['evalsha_cached'] = 'NOSCRIPT never'
    except NoScriptError as e:
        out['evalsha_cached'] = 'NOSCRIPT: ' + str(e)
    out['script_exists'] = r.script_exists(unlock.sha, limiter.sha)
    # The bucket went on from its state: empty at t=1000 ms, 2 tokens back by
    # t=3000 (above), 3 more by t=6000.
    out['limiter_after'] = [[a, t.decode()] for a, t in bucket(limiter, 6000, 4)]
    out['fcall'] = r.fcall('app_hello', 0).decode()
    r.set(P + 'fk', 'fv')
    out['fcall_ro'] = r.fcall_ro('app_get', 1, P + 'fk').decode()
    fields = lambda x: x if isinstance(x, dict) else dict(zip(x[::2], x[1::2]))
    out['function_list'] = sorted(fields(f)[b'name'].decode() for lib in r.function_list() for f in fields(lib)[b'functions'])
print(json.dumps(out))
`
