package node

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/tlsconf"
)

// Peer is one member of the initial cluster.
type Peer struct {
	ID   string
	Addr string // Raft address
}

// ParsePeers parses "n1=host:port,n2=host:port".
func ParsePeers(s string) ([]Peer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("peer %q: want ID=HOST:PORT", part)
		}
		if seen[id] {
			return nil, fmt.Errorf("peer %q listed twice", id)
		}
		seen[id] = true
		out = append(out, Peer{ID: id, Addr: addr})
	}
	return out, nil
}

// Config is everything a node needs. Zero durations and sizes take the
// defaults in Defaults.
type Config struct {
	ID       string
	DataDir  string // raft.db and snapshots/ live here; unused when InMemory
	RaftAddr string // address the Raft transport binds
	// AdvertiseRaftAddr is the Raft address peers dial; defaults to RaftAddr.
	AdvertiseRaftAddr string
	// ClientAddr and AdminAddr are where this node serves clients and
	// operators, as they must be dialled; recorded in the replicated metadata
	// so followers can point clients at the leader.
	ClientAddr string
	AdminAddr  string
	// PeerClientAddr and PeerAdminAddr are where the other nodes reach this
	// one (forwarding to its client port, calling its admin API) when that
	// differs from ClientAddr and AdminAddr; empty means the same. Also
	// recorded in the replicated metadata.
	PeerClientAddr string
	PeerAdminAddr  string
	// Peers is the static initial cluster; every node given the same list
	// bootstraps the same configuration. Empty when joining.
	Peers []Peer

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	MaxAppendEntries   int

	// LogStore is where the Raft log lives: LogStoreWAL (raft-wal segment
	// files under wal/, one fsync per append) or LogStoreBolt (raft.db).
	// raft.db holds the stable store (term, vote) either way. Empty means
	// the store the data directory already holds, or LogStoreWAL for a new
	// node; a named store is required (a directory with the other refused).
	LogStore string
	// MaxEntryBytes bounds one command, encoded: a bigger write is refused
	// before it is proposed (ErrEntryTooLarge).
	MaxEntryBytes int

	// MaxInflight bounds the log entries proposed but not yet applied; while
	// they commit, new writes queue up and go out together in the next entry.
	MaxInflight int
	// MaxBatchBytes bounds the writes grouped into one log entry (a single
	// write larger than it travels alone, up to MaxEntryBytes).
	MaxBatchBytes int
	// GroupWait bounds how long a write may wait for the rest of a busy
	// round to join its log entry (group commit); negative turns waiting off.
	GroupWait time.Duration
	// MaxQueue bounds writes waiting to be proposed; beyond it writes fail fast.
	MaxQueue int

	// Observer, if set, receives apply and snapshot timings (metrics).
	Observer Observer

	// Transport, if set, replaces the TCP transport (the in-memory transport in tests).
	Transport raft.Transport
	// TLS, if set, runs the Raft transport over TLS: TLS.Server accepts
	// peers (requiring their certificates when it has client CAs) and
	// TLS.Client dials them. Ignored when Transport is set.
	TLS *tlsconf.Pair
	// InMemory keeps the log, stable and snapshot stores in memory (tests).
	InMemory bool
	// walSegmentBytes overrides raft-wal's segment size (tests: small
	// segments rotate, and are deleted by compaction, sooner).
	walSegmentBytes int

	Logger *slog.Logger
}

// Defaults returns the settings tuned for a LAN: a dead leader is noticed
// and replaced in well under a second.
func Defaults() Config {
	return Config{
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 250 * time.Millisecond,
		CommitTimeout:      20 * time.Millisecond,
		SnapshotThreshold:  8192,
		SnapshotInterval:   30 * time.Second,
		TrailingLogs:       4096,
		MaxAppendEntries:   256,
		MaxEntryBytes:      DefaultMaxEntryBytes,
		MaxInflight:        2,
		MaxBatchBytes:      4 << 20,
		GroupWait:          time.Millisecond,
		MaxQueue:           100000,
	}
}

