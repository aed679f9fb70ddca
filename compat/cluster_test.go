package compat

// In-process three-node clusters on the in-memory Raft transport, with the
// RESP and admin servers on 127.0.0.1:0: the one test harness
// (internal/testcluster), with the timings the suite was specified with.

import (
	"time"

	"github.com/understudy/understudy/internal/testcluster"
	"github.com/understudy/understudy/server"
)

type (
	cnode   = testcluster.Node
	cluster = testcluster.Cluster
)

// startCluster starts three nodes bootstrapped as one cluster (ids
// <name>1..3) and waits until it Settled: a leader known to all and every
// node's addresses recorded everywhere (followers forward to them, WAIT and
// Sentinel read them). The caller Closes it.
func startCluster(name string, mutate func(*server.Config)) (*cluster, error) {
	opts := []testcluster.Option{testcluster.Prefix(name), testcluster.WithConfig(func(cfg *server.Config) {
		cfg.AdminAddr = "127.0.0.1:0"
		cfg.HeartbeatTimeout = 300 * time.Millisecond
		cfg.ElectionTimeout = 300 * time.Millisecond
		cfg.LeaderLeaseTimeout = 250 * time.Millisecond
		cfg.CommitTimeout = server.Defaults().CommitTimeout
		cfg.Logger = nodeLogger(cfg.ID)
	})}
	if mutate != nil {
		opts = append(opts, testcluster.WithConfig(mutate))
	}
	return testcluster.Launch(name, 3, opts...)
}
