// Package upgradetest is the data set of the upgrade fixtures: it writes
// every kind of state a cluster can hold (every type and encoding, TTLs,
// deletions, watched transactions, pub/sub, blocking pops, FLUSHALL) through
// a Redis client, reads a cluster's whole keyspace back into a Manifest, and
// compares two manifests. scripts/make-upgrade-fixture.sh writes a fixture
// with it against an old build; the server tests load that fixture into the
// current build and compare (server/upgrade_test.go).
package upgradetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// FarFuture is 2100-01-01T00:00:00Z in Unix ms: the fixtures' TTLs are set
// at or after it, so no key of theirs expires while a test runs.
const FarFuture int64 = 4102444800000

// Writer writes the data set. C talks to the leader (writes, WATCH, blocking
// pops); Other to another node, where the pub/sub subscriber listens, so a
// message must travel through the log to reach it. Both must not retry
// (MaxRetries -1): a retried INCR or APPEND would change the data set.
type Writer struct {
	C     *redis.Client
	Other *redis.Client
	// Absent collects the keys the data set deleted, expired or renamed away.
	Absent []string
}

// Scratch writes a few keys and removes them all with FLUSHALL, so a fixture
// holds a FLUSHALL followed by more writes. It must run first.
func (w *Writer) Scratch(ctx context.Context) error {
	for i := range 5 {
		if err := w.C.Set(ctx, fmt.Sprintf("scratch:%d", i), i, 0).Err(); err != nil {
			return fmt.Errorf("scratch: %w", err)
		}
	}
	if err := w.C.RPush(ctx, "scratch:list", "a", "b").Err(); err != nil {
		return fmt.Errorf("scratch: %w", err)
	}
	if err := w.C.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("FLUSHALL: %w", err)
	}
	n, err := w.C.DBSize(ctx).Result()
	if err != nil || n != 0 {
		return fmt.Errorf("DBSIZE after FLUSHALL: %d, %v", n, err)
	}
	w.Absent = append(w.Absent, "scratch:0", "scratch:list")
	return nil
}

// Populate writes one phase of the data set, every key named p + ":...".
func (w *Writer) Populate(ctx context.Context, p string) error {
	for _, step := range []struct {
		name string
		fn   func(context.Context, string) error
	}{
		{"strings", w.strings}, {"lists", w.lists}, {"sets", w.sets}, {"hashes", w.hashes},
		{"sorted sets", w.zsets}, {"ttls", w.ttls}, {"deletions", w.deletions},
		{"expired key", w.expired}, {"transactions", w.transactions},
		{"pub/sub", w.pubsub}, {"blocking pops", w.blocking},
	} {
		if err := step.fn(ctx, p); err != nil {
			return fmt.Errorf("%s %s: %w", p, step.name, err)
		}
	}
	return nil
}

// do runs each command in turn and stops at the first error.
func (w *Writer) do(ctx context.Context, cmds ...[]any) error {
	for _, args := range cmds {
		if err := w.C.Do(ctx, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("%v: %w", args, err)
		}
	}
	return nil
}

func (w *Writer) strings(ctx context.Context, p string) error {
	long := strings.Repeat("0123456789abcdef", 1280) // 20 KiB: a raw string
	return w.do(ctx,
		[]any{"SET", p + ":str", "hello"},
		[]any{"SET", p + ":int", "12345"},
		[]any{"SET", p + ":neg", "-42"},
		[]any{"SET", p + ":float", "0"},
		[]any{"INCRBYFLOAT", p + ":float", "3.25"},
		[]any{"SET", p + ":bin", "nul\x00 crlf\r\n tab\t quote\" é 日本"},
		[]any{"SET", p + ":long", long},
		[]any{"SET", p + ":empty", ""},
		[]any{"APPEND", p + ":app", "ab"},
		[]any{"APPEND", p + ":app", "cd"},
		[]any{"SETRANGE", p + ":rng", 5, "x"},
		[]any{"INCR", p + ":ctr"}, []any{"INCR", p + ":ctr"}, []any{"INCRBY", p + ":ctr", 40},
		[]any{"MSET", p + ":m1", "one", p + ":m2", "two"},
	)
}

