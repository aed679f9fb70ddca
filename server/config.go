// Package server assembles one Understudy process: the Raft node, the RESP
// listener and the admin API, from one validated Config.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
	"github.com/understudy/understudy/resp"
)

// Config is every setting of a node. The CLI fills it from flags and
// UNDERSTUDY_* environment variables; zero values take Defaults.
type Config struct {
	ID         string
	DataDir    string
	RaftAddr   string
	ClientAddr string
	AdminAddr  string
	// Advertise* are the addresses others must dial when they differ from the
	// listen addresses (containers, NAT); empty means the listen address.
	// AdvertiseClientAddr and AdvertiseAdminAddr are what clients and
	// operators are told (MOVED, ROLE, INFO, Sentinel, CLUSTER, members).
	AdvertiseRaftAddr   string
	AdvertiseClientAddr string
	AdvertiseAdminAddr  string
	// PeerClientAddr and PeerAdminAddr are where the other nodes reach this
	// one (a follower forwarding to the leader's client port, admin calls
	// between nodes) when that differs from what clients are told, e.g.
	// n1:6381 on a container network while host clients are told
	// 127.0.0.1:6381; empty means the advertised address.
	PeerClientAddr string
	PeerAdminAddr  string
	// Peers is the static initial cluster, "n1=host:port,n2=...".
	Peers string
	// Join is an admin address of a running cluster to join (admin API).
	Join string
	// JoinNonVoter joins as a non-voter (promote it once it has caught up).
	JoinNonVoter bool
	// With both Peers and Join (a StatefulSet's pods, bootstrap.go): a node
	// named in Peers whose data directory is new bootstraps only once every
	// address in Join has answered that it holds no cluster, and joins if
	// any does; a node not named in Peers joins.

	// ShutdownDelay is how long a node told to stop keeps serving, with
	// /readyz answering not ready, before it drains its clients: time for
	// load balancers (Kubernetes endpoints) to stop sending new clients here.
	ShutdownDelay time.Duration

	FollowerMode string // forward or redirect
	// MetricsAddr, if set, serves /metrics, /livez, /readyz and /debug/pprof over HTTP.
	MetricsAddr string
	// SlowlogLogSlowerThan (µs; negative: off, 0: every command) and
	// SlowlogMaxLen are Redis's slowlog-log-slower-than and slowlog-max-len.
	SlowlogLogSlowerThan int64
	SlowlogMaxLen        int
	// SentinelName is the master name Sentinel discovery commands answer for.
	SentinelName string
	// AdminToken, when set, is required on admin verbs that change the cluster.
	AdminToken string
	// AdminTokenFile reads AdminToken from a file instead (auth.go).
	AdminTokenFile string
	// RequirePass is the default user's password (Redis's requirepass);
	// RequirePassFile reads it from a file. ACLFile holds users in Redis ACL
	// file syntax (resp.ParseACL). None of them: no password, as in Redis.
	RequirePass     string
	RequirePassFile string
	ACLFile         string

	// TLSCertFile and TLSKeyFile (PEM) turn on TLS for the listeners whose
	// TLSClient, TLSRaft, TLSAdmin is set (Defaults sets all three); the node
	// presents the same certificate when it dials peers and the leader.
	// TLSCACertFile verifies peers and client certificates. TLSAuthClients is
	// Redis's tls-auth-clients (no, optional, yes) for the client and admin
	// ports; empty means yes with a CA file, no without. See tls.go.
	TLSCertFile    string
	TLSKeyFile     string
	TLSCACertFile  string
	TLSAuthClients string
	TLSClient      bool
	TLSRaft        bool
	TLSAdmin       bool

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	MaxAppendEntries   int
	// LogStore is the Raft log's store: wal (segment files under
	// <data-dir>/wal) or bolt (raft.db); empty: the data directory's, or
	// wal for a new node. raft.db is the stable store either way.
	LogStore string
	// MaxEntryBytes bounds one write: a larger command is refused with an
	// error naming the limit, before it is proposed.
	MaxEntryBytes ByteSize
	// MaxInflight bounds log entries proposed but not yet applied.
	MaxInflight int
	// GroupWait bounds how long a write may wait for the rest of a busy
	// round to share its log entry (negative: never wait).
	GroupWait time.Duration

	MaxBulkLen   int64
	MaxArgs      int64
	MaxInlineLen int

	// Client, memory and write-queue limits (limits.go; Redis's names).
	// MaxClients bounds client connections (followers' relays excluded).
	MaxClients int
	// reportLevel, when set, is the format level the node reports instead of
	// its build's: a test stands in for a member still on an older build.
	reportLevel uint32
	// Databases is how many databases clients may SELECT (Redis's
	// "databases"). It takes effect when the cluster first reaches level 2:
	// the leader that raises the level fixes it for the cluster's life.
	Databases int
	// Timeout closes clients idle this long (0: never).
	Timeout time.Duration
	// ClientWriteTimeout closes a client that takes no reply data this long (0: never).
	ClientWriteTimeout time.Duration
	// PubSubOutputLimit disconnects subscribers that fall this far behind.
	PubSubOutputLimit resp.OutputLimit
	// MaxMemory refuses commands that may grow memory above this heap size (0: none).
	MaxMemory ByteSize
	// MaxQueue bounds writes waiting to be proposed; beyond it they fail fast.
	MaxQueue int

	// Transport and InMemory are test hooks: the in-memory Raft transport and stores.
	Transport raft.Transport
	InMemory  bool

	Logger *slog.Logger
}

