// Package rpc is the gRPC admin service every node serves, and the Go client
// the CLI uses. Verbs that change the cluster run on the leader: unary ones
// are forwarded there by a follower, streaming ones (backup, restore) are
// redirected and the client follows.
package rpc

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/understudy/understudy/node"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/tlsconf"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// Config configures the admin server.
type Config struct {
	Addr    string
	Token   string // required on cluster-changing verbs when set
	Version string
	// FormatLevel is the newest persistent format the build reads and
	// writes, reported as Status.format_level (0: not reported).
	FormatLevel uint32
	// TLS, if set, serves the API over TLS (TLS.Server) and reaches the
	// other nodes' admin APIs (forwarding to the leader, asking a member how
	// far it is) with TLS.Client.
	TLS    *tlsconf.Pair
	Logger *slog.Logger
	// Listener, if set, is the bound admin listener, so its real address
	// can be given to the node before the server is built; otherwise
	// NewServer listens on Addr.
	Listener net.Listener
}

// Server is a node's admin gRPC endpoint.
type Server struct {
	adminpb.UnimplementedAdminServer
	cfg    Config
	node   *node.Node
	log    *slog.Logger
	grpc   *grpc.Server
	ln     net.Listener
	health *health.Server
	start  time.Time
	stop   chan struct{}
}

// leaderMD is the response metadata key naming the leader's admin address
// when a node refuses a verb because it does not lead.
const leaderMD = "x-understudy-leader-admin"

// NewServer builds the admin server of node n, listening on cfg.Listener
// or cfg.Addr; Serve starts answering.
func NewServer(cfg Config, n *node.Node) (*Server, error) {
	if n == nil {
		return nil, errors.New("rpc: no node")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen admin %s: %w", cfg.Addr, err)
		}
	}
	s := &Server{
		cfg: cfg, node: n, ln: ln, start: time.Now(),
		log:    cfg.Logger.With("component", "admin"),
		health: health.NewServer(),
		stop:   make(chan struct{}),
	}
	// health.NewServer starts out SERVING; nothing is known until watchHealth runs.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.SetServingStatus(adminpb.Admin_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.authUnary),
		grpc.ChainStreamInterceptor(s.authStream),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS.Server)))
	}
	s.grpc = grpc.NewServer(opts...)
	adminpb.RegisterAdminServer(s.grpc, s)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	return s, nil
}

// peerTLS is the config for dialling other nodes' admin APIs (nil: plaintext).
func (s *Server) peerTLS() *tls.Config {
	if s.cfg.TLS == nil {
		return nil
	}
	return s.cfg.TLS.Client
}

// Addr is the listen address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers until Close.
func (s *Server) Serve() error {
	go s.watchHealth()
	if err := s.grpc.Serve(s.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("admin serve: %w", err)
	}
	return nil
}

// Close stops the server, letting running calls finish briefly.
func (s *Server) Close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		s.grpc.Stop()
	}
}

// watchHealth reports SERVING only while the node is in a cluster with a leader.
func (s *Server) watchHealth() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	last := healthpb.HealthCheckResponse_UNKNOWN
	for {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if _, ok := s.node.Leader(); ok {
			st = healthpb.HealthCheckResponse_SERVING
		}
		if st != last {
			s.health.SetServingStatus("", st)
			s.health.SetServingStatus(adminpb.Admin_ServiceDesc.ServiceName, st)
			last = st
		}
		select {
		case <-s.stop:
			s.health.Shutdown()
			return
		case <-t.C:
		}
	}
}

// toStatus maps node errors to gRPC codes, once.
func toStatus(ctx context.Context, n *node.Node, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, node.ErrNotLeader), errors.Is(err, node.ErrNoLeader), errors.Is(err, node.ErrNotReady):
		if li, ok := n.Leader(); ok && li.AdminAddr != "" {
			_ = grpc.SetHeader(ctx, metadata.Pairs(leaderMD, li.AdminAddr))
			return status.Errorf(codes.Unavailable, "not leader: the leader is %s (admin %s)", li.ID, li.AdminAddr)
		}
		return status.Error(codes.Unavailable, "no leader")
	case errors.Is(err, node.ErrRefused):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// Status describes this node.
