package compat

import (
	"strconv"
	"testing"
	"time"
)

// TestCompat_DumpRestoreRedisPy: an application moving values with Debian's
// python3-redis `dump` and `restore` between redis-server and a follower
// (db 3): every type arrives equal both ways, with its TTL, and RESTORE's
// errors reach redis-py as the same exceptions and texts as redis-server's.
func TestCompat_DumpRestoreRedisPy(t *testing.T) {
	py, host, port, redisPort := redisPyAgainstRedis(t)
	var res struct {
		Checked int
		Bad     []string
		Errors  map[string][2]string
	}
	runRedisPy(t, py, redisPyDumpRestore, &res, host, strconv.Itoa(port), strconv.Itoa(redisPort),
		strconv.FormatInt(time.Now().UnixNano(), 10))
	if res.Checked != 12 {
		t.Fatalf("redis-py checked %d values, want the 12 it made", res.Checked)
	}
	for _, b := range res.Bad {
		t.Error(b)
	}
	if len(res.Errors) < 4 {
		t.Fatalf("redis-py reported %d error cases: %v", len(res.Errors), res.Errors)
	}
	for name, e := range res.Errors {
		if e[0] != e[1] {
			t.Errorf("%s: understudy %q, redis-server %q", name, e[0], e[1])
		}
	}
	t.Logf("redis-py dump/restore through a follower (db 3): %d values both ways, %d error cases equal", res.Checked, len(res.Errors))
}

// redisPyDumpRestore: argv host port (Understudy) redis-port prefix.
const redisPyDumpRestore = `
import sys, json, redis
us = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), db=3)
them = redis.Redis(host=sys.argv[1], port=int(sys.argv[3]), db=3)
p = 'py:%s:' % sys.argv[4]
def read(r, k):
    t = r.type(k).decode()
    if t == 'string': v = r.get(k)
    elif t == 'list': v = r.lrange(k, 0, -1)
    elif t == 'set': v = sorted(r.smembers(k))
    elif t == 'hash': v = sorted(r.hgetall(k).items())
    elif t == 'zset': v = r.zrange(k, 0, -1, withscores=True)
    elif t == 'stream': v = [r.xrange(k), r.xinfo_groups(k)]
    else: v = None
    return repr((t, v))
them.set(p+'str', 'hello')
them.set(p+'int', 42, ex=1000)
them.rpush(p+'list', *range(300))
them.sadd(p+'intset', 1, 2, 3)
them.sadd(p+'set', *['m%d' % i for i in range(100)])
them.hset(p+'hash', mapping={'f': 'v', 'g': 'w'})
them.hset(p+'bighash', mapping={'f%d' % i: 'v' * i for i in range(100)})
them.zadd(p+'zset', {'a': 1, 'b': 2.5})
them.zadd(p+'bigzset', {'m%d' % i: i for i in range(200)})
them.xadd(p+'stream', {'f': 'v'}, id='1-1')
them.xgroup_create(p+'stream', 'g', id='0')
them.pfadd(p+'hll', 'a', 'b')
them.setbit(p+'bits', 77, 1)
out = {'Checked': 0, 'Bad': [], 'Errors': {}}
for k in sorted(them.scan_iter(match=p+'*')):
    k = k.decode()
    ttl = max(them.pttl(k), 0)
    us.restore(k, ttl, them.dump(k), replace=True)
    if read(us, k) != read(them, k):
        out['Bad'].append('%s: understudy %.200s, redis-server %.200s' % (k, read(us, k), read(them, k)))
    if (us.pttl(k) > 0) != (ttl > 0):
        out['Bad'].append('%s: TTL %d here, %d in redis-server' % (k, us.pttl(k), ttl))
    them.restore(k+':back', ttl, us.dump(k), replace=True)
    if read(them, k+':back') != read(them, k):
        out['Bad'].append('%s came back from understudy as %.200s' % (k, read(them, k+':back')))
    out['Checked'] += 1
payload = them.dump(p+'str')
corrupt = payload[:-1] + bytes([payload[-1] ^ 1])
cases = {
    'busykey': lambda r: r.restore(p+'str', 0, payload),
    'negative ttl': lambda r: r.restore(p+'new', -1, payload),
    'checksum': lambda r: r.restore(p+'new', 0, corrupt),
    'idletime': lambda r: r.restore(p+'new', 0, payload, idletime=-1),
    'frequency': lambda r: r.restore(p+'new', 0, payload, frequency=300),
}
for name, fn in cases.items():
    got = []
    for r in (us, them):
        try:
            got.append('ok %r' % fn(r))
        except redis.ResponseError as e:
            got.append('%s: %s' % (type(e).__name__, e))
    out['Errors'][name] = got
us.restore(p+'idle', 0, payload, idletime=500)
them.restore(p+'idle', 0, payload, idletime=500)
out['Errors']['object idletime'] = [str(us.object('idletime', p+'idle') >= 500), str(them.object('idletime', p+'idle') >= 500)]
print(json.dumps(out))
`
