package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/understudy/understudy/server"
)

func newServeCmd() *cobra.Command {
	cfg := server.Defaults()
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run one node",
		Long: `Run one Understudy node. Every flag can also be set in the environment as
UNDERSTUDY_<FLAG> (e.g. UNDERSTUDY_RAFT_ADDR); a flag on the command line wins.

A static cluster: start every node with the same --peers; the first start
bootstraps the cluster and restarts reuse the stored configuration.
With --join alone a node asks a running cluster to add it. With both (a
Kubernetes StatefulSet) a node named in --peers whose data directory is new
bootstraps only once every --join address has answered that it holds no
cluster either, and otherwise joins; a node not named in --peers joins.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			return runServe(cfg, logger)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ID, "id", cfg.ID, "node id, unique in the cluster")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the Raft log, stable store and snapshots")
	f.StringVar(&cfg.RaftAddr, "raft-addr", cfg.RaftAddr, "Raft transport listen address")
	f.StringVar(&cfg.ClientAddr, "client-addr", cfg.ClientAddr, "RESP (Redis protocol) listen address")
	f.StringVar(&cfg.AdminAddr, "admin-addr", cfg.AdminAddr, "admin gRPC listen address")
	f.StringVar(&cfg.AdvertiseRaftAddr, "advertise-raft-addr", "", "Raft address peers dial, if not --raft-addr")
	f.StringVar(&cfg.AdvertiseClientAddr, "advertise-client-addr", "", "client address told to clients (MOVED, ROLE, INFO, SENTINEL, CLUSTER), if not --client-addr")
	f.StringVar(&cfg.AdvertiseAdminAddr, "advertise-admin-addr", "", "admin address told to operators (members, status --cluster), if not --admin-addr")
	f.StringVar(&cfg.PeerClientAddr, "peer-client-addr", "", "client address the other nodes dial to forward to this one, if not --advertise-client-addr")
	f.StringVar(&cfg.PeerAdminAddr, "peer-admin-addr", "", "admin address the other nodes dial (registration, forwarded admin verbs, health), if not --advertise-admin-addr")
	f.StringVar(&cfg.Peers, "peers", "", "static initial cluster: id=raft-host:port,... (the same on every node)")
	f.StringVar(&cfg.Join, "join", "", "admin address(es) of a running cluster to join, comma-separated")
	f.BoolVar(&cfg.JoinNonVoter, "non-voter", false, "with --join: join as a non-voter (promote it once it has caught up)")
	f.DurationVar(&cfg.ShutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long with /readyz not ready (load balancers withdraw the node) before draining clients")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "HTTP address for /metrics (Prometheus), /livez, /readyz and /debug/pprof (off when empty)")
	f.Int64Var(&cfg.SlowlogLogSlowerThan, "slowlog-log-slower-than", cfg.SlowlogLogSlowerThan, "SLOWLOG records commands slower than this many microseconds (negative: none, 0: all)")
	f.IntVar(&cfg.SlowlogMaxLen, "slowlog-max-len", cfg.SlowlogMaxLen, "entries SLOWLOG keeps")
	f.StringVar(&cfg.SentinelName, "sentinel-name", cfg.SentinelName, "master name answered by the Sentinel discovery commands")
	f.StringVar(&cfg.AdminToken, "admin-token", "", "token required on admin verbs that change the cluster")
	f.StringVar(&cfg.AdminTokenFile, "admin-token-file", "", "file holding the admin token (instead of --admin-token)")
	f.StringVar(&cfg.RequirePass, "requirepass", "", "password of the default user: clients must AUTH (--requirepass-file keeps it out of ps)")
	f.StringVar(&cfg.RequirePassFile, "requirepass-file", "", "file holding the default user's password")
	f.StringVar(&cfg.ACLFile, "aclfile", "", "users in Redis ACL file syntax: user <name> on|off >password|#sha256|nopass ~* &* +@all")
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "PEM certificate: turns on TLS for the listeners below; also presented to peers and the leader")
	f.StringVar(&cfg.TLSKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	f.StringVar(&cfg.TLSCACertFile, "tls-ca-cert-file", "", "PEM CA certificates that verify peers and client certificates")
	f.StringVar(&cfg.TLSAuthClients, "tls-auth-clients", "", "client certificates on the client and admin ports: no, optional or yes (default: yes with --tls-ca-cert-file, else no)")
	f.BoolVar(&cfg.TLSClient, "tls-client", cfg.TLSClient, "with --tls-cert-file: serve the client (RESP) port over TLS")
	f.BoolVar(&cfg.TLSRaft, "tls-raft", cfg.TLSRaft, "with --tls-cert-file: run Raft over TLS (mutual TLS with --tls-ca-cert-file)")
	f.BoolVar(&cfg.TLSAdmin, "tls-admin", cfg.TLSAdmin, "with --tls-cert-file: serve the admin API over TLS")
	f.StringVar(&cfg.FollowerMode, "follower-mode", cfg.FollowerMode, "what a follower does with data commands: forward or redirect")
	f.DurationVar(&cfg.HeartbeatTimeout, "heartbeat-timeout", cfg.HeartbeatTimeout, "time without leader contact before a follower starts an election")
	f.DurationVar(&cfg.ElectionTimeout, "election-timeout", cfg.ElectionTimeout, "time a candidate waits for votes")
	f.DurationVar(&cfg.LeaderLeaseTimeout, "leader-lease-timeout", cfg.LeaderLeaseTimeout, "time a leader keeps leading without hearing from a majority")
	f.DurationVar(&cfg.CommitTimeout, "commit-timeout", cfg.CommitTimeout, "idle time before the leader heartbeats the commit index")
	f.Uint64Var(&cfg.SnapshotThreshold, "snapshot-threshold", cfg.SnapshotThreshold, "log entries since the last snapshot that trigger a new one")
	f.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", cfg.SnapshotInterval, "how often to check whether to snapshot")
	f.Uint64Var(&cfg.TrailingLogs, "trailing-logs", cfg.TrailingLogs, "log entries kept after a snapshot, for followers to catch up from")
	f.IntVar(&cfg.MaxAppendEntries, "max-append-entries", cfg.MaxAppendEntries, "log entries sent in one replication request")
	f.StringVar(&cfg.LogStore, "log-store", cfg.LogStore, "where the Raft log lives: wal (segment files under <data-dir>/wal, one fsync per append) or bolt (raft.db); raft.db holds the term and vote either way. Unset: the store the data directory holds, wal for a new node")
	f.Var(&cfg.MaxEntryBytes, "max-entry-bytes", "largest write (one command, encoded) accepted, e.g. 32mb; a larger one is refused before it is proposed")
	f.IntVar(&cfg.MaxInflight, "max-inflight", cfg.MaxInflight, "log entries proposed but not yet applied; writes queued meanwhile share the next entry")
	f.DurationVar(&cfg.GroupWait, "group-wait", cfg.GroupWait, "longest a write waits under load for others to share its log entry (negative: never)")
	f.Int64Var(&cfg.MaxBulkLen, "proto-max-bulk-len", cfg.MaxBulkLen, "largest bulk string a client may send")
	f.Int64Var(&cfg.MaxArgs, "max-args", cfg.MaxArgs, "most arguments in one request")
	f.IntVar(&cfg.MaxInlineLen, "max-inline-len", cfg.MaxInlineLen, "longest inline request line")
	f.IntVar(&cfg.Databases, "databases", cfg.Databases, "databases clients may SELECT (Redis's databases); fixed for the cluster's life by the leader that first runs it at cluster version 2")
	f.IntVar(&cfg.MaxClients, "maxclients", cfg.MaxClients, "most client connections; past it a new client gets -ERR max number of clients reached (followers' relay connections do not count)")
	f.Var(server.Seconds{D: &cfg.Timeout}, "timeout", "close a client idle this long: whole seconds as Redis's timeout (300) or a duration (5m); 0: never; subscribers and blocked clients are exempt")
	f.DurationVar(&cfg.ClientWriteTimeout, "client-write-timeout", cfg.ClientWriteTimeout, "disconnect a client that takes no reply data for this long, i.e. stopped reading (0: never)")
	f.Var(&cfg.PubSubOutputLimit, "client-output-buffer-limit", "Redis syntax \"pubsub <hard> <soft> <seconds>\": disconnect a subscriber whose pending messages exceed hard, or soft for that long (0 disables each)")
	f.Var(&cfg.MaxMemory, "maxmemory", "heap size above which commands that may grow memory get -OOM, e.g. 100mb, 1gb (0: no limit; policy noeviction)")
	f.IntVar(&cfg.MaxQueue, "max-queue", cfg.MaxQueue, "writes waiting to be proposed; past it writes fail at once with -TRYAGAIN write queue full")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func runServe(cfg server.Config, log *slog.Logger) error {
	// GC headroom follows the live heap (gc.go); GOGC, if set, wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go tuneGC(ctx)
	}
	s, err := server.Start(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	why := ""
	select {
	case got := <-sig:
		why = "signal " + got.String()
	case <-s.ShutdownRequested():
		why = "SHUTDOWN"
	case err := <-s.Err():
		_ = s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down", "by", why)
	// The delay, then up to 5s to drain clients and hand leadership over.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownDelay+5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "understudy", server.BuildVersion())
		},
	}
}