func (s *Server) Status(ctx context.Context, _ *adminpb.StatusRequest) (*adminpb.StatusResponse, error) {
	st := s.node.Status()
	cfg := s.node.Config()
	contact := int64(-1)
	switch {
	case st.State == "Leader":
		contact = 0
	case !st.LastContact.IsZero():
		contact = time.Since(st.LastContact).Milliseconds()
	}
	return &adminpb.StatusResponse{
		Id:                cfg.ID,
		Role:              roleName(st.State),
		Term:              st.Term,
		LeaderId:          st.Leader.ID,
		LeaderClientAddr:  st.Leader.ClientAddr,
		LeaderAdminAddr:   st.Leader.AdminAddr,
		CommitIndex:       st.CommitIndex,
		AppliedIndex:      st.AppliedIndex,
		LastLogIndex:      st.LastIndex,
		LastContactMs:     contact,
		LastSnapshotIndex: s.node.LastSnapshotIndex(),
		LogSizeBytes:      s.node.LogSize(),
		Keys:              int64(s.node.FSM().Stats().Keys),
		UptimeSeconds:     int64(time.Since(s.start).Seconds()),
		Version:           s.cfg.Version,
		FormatLevel:       s.cfg.FormatLevel,
		ClusterLevel:      uint32(s.node.FSM().Level()),
		RaftAddr:          cfg.AdvertiseRaftAddr,
		ClientAddr:        cfg.ClientAddr,
		AdminAddr:         cfg.AdminAddr,
	}, nil
}

func roleName(state string) string {
	switch state {
	case "Leader":
		return "leader"
	case "Follower":
		return "follower"
	case "Candidate":
		return "candidate"
	}
	return "shutdown"
}

// Members lists the configuration; reachability is a quick TCP dial of each
// member's Raft address.
func (s *Server) Members(ctx context.Context, _ *adminpb.MembersRequest) (*adminpb.MembersResponse, error) {
	ms, err := s.node.Members()
	if err != nil {
		return nil, toStatus(ctx, s.node, err)
	}
	out := &adminpb.MembersResponse{}
	for _, m := range ms {
		suffrage := "nonvoter"
		if m.Voter {
			suffrage = "voter"
		}
		out.Members = append(out.Members, &adminpb.Member{
			Id: m.ID, RaftAddr: m.RaftAddr, ClientAddr: m.ClientAddr, AdminAddr: m.AdminAddr,
			PeerClientAddr: m.PeerClientAddr, PeerAdminAddr: m.PeerAdminAddr,
			Suffrage: suffrage, Leader: m.Leader,
			Reachable: m.ID == s.node.ID() || reachable(m.RaftAddr),
		})
	}
	return out, nil
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// forward runs a unary verb on the leader when this node does not lead.
func forward[Req, Resp any](ctx context.Context, s *Server, req Req, local func() (Resp, error),
	remote func(context.Context, adminpb.AdminClient, Req) (Resp, error)) (Resp, error) {
	resp, err := local()
	if err == nil || !(errors.Is(err, node.ErrNotLeader) || errors.Is(err, node.ErrNotReady)) {
		return resp, toStatus(ctx, s.node, err)
	}
	li, ok := s.node.Leader()
	if !ok || li.Self || li.PeerAdminAddr == "" {
		return resp, toStatus(ctx, s.node, err)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(forwardedMD)) > 0 {
		return resp, toStatus(ctx, s.node, err) // never forward twice
	}
	// Peers reach each other at their peer addresses; the advertised ones
	// are for operators and may not be reachable from here.
	cc, cerr := dial(li.PeerAdminAddr, s.peerTLS())
	if cerr != nil {
		return resp, status.Errorf(codes.Unavailable, "forward to leader %s at %s: %v", li.ID, li.PeerAdminAddr, cerr)
	}
	defer cc.Close()
	out := metadata.Pairs(forwardedMD, s.node.ID())
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for _, v := range md.Get(tokenMD) {
			out.Append(tokenMD, v)
		}
	}
	return remote(metadata.NewOutgoingContext(ctx, out), adminpb.NewAdminClient(cc), req)
}

