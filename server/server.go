package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/node"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/resp"
	"github.com/understudy/understudy/rpc"
)

// Server is one running Understudy node.
type Server struct {
	cfg   Config
	log   *slog.Logger
	Node  *node.Node
	RESP  *resp.Server
	Admin *rpc.Server
	peers *rpc.Peers
	http  *http.Server
	tls   tlsListeners
	errc  chan error
	stop  chan struct{}
	// stopping is set when Shutdown begins: /readyz answers not ready from
	// then on, while the node still serves through its ShutdownDelay.
	stopping atomic.Bool
	// asked is closed when a client sends SHUTDOWN (ShutdownRequested).
	asked chan struct{}

	// metrics is the Prometheus registry and the node's Observer (metrics.go).
	metrics *metrics
}

// Start validates cfg, opens the node and starts serving clients. The client
// listener is opened first so that its real address (port 0 in tests) is the
// one recorded for clients to be sent to.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	peers, _ := node.ParsePeers(cfg.Peers)
	mode := cfg.startMode(peers)
	nodePeers := peers
	if mode != modeStatic {
		nodePeers = nil // bootstrap.go decides, once the admin API answers
	}
	sec, err := cfg.loadSecrets()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// From here on the token is in cfg whichever way it was given, for the
	// admin server and this node's own admin calls (join, registerSelf).
	cfg.AdminToken = sec.adminToken
	tl, err := cfg.loadTLS()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// What this node knows of the others' health and progress: their admin
	// APIs asked in the background, over pooled connections with this
	// node's TLS and token (ROLE, INFO, SENTINEL, CLUSTER, WAIT).
	tracker := rpc.NewPeers(rpc.PeersConfig{TLS: clientSide(tl.admin), Token: cfg.AdminToken,
		DownAfter: max(4*cfg.HeartbeatTimeout, 1500*time.Millisecond), Logger: cfg.Logger.With("id", cfg.ID)})
	// The listeners come first: the node records their real addresses
	// (port 0 in tests), and the servers are then built with the node.
	clientLn, err := net.Listen("tcp", cfg.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("listen client %s: %w", cfg.ClientAddr, err)
	}
	adminAt := cfg.AdminAddr
	if adminAt == "" {
		adminAt = "127.0.0.1:0"
	}
	adminLn, err := net.Listen("tcp", adminAt)
	if err != nil {
		clientLn.Close()
		return nil, fmt.Errorf("listen admin %s: %w", adminAt, err)
	}
	closeLns := func() {
		clientLn.Close()
		adminLn.Close()
	}
	// What clients and operators are told, and where the other nodes dial.
	clientAddr := or(cfg.AdvertiseClientAddr, clientLn.Addr().String())
	adminAddr := or(cfg.AdvertiseAdminAddr, adminLn.Addr().String())
	peerClientAddr := or(cfg.PeerClientAddr, clientAddr)
	peerAdminAddr := or(cfg.PeerAdminAddr, adminAddr)
	if cfg.Transport == nil && !cfg.InMemory {
		if err := awaitOwnName(cfg.AdvertiseRaftAddr, cfg.Logger); err != nil {
			closeLns()
			return nil, err
		}
	}
	m := newMetrics()
	n, err := node.New(node.Config{
		Observer:           m,
		ID:                 cfg.ID,
		DataDir:            cfg.DataDir,
		RaftAddr:           cfg.RaftAddr,
		AdvertiseRaftAddr:  cfg.AdvertiseRaftAddr,
		ClientAddr:         clientAddr,
		AdminAddr:          adminAddr,
		PeerClientAddr:     peerClientAddr,
		PeerAdminAddr:      peerAdminAddr,
		Peers:              nodePeers,
		HeartbeatTimeout:   cfg.HeartbeatTimeout,
		ElectionTimeout:    cfg.ElectionTimeout,
		LeaderLeaseTimeout: cfg.LeaderLeaseTimeout,
		CommitTimeout:      cfg.CommitTimeout,
		SnapshotThreshold:  cfg.SnapshotThreshold,
		SnapshotInterval:   cfg.SnapshotInterval,
		TrailingLogs:       cfg.TrailingLogs,
		MaxAppendEntries:   cfg.MaxAppendEntries,
		LogStore:           cfg.LogStore,
		MaxEntryBytes:      int(cfg.MaxEntryBytes),
		MaxInflight:        cfg.MaxInflight,
		GroupWait:          cfg.GroupWait,
		MaxQueue:           cfg.MaxQueue,
		Transport:          cfg.Transport,
		TLS:                tl.raft,
		InMemory:           cfg.InMemory,
		Logger:             cfg.Logger,
	})
	if err != nil {
		closeLns()
		return nil, err
	}
	asked := make(chan struct{})
	rs, err := resp.NewServer(resp.Config{
		OnShutdown:   func() { close(asked) }, // called once
		TLS:          tl.client,
		Clients:      cfg.clientLimits(),
		Listener:     clientLn,
		FollowerMode: resp.FollowerMode(cfg.FollowerMode),
		Limits:       resp.Limits{MaxBulkLen: cfg.MaxBulkLen, MaxArgs: cfg.MaxArgs, MaxInlineLen: cfg.MaxInlineLen, MaxRequest: int64(cfg.MaxEntryBytes)},
		Version:      BuildVersion(),
		SentinelName: cfg.SentinelName,
		Users:        sec.users,
		Logger:       cfg.Logger,
		Peers:        tracker,

		SlowlogLogSlowerThan: cfg.SlowlogLogSlowerThan,
		SlowlogMaxLen:        cfg.SlowlogMaxLen,
	}, n)
	if err != nil {
		closeLns()
		n.Close()
		return nil, err
	}
	as, err := rpc.NewServer(rpc.Config{Listener: adminLn, Token: cfg.AdminToken, Version: BuildVersion(), FormatLevel: or32(cfg.reportLevel, FormatLevel), TLS: tl.admin, Logger: cfg.Logger}, n)
	if err != nil {
		rs.Close()
		adminLn.Close()
		n.Close()
		return nil, err
	}
	tracker.Start(n)
	s := &Server{cfg: cfg, metrics: m, log: cfg.Logger.With("component", "server", "id", cfg.ID), Node: n, RESP: rs, Admin: as,
		peers: tracker, tls: tl, errc: make(chan error, 2), stop: make(chan struct{}), asked: asked}
	m.register(s)
	go s.watchStorage()
	s.logTLS()
	go func() { s.errc <- rs.Serve() }()
	go func() {
		if err := as.Serve(); err != nil {
			s.errc <- err
		}
	}()
	s.log.Info("serving", "client", rs.Addr().String(), "admin", as.Addr().String(), "raft", cfg.RaftAddr, "data", cfg.DataDir, "follower_mode", cfg.FollowerMode)
	if cfg.MetricsAddr != "" {
		if err := s.startHTTP(cfg.MetricsAddr); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	raftAddr := or(cfg.AdvertiseRaftAddr, cfg.RaftAddr)
	if raftAddr == "" && cfg.Transport != nil {
		raftAddr = string(cfg.Transport.LocalAddr())
	}
	self := node.Member{ID: cfg.ID, RaftAddr: raftAddr, ClientAddr: clientAddr, AdminAddr: adminAddr,
		PeerClientAddr: peerClientAddr, PeerAdminAddr: peerAdminAddr}
	go s.registerSelf(self)
	go s.keepLevel()
	switch mode {
	case modeJoin:
		go s.join(cfg.Join, self)
	case modeAskFirst:
		go s.bootstrapOrJoin(peers, cfg.Join, self)
	}
	return s, nil
}

