package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// KV is the one interface every workload drives; the same code runs against
// every system.
type KV interface {
	Set(ctx context.Context, key string, val []byte) error
	// Get reads key; a missing key is not an error.
	Get(ctx context.Context, key string) error
	// SetBatch writes len(keys) keys in one round trip: a pipeline for RESP,
	// one Txn of puts for etcd (which has no pipelining).
	SetBatch(ctx context.Context, keys []string, val []byte) error
	// ReadMany returns the values of keys (nil for a missing key).
	ReadMany(ctx context.Context, keys []string) ([][]byte, error)
	Close() error
}

// Scripter is a KV that runs scripts: EvalSet runs the small write script
// (GET the old value, SET val, return the old length) on key.
type Scripter interface {
	EvalSet(ctx context.Context, key string, val []byte) error
}

// evalSetScript is the script of the evalsha workload: a read and a write,
// as a check-and-set does.
const evalSetScript = `local old = redis.call('get', KEYS[1])
redis.call('set', KEYS[1], ARGV[1])
if old then return #old end
return 0`

// evalSet is evalSetScript with its SHA1 (immutable).
var evalSet = redis.NewScript(evalSetScript)

// RedisOptions are the client settings used for every RESP system: the same
// pool, timeouts and (no) retries, so errors are seen and counted.
func RedisOptions(addr string, pool int) *redis.Options {
	return &redis.Options{
		Addr:         addr,
		PoolSize:     pool,
		MinIdleConns: 0,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  5 * time.Second,
		WriteTimeout: 5 * time.Second,
		PoolTimeout:  10 * time.Second,
		MaxRetries:   -1,
	}
}

// RedisKV drives a RESP server through go-redis.
type RedisKV struct{ C redis.UniversalClient }

// NewRedisKV connects a plain client to addr.
func NewRedisKV(addr string, pool int) *RedisKV {
	return &RedisKV{C: redis.NewClient(RedisOptions(addr, pool))}
}

// EvalSet runs the evalsha workload's script by EVALSHA (go-redis loads it
// by EVAL on the first NOSCRIPT).
func (r *RedisKV) EvalSet(ctx context.Context, key string, val []byte) error {
	return evalSet.Run(ctx, r.C, []string{key}, val).Err()
}

// NewFailoverKV connects a Sentinel-aware client: it asks the sentinels for
// the master named master and follows +switch-master.
func NewFailoverKV(master string, sentinels []string, pool int) *RedisKV {
	o := RedisOptions("", pool)
	return &RedisKV{C: redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    master,
		SentinelAddrs: sentinels,
		PoolSize:      o.PoolSize,
		DialTimeout:   o.DialTimeout,
		ReadTimeout:   o.ReadTimeout,
		WriteTimeout:  o.WriteTimeout,
		PoolTimeout:   o.PoolTimeout,
		MaxRetries:    o.MaxRetries,
	})}
}

func (r *RedisKV) Set(ctx context.Context, key string, val []byte) error {
	return r.C.Set(ctx, key, val, 0).Err()
}

func (r *RedisKV) Get(ctx context.Context, key string) error {
	err := r.C.Get(ctx, key).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

func (r *RedisKV) SetBatch(ctx context.Context, keys []string, val []byte) error {
	p := r.C.Pipeline()
	for _, k := range keys {
		p.Set(ctx, k, val, 0)
	}
	cmds, err := p.Exec(ctx)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if c.Err() != nil {
			return c.Err()
		}
	}
	return nil
}

func (r *RedisKV) ReadMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), 500)
		vs, err := r.C.MGet(ctx, keys[:n]...).Result()
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			switch x := v.(type) {
			case nil:
				out = append(out, nil)
			case string:
				out = append(out, []byte(x))
			default:
				return nil, fmt.Errorf("MGET: unexpected %T", v)
			}
		}
		keys = keys[n:]
	}
	return out, nil
}

func (r *RedisKV) Close() error { return r.C.Close() }

// EtcdKV drives etcd through a few clients (one gRPC connection each), used
// round-robin by the workers.
type EtcdKV struct {
	cs []*clientv3.Client
}

// NewEtcdClient connects one etcd client to every endpoint.
func NewEtcdClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 3 * time.Second,
		Logger:      zap.NewNop(),
	})
}

// NewEtcdKV opens n clients.
func NewEtcdKV(endpoints []string, n int) (*EtcdKV, error) {
	e := &EtcdKV{}
	for i := 0; i < max(n, 1); i++ {
		c, err := NewEtcdClient(endpoints)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.cs = append(e.cs, c)
	}
	return e, nil
}

// Client returns the i-th client (mod their number), for a worker to keep.
func (e *EtcdKV) Client(i int) *clientv3.Client { return e.cs[i%len(e.cs)] }

// For returns a KV bound to client i, so each worker keeps one connection.
func (e *EtcdKV) For(i int) KV { return etcdOne{e.Client(i)} }

func (e *EtcdKV) Set(ctx context.Context, key string, val []byte) error {
	return etcdOne{e.cs[0]}.Set(ctx, key, val)
}
func (e *EtcdKV) Get(ctx context.Context, key string) error { return etcdOne{e.cs[0]}.Get(ctx, key) }
func (e *EtcdKV) SetBatch(ctx context.Context, keys []string, val []byte) error {
	return etcdOne{e.cs[0]}.SetBatch(ctx, keys, val)
}
func (e *EtcdKV) ReadMany(ctx context.Context, keys []string) ([][]byte, error) {
	return etcdOne{e.cs[0]}.ReadMany(ctx, keys)
}

func (e *EtcdKV) Close() error {
	var first error
	for _, c := range e.cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type etcdOne struct{ c *clientv3.Client }

func (e etcdOne) Set(ctx context.Context, key string, val []byte) error {
	_, err := e.c.Put(ctx, key, string(val))
	return err
}

// Get is etcd's default Get: linearizable (a quorum read).
func (e etcdOne) Get(ctx context.Context, key string) error {
	_, err := e.c.Get(ctx, key)
	return err
}

func (e etcdOne) SetBatch(ctx context.Context, keys []string, val []byte) error {
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		ops[i] = clientv3.OpPut(k, string(val))
	}
	_, err := e.c.Txn(ctx).Then(ops...).Commit()
	return err
}

func (e etcdOne) ReadMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), 100)
		ops := make([]clientv3.Op, n)
		for i, k := range keys[:n] {
			ops[i] = clientv3.OpGet(k)
		}
		resp, err := e.c.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, err
		}
		for _, r := range resp.Responses {
			kvs := r.GetResponseRange().GetKvs()
			if len(kvs) == 0 {
				out = append(out, nil)
			} else {
				out = append(out, kvs[0].Value)
			}
		}
		keys = keys[n:]
	}
	return out, nil
}

func (e etcdOne) Close() error { return nil }