// Defaults returns the default configuration of node n1 on the standard ports.
func Defaults() Config {
	nd := node.Defaults()
	return Config{
		ID:                 "n1",
		DataDir:            "data/n1",
		RaftAddr:           "127.0.0.1:7381",
		ClientAddr:         "127.0.0.1:6381",
		AdminAddr:          "127.0.0.1:9181",
		FollowerMode:       string(resp.FollowerForward),
		SentinelName:       "understudy",
		HeartbeatTimeout:   nd.HeartbeatTimeout,
		ElectionTimeout:    nd.ElectionTimeout,
		LeaderLeaseTimeout: nd.LeaderLeaseTimeout,
		CommitTimeout:      nd.CommitTimeout,
		SnapshotThreshold:  nd.SnapshotThreshold,
		SnapshotInterval:   nd.SnapshotInterval,
		TrailingLogs:       nd.TrailingLogs,
		MaxAppendEntries:   nd.MaxAppendEntries,
		LogStore:           nd.LogStore,
		MaxEntryBytes:      ByteSize(nd.MaxEntryBytes),
		MaxInflight:        nd.MaxInflight,
		GroupWait:          nd.GroupWait,
		MaxBulkLen:         512 << 20,
		MaxArgs:            1 << 20,
		MaxInlineLen:       64 << 10,
		MaxClients:         10000,
		Databases:          16,
		ClientWriteTimeout: 60 * time.Second,
		PubSubOutputLimit:  defaultPubSubLimit,
		MaxQueue:           nd.MaxQueue,
		TLSClient:          true,
		TLSRaft:            true,
		TLSAdmin:           true,

		// Redis's defaults.
		SlowlogLogSlowerThan: 10000,
		SlowlogMaxLen:        128,
	}
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("--id is required"))
	}
	if c.DataDir == "" && !c.InMemory {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	if c.Databases < 1 || c.Databases > fsm.MaxDatabases {
		errs = append(errs, fmt.Errorf("--databases %d: must be 1 to %d", c.Databases, fsm.MaxDatabases))
	}
	for name, addr := range map[string]string{"--client-addr": c.ClientAddr, "--raft-addr": c.RaftAddr} {
		if addr == "" && (name != "--raft-addr" || c.Transport == nil) {
			errs = append(errs, fmt.Errorf("%s is required", name))
			continue
		}
		if addr != "" {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %v", name, addr, err))
			}
		}
	}
	for _, a := range []struct{ flag, addr string }{
		{"--advertise-client-addr", c.AdvertiseClientAddr}, {"--advertise-admin-addr", c.AdvertiseAdminAddr},
		{"--peer-client-addr", c.PeerClientAddr}, {"--peer-admin-addr", c.PeerAdminAddr},
	} {
		if err := dialable(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", a.flag, a.addr, err))
		}
	}
	if c.FollowerMode != string(resp.FollowerForward) && c.FollowerMode != string(resp.FollowerRedirect) {
		errs = append(errs, fmt.Errorf("--follower-mode %q: want forward or redirect", c.FollowerMode))
	}
	if _, err := node.ParsePeers(c.Peers); err != nil {
		errs = append(errs, fmt.Errorf("--peers: %w", err))
	}
	if c.ShutdownDelay < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-delay %s: must not be negative", c.ShutdownDelay))
	}
	if c.MaxBulkLen <= 0 || c.MaxArgs <= 0 || c.MaxInlineLen <= 0 {
		errs = append(errs, errors.New("request limits must be positive"))
	}
	if err := node.ValidateLogStore(c.LogStore, int(c.MaxEntryBytes)); err != nil {
		errs = append(errs, fmt.Errorf("--log-store %s, --max-entry-bytes %d: %w", c.LogStore, c.MaxEntryBytes, err))
	}
	if c.SlowlogMaxLen < 0 {
		errs = append(errs, fmt.Errorf("--slowlog-max-len %d: must not be negative", c.SlowlogMaxLen))
	}
	if err := c.validateTLS(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateSecrets(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateLimits(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dialable checks an address others are told to dial: empty (unset), or a
// host and port where the host is not a wildcard such as 0.0.0.0.
func dialable(addr string) error {
	if addr == "" {
		return nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if h == "" || p == "" || p == "0" {
		return errors.New("want HOST:PORT with both given")
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%s is a wildcard listen address, not one to dial", h)
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