func (c *Config) setDefaults() {
	d := Defaults()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&c.HeartbeatTimeout, d.HeartbeatTimeout)
	setDur(&c.ElectionTimeout, d.ElectionTimeout)
	setDur(&c.LeaderLeaseTimeout, d.LeaderLeaseTimeout)
	setDur(&c.CommitTimeout, d.CommitTimeout)
	setDur(&c.SnapshotInterval, d.SnapshotInterval)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = d.SnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = d.TrailingLogs
	}
	if c.MaxAppendEntries == 0 {
		c.MaxAppendEntries = d.MaxAppendEntries
	}
	if c.MaxEntryBytes == 0 {
		c.MaxEntryBytes = d.MaxEntryBytes
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = d.MaxInflight
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = min(d.MaxBatchBytes, c.MaxEntryBytes)
	}
	setDur(&c.GroupWait, d.GroupWait)
	if c.MaxQueue == 0 {
		c.MaxQueue = d.MaxQueue
	}
	if c.AdvertiseRaftAddr == "" {
		c.AdvertiseRaftAddr = c.RaftAddr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first problem with c (after defaults).
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("node id is required"))
	}
	if c.DataDir == "" && !c.InMemory {
		errs = append(errs, errors.New("data directory is required"))
	}
	if c.RaftAddr == "" && c.Transport == nil {
		errs = append(errs, errors.New("raft address is required"))
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("leader lease timeout %v must not exceed heartbeat timeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout))
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("election timeout %v must be at least the heartbeat timeout %v", c.ElectionTimeout, c.HeartbeatTimeout))
	}
	if c.MaxInflight < 1 {
		errs = append(errs, errors.New("max inflight must be at least 1"))
	}
	if err := ValidateLogStore(c.LogStore, c.MaxEntryBytes); err != nil {
		errs = append(errs, err)
	}
	if len(c.Peers) > 0 {
		found := false
		for _, p := range c.Peers {
			found = found || p.ID == c.ID
		}
		if !found {
			errs = append(errs, fmt.Errorf("node id %q is not among the peers", c.ID))
		}
	}
	return errors.Join(errs...)
}

// Log stores (Config.LogStore). The WAL is the default for a new node:
// measured side by side (docs/bench.md), a durable write costs about a third
// less CPU and commits in about half the time.
const (
	// LogStoreWAL keeps the log in hashicorp/raft-wal segment files under
	// <data-dir>/wal: an append is one write and one fsync.
	LogStoreWAL = "wal"
	// LogStoreBolt keeps the log in raft.db (raft-boltdb/v2), beside the
	// stable store: an append is a B+tree transaction, two fsyncs.
	LogStoreBolt = "bolt"
)

// DefaultMaxEntryBytes is the default bound on one command's encoding: a
// write of this size costs each node a few tens of milliseconds of CPU to
// read, store and replicate, well inside the heartbeat timeout even on a
// loaded machine. Raise it with care: heartbeats run on the same CPUs.
const DefaultMaxEntryBytes = 8 << 20

// MaxWALEntryBytes is the largest command the WAL can store: raft-wal
// refuses frames over 64 MiB, and a command travels in a log entry with a
// few dozen bytes of framing around it.
const MaxWALEntryBytes = 64<<20 - 4096

// ValidateLogStore checks a log store name ("" for the data directory's,
// or the WAL) and, for it, the largest entry.
func ValidateLogStore(store string, maxEntryBytes int) error {
	switch store {
	case LogStoreWAL, "":
		if maxEntryBytes > MaxWALEntryBytes {
			return fmt.Errorf("max entry bytes %d: the wal log store holds entries of at most %d bytes", maxEntryBytes, MaxWALEntryBytes)
		}
	case LogStoreBolt:
	default:
		return fmt.Errorf("log store %q: want %s or %s", store, LogStoreWAL, LogStoreBolt)
	}
	if maxEntryBytes < 1<<10 {
		return fmt.Errorf("max entry bytes %d: must be at least 1024", maxEntryBytes)
	}
	return nil
}