func (w *Writer) lists(ctx context.Context, p string) error {
	big := []any{"RPUSH", p + ":list:big"}
	for i := range 1000 { // ~25 KB: past the 8 KB listpack limit, a quicklist
		big = append(big, fmt.Sprintf("item-%04d-padding", i))
	}
	return w.do(ctx,
		[]any{"RPUSH", p + ":list:small", "a", "b", "c"},
		[]any{"LPUSH", p + ":list:small", "z"},
		[]any{"RPUSH", p + ":list:ints", 1, 2, 3, -5},
		big,
		[]any{"LSET", p + ":list:big", 10, "changed"},
	)
}

func (w *Writer) sets(ctx context.Context, p string) error {
	ht := []any{"SADD", p + ":set:ht"} // 200 > 128 members: a hashtable
	for i := range 200 {
		ht = append(ht, fmt.Sprintf("m%03d", i))
	}
	bigint := []any{"SADD", p + ":set:bigint"} // 600 > 512 integers: a hashtable
	for i := range 600 {
		bigint = append(bigint, i*3)
	}
	return w.do(ctx,
		[]any{"SADD", p + ":set:int", 1, 2, 3, 100, -7},
		[]any{"SADD", p + ":set:lp", "a", "b", "c"},
		[]any{"SADD", p + ":set:long", strings.Repeat("s", 80)}, // a member past 64 bytes: a hashtable
		ht, bigint,
		[]any{"SREM", p + ":set:ht", "m199"},
	)
}

func (w *Writer) hashes(ctx context.Context, p string) error {
	big := []any{"HSET", p + ":hash:big"} // 600 > 512 fields: a hashtable
	for i := range 600 {
		big = append(big, fmt.Sprintf("f%04d", i), fmt.Sprintf("v%d", i))
	}
	return w.do(ctx,
		[]any{"HSET", p + ":hash:small", "f1", "v1", "f2", "v2", "n", 10},
		[]any{"HINCRBY", p + ":hash:small", "n", 5},
		[]any{"HINCRBYFLOAT", p + ":hash:small", "x", "1.5"},
		[]any{"HSET", p + ":hash:longval", "f", strings.Repeat("v", 100)}, // a value past 64 bytes
		big,
	)
}

func (w *Writer) zsets(ctx context.Context, p string) error {
	big := []any{"ZADD", p + ":zset:big"} // 200 > 128 members: a skiplist
	for i := range 200 {
		big = append(big, float64(i)*0.5, fmt.Sprintf("z%03d", i))
	}
	return w.do(ctx,
		[]any{"ZADD", p + ":zset:small", 1, "a", 2.5, "b", -3, "c", "+inf", "top", "-inf", "bottom"},
		[]any{"ZINCRBY", p + ":zset:small", 10, "a"},
		[]any{"ZADD", p + ":zset:small", 0.1, "tenth"},
		big,
	)
}

func (w *Writer) ttls(ctx context.Context, p string) error {
	return w.do(ctx,
		[]any{"SET", p + ":ttl:str", "v", "PXAT", FarFuture},
		[]any{"HSET", p + ":ttl:hash", "f", "v"},
		[]any{"PEXPIREAT", p + ":ttl:hash", FarFuture + 123},
		[]any{"RPUSH", p + ":ttl:list", "x"},
		[]any{"EXPIREAT", p + ":ttl:list", FarFuture/1000 + 1},
		[]any{"SADD", p + ":ttl:set", "a"},
		[]any{"PEXPIREAT", p + ":ttl:set", FarFuture + 1000},
		[]any{"ZADD", p + ":ttl:zset", 1, "a"},
		[]any{"PEXPIREAT", p + ":ttl:zset", FarFuture + 2000},
		// A relative TTL long enough to outlast 2100: the leader turns it
		// into an absolute time in the log entry.
		[]any{"SET", p + ":ttl:ex", "v", "EX", 3_000_000_000},
	)
}

