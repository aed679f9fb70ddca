package main

import (
	"context"
	"flag"
	"time"

	"github.com/understudy/understudy/bench"
	"github.com/understudy/understudy/bench/driver"
)

// loadgen scale: a large key space loaded, and a follower's catch-up.

func scale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	var s systems
	s.register(fs)
	out := fs.String("out", "", "write the results (JSON) here")
	redisNode := fs.String("redis", "", "the Redis server (AOF) to compare with: name=addr")
	keys := fs.Int("keys", 1000000, "keys to load")
	catch := fs.Duration("catch-up-timeout", 5*time.Minute, "how long the restarted follower may take")
	fs.Parse(args)
	spec := driver.ScaleSpec{Keys: *keys, ValueSize: 100, Batch: 100, Depth: 10, Conns: 4, CatchUpTimeout: *catch}
	var results []bench.Scale
	if ns := mustNodes(*redisNode); len(ns) > 0 {
		results = append(results, driver.ScaleRedis(ctx, bench.SysRedisAOF, ns[0], s.procs(), spec))
		if err := bench.WriteJSON(*out, results); err != nil {
			return err
		}
	}
	if s.understudy != "" {
		results = append(results, driver.ScaleUnderstudy(ctx, s.us(), s.procs(), spec))
	}
	return bench.WriteJSON(*out, results)
}
