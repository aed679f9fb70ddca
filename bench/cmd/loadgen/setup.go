package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/understudy/understudy/bench/driver"
)

// loadgen wait and leader: the helpers scripts/bench.sh runs around the
// experiments besides freeports (readiness, the leader's address).

// wait returns once every named system answers a write: Understudy and etcd
// have a leader, the Redis servers answer, the Sentinels know the master.
func wait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	var s systems
	s.register(fs)
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	try := func(what string, f func(context.Context) error) error {
		var last error
		for {
			octx, c := context.WithTimeout(ctx, 3*time.Second)
			err := f(octx)
			c()
			if err == nil {
				log.Printf("%s ready", what)
				return nil
			}
			last = err
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s not ready after %v: %w", what, *timeout, last)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	val := []byte("ready")
	for _, spec := range []string{s.understudy, s.understudyAlt} {
		if spec == "" {
			continue
		}
		u := driver.UnderstudyCluster{Nodes: mustNodes(spec), Bin: s.bin, Master: s.usMaster}
		if err := try("understudy "+u.Nodes[0].Name, func(ctx context.Context) error {
			if _, err := u.Leader(ctx); err != nil {
				return err
			}
			addr, err := driver.MasterAddr(ctx, driver.Addrs(u.Nodes), u.Master)
			if err != nil {
				return err
			}
			kv := driver.NewRedisKV(addr, 1)
			defer kv.Close()
			return kv.Set(ctx, "bench:ready", val)
		}); err != nil {
			return err
		}
	}
	for _, spec := range []string{s.redisAOF, s.redisMem, s.sentinelData} {
		for _, n := range mustNodes(spec) {
			if err := try("redis "+n.Name, func(ctx context.Context) error {
				kv := driver.NewRedisKV(n.Addr, 1)
				defer kv.Close()
				return kv.C.Ping(ctx).Err()
			}); err != nil {
				return err
			}
		}
	}
	if s.sentinels != "" {
		if err := try("sentinel", func(ctx context.Context) error {
			kv := driver.NewFailoverKV(s.master, driver.Addrs(mustNodes(s.sentinels)), 1)
			defer kv.Close()
			return kv.Set(ctx, "bench:ready", val)
		}); err != nil {
			return err
		}
	}
	if s.etcd != "" {
		if err := try("etcd", func(ctx context.Context) error {
			c, err := driver.NewEtcdClient(driver.Addrs(mustNodes(s.etcd)))
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Put(ctx, "bench:ready", "ready")
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func leader(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("leader", flag.ExitOnError)
	var s systems
	s.register(fs)
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		addr, err := driver.MasterAddr(ctx, driver.Addrs(mustNodes(s.understudy)), s.usMaster)
		if err == nil {
			fmt.Println(addr)
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
