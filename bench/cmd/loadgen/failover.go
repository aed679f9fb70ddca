package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/understudy/understudy/bench"
	"github.com/understudy/understudy/bench/driver"
)

// loadgen failover: leader kills under write load, per system and client.

func failover(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("failover", flag.ExitOnError)
	var s systems
	s.register(fs)
	out := fs.String("out", "", "write the results (JSON) here")
	rounds := fs.Int("rounds", 5, "leader kills per system")
	writers := fs.Int("writers", 8, "concurrent writers")
	settle := fs.Duration("settle", 2*time.Second, "load before each kill")
	clientsFlag := fs.String("understudy-clients", "sentinel,plain", "how Understudy clients follow the leader: sentinel, plain")
	fs.Parse(args)
	procs := s.procs()
	base := driver.FailoverSpec{Rounds: *rounds, Writers: *writers, Settle: *settle, RecoverTimeout: 20 * time.Second,
		RejoinTimeout: 40 * time.Second, OpTimeout: 2 * time.Second}
	run := fmt.Sprintf("%d", time.Now().Unix())
	var results []bench.Failover
	save := func(r bench.Failover) error {
		results = append(results, r)
		return bench.WriteJSON(*out, results)
	}
	if s.understudy != "" {
		u := s.us()
		addrs := driver.Addrs(u.Nodes)
		verify := func(context.Context) (driver.KV, error) {
			return driver.NewFailoverKV(u.Master, addrs, 4), nil
		}
		for _, cl := range strings.Split(*clientsFlag, ",") {
			spec := base
			spec.System, spec.Client, spec.Prefix = bench.SysUnderstudy, cl, "fo:"+cl+":"+run+":"
			var nw func(int) driver.Writer
			switch cl {
			case "sentinel":
				spec.Client = "go-redis FailoverClient"
				nw = func(int) driver.Writer { return driver.NewFailoverKV(u.Master, addrs, 2) }
			case "plain":
				spec.Client = "plain clients to all nodes"
				nw = func(i int) driver.Writer { return driver.NewPlainRotator(addrs, i) }
			default:
				return fmt.Errorf("unknown --understudy-clients %q", cl)
			}
			if err := save(driver.RunFailover(ctx, spec, u, procs, nw, verify)); err != nil {
				return err
			}
		}
	}
	if s.sentinels != "" {
		sc := driver.SentinelCluster{Data: mustNodes(s.sentinelData), Sentinels: mustNodes(s.sentinels), Master: s.master}
		saddrs := driver.Addrs(sc.Sentinels)
		spec := base
		spec.System, spec.Client, spec.Prefix = bench.SysSentinel, "go-redis FailoverClient", "fo:sentinel:"+run+":"
		nw := func(int) driver.Writer { return driver.NewFailoverKV(s.master, saddrs, 2) }
		verify := func(context.Context) (driver.KV, error) { return driver.NewFailoverKV(s.master, saddrs, 4), nil }
		if err := save(driver.RunFailover(ctx, spec, sc, procs, nw, verify)); err != nil {
			return err
		}
	}
	if s.etcd != "" {
		ec := driver.EtcdCluster{Nodes: mustNodes(s.etcd)}
		eps := driver.Addrs(ec.Nodes)
		spec := base
		spec.System, spec.Client, spec.Prefix = bench.SysEtcd, "etcd clientv3 (all endpoints)", "fo:etcd:"+run+":"
		nw := func(int) driver.Writer {
			kv, err := driver.NewEtcdKV(eps, 1)
			if err != nil {
				log.Fatal(err)
			}
			return kv
		}
		verify := func(context.Context) (driver.KV, error) { return driver.NewEtcdKV(eps, 1) }
		if err := save(driver.RunFailover(ctx, spec, ec, procs, nw, verify)); err != nil {
			return err
		}
	}
	return nil
}