const forwardedMD = "x-understudy-forwarded-by"

// Join adds a server (on the leader; a follower forwards).
func (s *Server) Join(ctx context.Context, req *adminpb.JoinRequest) (*adminpb.JoinResponse, error) {
	return forward(ctx, s, req, func() (*adminpb.JoinResponse, error) {
		idx, err := s.node.Join(ctx, node.Member{ID: req.Id, RaftAddr: req.RaftAddr, ClientAddr: req.ClientAddr, AdminAddr: req.AdminAddr,
			PeerClientAddr: req.PeerClientAddr, PeerAdminAddr: req.PeerAdminAddr}, req.NonVoter)
		return &adminpb.JoinResponse{Index: idx}, err
	}, func(ctx context.Context, c adminpb.AdminClient, r *adminpb.JoinRequest) (*adminpb.JoinResponse, error) {
		return c.Join(ctx, r)
	})
}

// Promote makes a caught-up non-voter a voter.
func (s *Server) Promote(ctx context.Context, req *adminpb.PromoteRequest) (*adminpb.PromoteResponse, error) {
	return forward(ctx, s, req, func() (*adminpb.PromoteResponse, error) {
		if err := s.caughtUp(ctx, req.Id); err != nil {
			return nil, err
		}
		idx, err := s.node.Promote(ctx, req.Id)
		return &adminpb.PromoteResponse{Index: idx}, err
	}, func(ctx context.Context, c adminpb.AdminClient, r *adminpb.PromoteRequest) (*adminpb.PromoteResponse, error) {
		return c.Promote(ctx, r)
	})
}

// caughtUp asks the member itself how far it has applied; promotion waits
// for it to be close to the leader's commit index, so it adds no lag to quorum.
func (s *Server) caughtUp(ctx context.Context, id string) error {
	if !s.node.IsLeader() {
		return node.ErrNotLeader
	}
	ms, err := s.node.Members()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ID != id || m.Voter {
			continue
		}
		if m.PeerAdminAddr == "" {
			return nil // nothing to ask; hashicorp/raft still replicates before counting it
		}
		cc, err := dial(m.PeerAdminAddr, s.peerTLS())
		if err != nil {
			return fmt.Errorf("%w: cannot reach %s at %s: %v", node.ErrRefused, id, m.PeerAdminAddr, err)
		}
		defer cc.Close()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		st, err := adminpb.NewAdminClient(cc).Status(cctx, &adminpb.StatusRequest{})
		if err != nil {
			return fmt.Errorf("%w: cannot ask %s at %s how far it is: %v", node.ErrRefused, id, m.PeerAdminAddr, err)
		}
		commit := s.node.Status().CommitIndex
		if st.AppliedIndex+64 < commit {
			return fmt.Errorf("%w: %s has applied %d of %d entries; promote it once it has caught up", node.ErrRefused, id, st.AppliedIndex, commit)
		}
	}
	return nil
}

// Remove takes a server out of the cluster.
func (s *Server) Remove(ctx context.Context, req *adminpb.RemoveRequest) (*adminpb.RemoveResponse, error) {
	return forward(ctx, s, req, func() (*adminpb.RemoveResponse, error) {
		idx, err := s.node.Remove(ctx, req.Id)
		return &adminpb.RemoveResponse{Index: idx}, err
	}, func(ctx context.Context, c adminpb.AdminClient, r *adminpb.RemoveRequest) (*adminpb.RemoveResponse, error) {
		return c.Remove(ctx, r)
	})
}