func (w *Writer) deletions(ctx context.Context, p string) error {
	err := w.do(ctx,
		[]any{"SET", p + ":del:str", "v"}, []any{"DEL", p + ":del:str"},
		[]any{"RPUSH", p + ":del:list", "a"}, []any{"UNLINK", p + ":del:list"},
		[]any{"HSET", p + ":del:hash", "f", "v"}, []any{"HDEL", p + ":del:hash", "f"},
		[]any{"SADD", p + ":del:set", "a"}, []any{"SPOP", p + ":del:set"},
		[]any{"ZADD", p + ":del:zset", 1, "a"}, []any{"ZREM", p + ":del:zset", "a"},
		[]any{"SET", p + ":del:getdel", "v"}, []any{"GETDEL", p + ":del:getdel"},
		[]any{"LPUSH", p + ":del:lpop", "a"}, []any{"LPOP", p + ":del:lpop"},
		[]any{"SET", p + ":ren:from", "moved"}, []any{"RENAME", p + ":ren:from", p + ":ren:to"},
		// Deleted, then written again: a tombstone was left and replaced.
		[]any{"SET", p + ":del:again", "1"}, []any{"DEL", p + ":del:again"}, []any{"SET", p + ":del:again", "2"},
	)
	w.Absent = append(w.Absent, p+":del:str", p+":del:list", p+":del:hash", p+":del:set", p+":del:zset",
		p+":del:getdel", p+":del:lpop", p+":ren:from")
	return err
}

// expired sets a key with a short TTL and waits until the leader has
// reclaimed it (DBSIZE is back where it was), so the fixture holds the
// leader's expiry entry. Nothing else may write meanwhile.
func (w *Writer) expired(ctx context.Context, p string) error {
	before, err := w.C.DBSize(ctx).Result()
	if err != nil {
		return err
	}
	if err := w.C.Set(ctx, p+":gone", "soon", 30*time.Millisecond).Err(); err != nil {
		return err
	}
	w.Absent = append(w.Absent, p+":gone")
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := w.C.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		if n == before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s:gone not reclaimed after 10s (DBSIZE %d, was %d)", p, n, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// transactions: WATCH then MULTI/EXEC that commits (on a present and on an
// absent key), one aborted by a write to the watched key, one aborted by its
// deletion.
func (w *Writer) transactions(ctx context.Context, p string) error {
	if err := w.C.Set(ctx, p+":tx:w", "1", 0).Err(); err != nil {
		return err
	}
	err := w.C.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Set(ctx, p+":tx:w", "2", 0)
			pl.Incr(ctx, p+":tx:n")
			pl.RPush(ctx, p+":tx:l", "a", "b")
			pl.HSet(ctx, p+":tx:h", "f", "v")
			return nil
		})
		return err
	}, p+":tx:w")
	if err != nil {
		return fmt.Errorf("committed EXEC: %w", err)
	}
	err = w.C.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Set(ctx, p+":tx:created", "yes", 0)
			return nil
		})
		return err
	}, p+":tx:absent")
	if err != nil {
		return fmt.Errorf("EXEC watching an absent key: %w", err)
	}
	w.Absent = append(w.Absent, p+":tx:absent")

	if err := w.C.Set(ctx, p+":tx:a", "before", 0).Err(); err != nil {
		return err
	}
	err = w.C.Watch(ctx, func(tx *redis.Tx) error {
		if err := w.C.Set(ctx, p+":tx:a", "changed", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Set(ctx, p+":tx:a", "mine", 0)
			pl.Set(ctx, p+":tx:a2", "never", 0)
			return nil
		})
		return err
	}, p+":tx:a")
	if !errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("EXEC after the watched key changed: %v, want it aborted", err)
	}
	w.Absent = append(w.Absent, p+":tx:a2")

	if err := w.C.Set(ctx, p+":tx:d", "v", 0).Err(); err != nil {
		return err
	}
	err = w.C.Watch(ctx, func(tx *redis.Tx) error {
		if err := w.C.Del(ctx, p+":tx:d").Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Set(ctx, p+":tx:d2", "never", 0)
			return nil
		})
		return err
	}, p+":tx:d")
	if !errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("EXEC after the watched key was deleted: %v, want it aborted", err)
	}
	w.Absent = append(w.Absent, p+":tx:d", p+":tx:d2")
	return nil
}