// join asks the cluster at addrs to add this node, retrying with backoff until
// it succeeds or the server stops. A node that already belongs (a restart)
// gets a harmless success.
func (s *Server) join(addrs string, self node.Member) {
	c := s.adminClient(addrs)
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_, err := c.Join(ctx, joinRequest(self, s.cfg.JoinNonVoter))
		cancel()
		if err == nil {
			s.log.Info("joined cluster", "via", addrs, "attempts", attempt)
			return
		}
		s.log.Warn("join failed, retrying", "via", addrs, "attempt", attempt, "in", backoff, "err", err)
		select {
		case <-s.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// joinRequest asks to add self with its advertised and peer addresses.
func joinRequest(self node.Member, nonVoter bool) *adminpb.JoinRequest {
	return &adminpb.JoinRequest{Id: self.ID, RaftAddr: self.RaftAddr, ClientAddr: self.ClientAddr, AdminAddr: self.AdminAddr,
		PeerClientAddr: self.PeerClientAddr, PeerAdminAddr: self.PeerAdminAddr, NonVoter: nonVoter}
}

// registerSelf makes sure the replicated metadata holds this node's client
// and admin addresses (advertised and peer), so that operators and clients
// can reach it even if it has never led: a follower asks the leader (an
// idempotent Join) at the leader's peer admin address.
func (s *Server) registerSelf(self node.Member) {
	want := node.NewMeta(self.ClientAddr, self.AdminAddr, self.PeerClientAddr, self.PeerAdminAddr)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if m, ok := s.Node.FSM().Meta(self.ID); ok && m == want {
			continue
		}
		li, ok := s.Node.Leader()
		if !ok || li.Self || li.PeerAdminAddr == "" {
			continue // a leader records itself
		}
		if !s.isMember(self.ID) {
			continue // not in the configuration yet: joining does it
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.adminClient(li.PeerAdminAddr).Join(ctx, joinRequest(self, false))
		cancel()
		if err != nil {
			s.log.Debug("register addresses with leader", "leader", li.ID, "err", err)
		}
	}
}

func (s *Server) isMember(id string) bool {
	ms, err := s.Node.Members()
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

// AdminAddr is where the admin gRPC server listens.
func (s *Server) AdminAddr() string { return s.Admin.Addr().String() }

// ClientAddr is where the RESP server listens.
func (s *Server) ClientAddr() string { return s.RESP.Addr().String() }

// ShutdownRequested is closed when a client sends SHUTDOWN: the owner
// stops the server as on SIGTERM (Shutdown).
func (s *Server) ShutdownRequested() <-chan struct{} { return s.asked }

// Err reports a fatal serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops gracefully, within ctx: /readyz turns not ready at once and
// the node serves on as before for Config.ShutdownDelay (delay.go), then it
// stops accepting clients and
// lets every connection finish what it was owed (writes already proposed are
// committed and answered; nothing new is read), then a leader hands
// leadership to a follower so clients see a hand-over rather than an
// election timeout, then the admin API, Raft and the stores close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	s.delayShutdown(ctx)
	// Most of the budget for the clients; the rest for the hand-over.
	dctx, cancel := context.WithTimeout(ctx, timeShare(ctx, 0.6))
	err := s.RESP.Drain(dctx)
	cancel()
	if err != nil {
		s.log.Warn("clients not drained; closing them", "err", err)
	} else {
		s.log.Info("clients drained")
	}
	if s.Node.IsLeader() {
		start := time.Now()
		f := s.Node.Raft().LeadershipTransfer()
		done := make(chan error, 1)
		go func() { done <- f.Error() }()
		select {
		case err := <-done:
			if err != nil {
				s.log.Warn("leadership transfer on shutdown", "err", err)
			} else {
				s.log.Info("leadership handed over", "took", time.Since(start).Round(time.Millisecond))
			}
		case <-ctx.Done():
			s.log.Warn("leadership transfer on shutdown did not finish in time")
		}
	}
	return s.Close()
}

// timeShare is frac of the time left before ctx's deadline (a second if it
// has none).
func timeShare(ctx context.Context, frac float64) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Second
	}
	return time.Duration(float64(time.Until(dl)) * frac)
}

// Close stops at once: no leadership hand-over (tests use it as a crash of
// the client side; the stores still close cleanly).
func (s *Server) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.Admin.Close()
	s.peers.Close()
	if s.http != nil {
		_ = s.http.Close()
	}
	err := s.RESP.Close()
	if nerr := s.Node.Close(); nerr != nil {
		err = errors.Join(err, nerr)
	}
	return err
}

func or32(a, b uint32) uint32 {
	if a != 0 {
		return a
	}
	return b
}