// TransferLeadership hands leadership over and reports how long it took.
func (s *Server) TransferLeadership(ctx context.Context, req *adminpb.TransferLeadershipRequest) (*adminpb.TransferLeadershipResponse, error) {
	return forward(ctx, s, req, func() (*adminpb.TransferLeadershipResponse, error) {
		old := s.node.ID()
		li, took, err := s.node.TransferLeadership(ctx, req.To)
		return &adminpb.TransferLeadershipResponse{OldLeader: old, NewLeader: li.ID, DurationMs: took.Milliseconds()}, err
	}, func(ctx context.Context, c adminpb.AdminClient, r *adminpb.TransferLeadershipRequest) (*adminpb.TransferLeadershipResponse, error) {
		return c.TransferLeadership(ctx, r)
	})
}

// RotateRelaySecret has the leader replace the relay secret.
func (s *Server) RotateRelaySecret(ctx context.Context, req *adminpb.RotateRelaySecretRequest) (*adminpb.RotateRelaySecretResponse, error) {
	return forward(ctx, s, req, func() (*adminpb.RotateRelaySecretResponse, error) {
		return &adminpb.RotateRelaySecretResponse{}, s.node.RotateRelaySecret(ctx)
	}, func(ctx context.Context, c adminpb.AdminClient, r *adminpb.RotateRelaySecretRequest) (*adminpb.RotateRelaySecretResponse, error) {
		return c.RotateRelaySecret(ctx, r)
	})
}

// Snapshot forces a snapshot on this node (every node compacts its own log).
func (s *Server) Snapshot(ctx context.Context, _ *adminpb.SnapshotRequest) (*adminpb.SnapshotResponse, error) {
	idx, term, err := s.node.Snapshot()
	if err != nil {
		return nil, toStatus(ctx, s.node, err)
	}
	return &adminpb.SnapshotResponse{Index: idx, Term: term}, nil
}

// chunkWriter sends what is written to it as BackupChunks.
type chunkWriter struct {
	stream adminpb.Admin_BackupServer
	sum    hash.Hash
	size   int64
	buf    []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.sum.Write(p)
	w.size += int64(len(p))
	w.buf = append(w.buf, p...)
	if len(w.buf) >= 256<<10 {
		if err := w.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.stream.Send(&adminpb.BackupChunk{Data: w.buf})
	w.buf = w.buf[:0]
	return err
}

// Backup streams a consistent snapshot from the leader; the last chunk
// carries the size and SHA-256 of everything sent.
func (s *Server) Backup(_ *adminpb.BackupRequest, stream adminpb.Admin_BackupServer) error {
	ctx := stream.Context()
	w := &chunkWriter{stream: stream, sum: sha256.New()}
	idx, err := s.node.Backup(ctx, w)
	if err != nil {
		return toStatus(ctx, s.node, err)
	}
	if err := w.flush(); err != nil {
		return err
	}
	return stream.Send(&adminpb.BackupChunk{Index: idx, Size: w.size, Sha256: hex.EncodeToString(w.sum.Sum(nil))})
}

// maxRestoreBytes bounds a restore held in memory.
const maxRestoreBytes = 4 << 30

// Restore receives a backup, checks its SHA-256 and its contents, and
// installs it through Raft on the leader.
func (s *Server) Restore(stream adminpb.Admin_RestoreServer) error {
	ctx := stream.Context()
	if !s.node.IsLeader() {
		return toStatus(ctx, s.node, node.ErrNotLeader)
	}
	sum := sha256.New()
	var data []byte
	var want string
	for {
		c, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		sum.Write(c.Data)
		data = append(data, c.Data...)
		if len(data) > maxRestoreBytes {
			return status.Errorf(codes.ResourceExhausted, "backup larger than %d bytes", maxRestoreBytes)
		}
		if c.Sha256 != "" {
			want = c.Sha256
		}
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if want == "" || want != got {
		return status.Errorf(codes.FailedPrecondition, "checksum mismatch: the backup's SHA-256 is %s, expected %q; refusing to restore", got, want)
	}
	st, err := s.node.Restore(ctx, data)
	if err != nil {
		return toStatus(ctx, s.node, err)
	}
	return stream.SendAndClose(&adminpb.RestoreResponse{Keys: int64(st.Keys), Index: st.Applied})
}