// pubsub publishes on the leader to a subscriber on another node.
func (w *Writer) pubsub(ctx context.Context, p string) error {
	ch := p + ":chan"
	sub := w.Other.Subscribe(ctx, ch)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("SUBSCRIBE: %w", err)
	}
	if err := w.C.Publish(ctx, ch, "hello "+p).Err(); err != nil {
		return fmt.Errorf("PUBLISH: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := sub.ReceiveMessage(rctx)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	if m.Channel != ch || m.Payload != "hello "+p {
		return fmt.Errorf("received %q on %q", m.Payload, m.Channel)
	}
	return nil
}

// blocking serves a BLPOP and a BLMOVE that were waiting when the push came,
// and a BRPOP served at once.
func (w *Writer) blocking(ctx context.Context, p string) error {
	v, err := w.served(ctx, func() ([]string, error) {
		return w.C.BLPop(ctx, 30*time.Second, p+":bq").Result()
	}, func() error { return w.C.RPush(ctx, p+":bq", "first", "second").Err() })
	if err != nil || strings.Join(v, ",") != p+":bq,first" {
		return fmt.Errorf("BLPOP served %v, %v", v, err)
	}
	v, err = w.served(ctx, func() ([]string, error) {
		s, err := w.C.BLMove(ctx, p+":bsrc", p+":bdst", "LEFT", "RIGHT", 30*time.Second).Result()
		return []string{s}, err
	}, func() error { return w.C.RPush(ctx, p+":bsrc", "moved").Err() })
	if err != nil || strings.Join(v, ",") != "moved" {
		return fmt.Errorf("BLMOVE served %v, %v", v, err)
	}
	w.Absent = append(w.Absent, p+":bsrc")
	if err := w.C.RPush(ctx, p+":bnow", "x", "y").Err(); err != nil {
		return err
	}
	if v, err := w.C.BRPop(ctx, time.Second, p+":bnow").Result(); err != nil || len(v) != 2 || v[1] != "y" {
		return fmt.Errorf("BRPOP served %v, %v", v, err)
	}
	return nil
}

// served starts pop, waits until the leader counts one more blocked client,
// runs push and returns what pop got.
func (w *Writer) served(ctx context.Context, pop func() ([]string, error), push func() error) ([]string, error) {
	type popped struct {
		v   []string
		err error
	}
	before, err := w.blockedClients(ctx)
	if err != nil {
		return nil, err
	}
	done := make(chan popped, 1)
	go func() { v, err := pop(); done <- popped{v, err} }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := w.blockedClients(ctx)
		if err != nil {
			return nil, err
		}
		if n > before {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no client blocked within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := push(); err != nil {
		return nil, err
	}
	r := <-done
	return r.v, r.err
}

// blockedClients counts the leader's clients flagged blocked in CLIENT LIST
// (INFO's blocked_clients is not kept).
func (w *Writer) blockedClients(ctx context.Context) (int, error) {
	list, err := w.C.ClientList(ctx).Result()
	if err != nil {
		return 0, err
	}
	return strings.Count(list, " flags=b "), nil
}

// Amend changes keys an earlier phase p wrote: run after a snapshot, it puts
// changes to keys held in the snapshot into the log after it.
func (w *Writer) Amend(ctx context.Context, p string) error {
	err := w.do(ctx,
		[]any{"APPEND", p + ":str", " world"},
		[]any{"INCR", p + ":int"},
		[]any{"DEL", p + ":neg"},
		[]any{"LPUSH", p + ":list:big", "head"},
		[]any{"RPOP", p + ":list:small"},
		[]any{"SREM", p + ":set:ht", "m000"},
		[]any{"SADD", p + ":set:int", 5000},
		[]any{"HDEL", p + ":hash:big", "f0000"},
		[]any{"HSET", p + ":hash:small", "f3", "v3"},
		[]any{"ZINCRBY", p + ":zset:big", 100, "z000"},
		[]any{"ZREM", p + ":zset:small", "c"},
		[]any{"PERSIST", p + ":ttl:str"},
		[]any{"PEXPIREAT", p + ":str", FarFuture + 7},
		[]any{"SET", p + ":ttl:ex", "new", "KEEPTTL"},
		[]any{"RENAME", p + ":ren:to", p + ":ren:again"},
	)
	w.Absent = append(w.Absent, p+":neg", p+":ren:to")
	return err
}
