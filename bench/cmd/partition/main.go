// Command partition is the driver of scripts/partition-bench.sh: from the
// root network namespace it writes to Understudy and to Redis + Sentinel
// (and Redis + Sentinel with min-replicas-to-write), whose nodes the script
// started one per namespace; per round it puts every system's leader in one
// namespace, cuts that namespace off from the other two (not from the
// clients), heals the cut, and reads back every acknowledged write. It
// writes a markdown report.
//
//	partition --netns NS=IP,... --understudy n1=CLIENT@ADMIN,... --bin UNDERSTUDY
//	          --sentinels NAME=ADDR,... --redis NAME=ADDR,... [--redis-minrep NAME=ADDR,...]
//	          --out REPORT.md [--latest COPY.md] [--rounds 3 --hold 10s ...]
//
// Node i of every list runs in namespace i.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/understudy/understudy/bench/driver"
	"github.com/understudy/understudy/bench/internal/cli"
)

// config is everything the report needs besides the measurements.
type config struct {
	mode, command, host, started   string
	sentinelConf, minrepConf       string
	rounds, writers, rate          int
	settle, hold                   time.Duration
	netns                          []driver.Netns
	systems                        []driver.PartitionSystem
	out, latest                    string
	usMaster, master, minrepMaster string
}

func main() {
	cli.Setup("partition")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func nodes(flagName, s string, want int) ([]driver.Node, error) {
	ns, err := driver.ParseNodes(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	if len(ns) != want {
		return nil, fmt.Errorf("--%s: %d nodes, want one per namespace (%d)", flagName, len(ns), want)
	}
	return ns, nil
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("partition", flag.ContinueOnError)
	var c config
	netns := fs.String("netns", "", "the namespaces: name=ip,... (node i of every list runs in namespace i)")
	us := fs.String("understudy", "", "Understudy nodes: id=client-addr@admin-addr,...")
	bin := fs.String("bin", "bin/understudy", "the understudy binary (status, transfer-leadership)")
	sentinels := fs.String("sentinels", "", "Redis Sentinels: name=addr,...")
	rds := fs.String("redis", "", "the Redis servers of the plain Sentinel setup: name=addr,...")
	minrep := fs.String("redis-minrep", "", "the Redis servers with min-replicas-to-write (optional): name=addr,...")
	fs.StringVar(&c.master, "redis-master", "mymaster", "master name of --redis at the Sentinels")
	fs.StringVar(&c.minrepMaster, "redis-minrep-master", "minrep", "master name of --redis-minrep at the Sentinels")
	fs.StringVar(&c.usMaster, "understudy-master", "understudy", "the master name Understudy answers to")
	fs.IntVar(&c.rounds, "rounds", 3, "partitions")
	fs.IntVar(&c.writers, "writers", 3, "writers per system and client kind")
	fs.IntVar(&c.rate, "rate", 200, "writes per second per writer (0: unpaced)")
	fs.DurationVar(&c.settle, "settle", 3*time.Second, "load before each cut")
	fs.DurationVar(&c.hold, "hold", 10*time.Second, "how long each cut lasts (longer if a majority side has not failed over yet)")
	opTimeout := fs.Duration("op-timeout", 2*time.Second, "timeout of one write")
	fs.StringVar(&c.out, "out", "", "write the markdown report here")
	fs.StringVar(&c.latest, "latest", "", "and a copy here")
	fs.StringVar(&c.mode, "mode", "full", "quick or full (for the report)")
	fs.StringVar(&c.command, "command", "", "the command line that ran this (for the report)")
	fs.StringVar(&c.host, "host", "", "a line about the machine (for the report)")
	fs.StringVar(&c.sentinelConf, "sentinel-conf", "", "the Sentinel settings (for the report)")
	fs.StringVar(&c.minrepConf, "minrep-conf", "", "the min-replicas settings of --redis-minrep (for the report)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.out == "" {
		return errors.New("--out is required")
	}
	if c.rounds < 1 || c.writers < 1 {
		return errors.New("--rounds and --writers must be at least 1")
	}
	var err error
	if c.netns, err = driver.ParseNetns(*netns); err != nil {
		return err
	}
	if len(c.netns) < 3 {
		return fmt.Errorf("--netns: %d namespaces, want at least 3", len(c.netns))
	}
	n := len(c.netns)
	usNodes, err := nodes("understudy", *us, n)
	if err != nil {
		return err
	}
	for _, u := range usNodes {
		if u.Admin == "" {
			return fmt.Errorf("--understudy: node %s has no @admin address", u.Name)
		}
	}
	senNodes, err := nodes("sentinels", *sentinels, n)
	if err != nil {
		return err
	}
	redisNodes, err := nodes("redis", *rds, n)
	if err != nil {
		return err
	}
	// The first system's leader decides where every leader goes: Sentinel
	// cannot be told where to fail over without a detour (see
	// SentinelTarget.MoveLeader), Understudy can.
	c.systems = []driver.PartitionSystem{{
		Name: "redis", Label: "Redis + Sentinel",
		Target: driver.SentinelTarget{C: driver.SentinelCluster{Data: redisNodes, Sentinels: senNodes, Master: c.master}},
	}}
	if *minrep != "" {
		mr, err := nodes("redis-minrep", *minrep, n)
		if err != nil {
			return err
		}
		c.systems = append(c.systems, driver.PartitionSystem{
			Name: "minrep", Label: "Redis + Sentinel, min-replicas-to-write",
			Target: driver.SentinelTarget{C: driver.SentinelCluster{Data: mr, Sentinels: senNodes, Master: c.minrepMaster}},
		})
	}
	c.systems = append(c.systems, driver.PartitionSystem{
		Name: "understudy", Label: "Understudy (3 nodes)",
		Target: driver.UnderstudyTarget{C: driver.UnderstudyCluster{Nodes: usNodes, Bin: *bin, Master: c.usMaster}},
	})
	spec := driver.PartitionSpec{Rounds: c.rounds, Writers: c.writers, Rate: c.rate, Settle: c.settle, Hold: c.hold,
		OpTimeout: *opTimeout, Prefix: fmt.Sprintf("pt:%d", time.Now().Unix())}
	c.started = time.Now().UTC().Format("2006-01-02 15:04:05 UTC")
	// The probe of namespace i: Understudy's client port there.
	probe := func(i int) string { return usNodes[i].Addr }
	rounds, runErr := driver.RunPartition(ctx, spec, c.systems, c.netns, probe)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d rounds, no report written: %w", len(rounds), runErr)
	}
	md := markdown(c, rounds, runErr)
	// A run that ended early gets its own report, but does not replace the
	// latest complete one.
	paths := []string{c.out}
	if runErr == nil && c.latest != "" {
		paths = append(paths, c.latest)
	}
	for _, p := range paths {
		if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	fmt.Print(md)
	if runErr != nil {
		return fmt.Errorf("the experiment ended early (report in %s): %w", c.out, runErr)
	}
	return nil
}
