package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/understudy/understudy/node"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// PeersConfig configures a Peers tracker.
type PeersConfig struct {
	// TLS, if set, reaches the other nodes' admin APIs over TLS (the node's
	// own client-side config: its certificate and CA).
	TLS *tls.Config
	// Token is sent as the admin token (Status needs none; sent anyway).
	Token string
	// Interval is how often every member is asked for its status while all
	// are up (default 500ms). While one is not, or just after the leader
	// changed, they are asked every EagerInterval (default 100ms), so a
	// member that comes back is seen at once.
	Interval      time.Duration
	EagerInterval time.Duration
	// DownAfter: a member that has not answered healthy for this long is
	// down (default 1.5s); also the longest a follower may go without hearing
	// from its leader and still count as connected.
	DownAfter time.Duration
	Logger    *slog.Logger
}

// Peers keeps one admin API connection per other member and asks each for
// its status in the background, so that this node can say how the others
// are doing (ROLE, INFO replication, SENTINEL, CLUSTER) without a call per
// client command, and WAIT can count the followers that hold a write. The
// connections use the node's TLS settings and token, and dial the members'
// peer admin addresses.
//
// A member is up while its last answer, no older than DownAfter, showed it
// leading, or following in its current term with its leader heard from
// within DownAfter (its own Raft view of the link). The leader therefore
// learns of a dead, paused or partitioned follower within about DownAfter
// plus one poll, and of its return within one eager poll.
type Peers struct {
	cfg PeersConfig
	log *slog.Logger

	mu       sync.Mutex
	node     *node.Node
	conns    map[string]*grpc.ClientConn // by peer admin address
	seen     map[string]*peerSeen        // by member id
	inflight map[string]bool             // member ids with a background call running
	started  bool
	stop     chan struct{}
	done     chan struct{}
}

// peerSeen is what the last calls to one member returned.
type peerSeen struct {
	addr      string
	st        *adminpb.StatusResponse // last answer; nil: never answered
	at        time.Time               // when st arrived
	healthy   bool                    // st showed a healthy member
	healthyAt time.Time               // when the last healthy answer arrived
	err       error                   // last failed call
	errAt     time.Time
	up        bool // as last logged
}

// Peer is what this node knows of another member.
type Peer struct {
	ID string
	// Up: see Peers.
	Up bool
	// Answered: the member has answered at least once; the fields below
	// are from its last answer.
	Answered     bool
	Role         string
	Term         uint64
	LeaderID     string
	AppliedIndex uint64
	CommitIndex  uint64
	LastLogIndex uint64
	// FormatLevel is the highest cluster level the member's build applies
	// (1 for builds that predate levels and report none).
	FormatLevel uint32
	// LeaderContact is how long before its last answer the member had heard
	// from its leader (0 for a leader, -1 if never).
	LeaderContact time.Duration
	// LastAnswer and LastHealthy are when the last answer, and the last
	// healthy one, arrived (zero: never).
	LastAnswer  time.Time
	LastHealthy time.Time
	// Err is the last failed call, if it came after the last answer.
	Err error
}

// NewPeers returns a tracker; Start begins asking once the node exists.
func NewPeers(cfg PeersConfig) *Peers {
	if cfg.Interval <= 0 {
		cfg.Interval = 500 * time.Millisecond
	}
	if cfg.EagerInterval <= 0 || cfg.EagerInterval > cfg.Interval {
		cfg.EagerInterval = min(100*time.Millisecond, cfg.Interval)
	}
	if cfg.DownAfter <= 0 {
		cfg.DownAfter = 3 * cfg.Interval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Peers{
		cfg: cfg, log: cfg.Logger.With("component", "peers"),
		conns: map[string]*grpc.ClientConn{}, seen: map[string]*peerSeen{}, inflight: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// DownAfter is how long a member may go without a healthy answer before it
// counts as down.
func (p *Peers) DownAfter() time.Duration {
	if p == nil {
		return 0
	}
	return p.cfg.DownAfter
}

// Start begins asking the members of n's configuration in the background.
func (p *Peers) Start(n *node.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return
	}
	p.node, p.started = n, true
	go p.run()
}

// Close stops the background calls and closes the connections.
func (p *Peers) Close() {
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
	}
	close(p.stop)
	started := p.started
	p.mu.Unlock()
	if started {
		// The loop may be waiting on Raft (a node parked behind a failed
		// disk write answers nothing): do not hang the server's Close on it.
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, cc := range p.conns {
		_ = cc.Close()
		delete(p.conns, addr)
	}
}

// Peer returns what is known of member id (the zero Peer, not up, if
// nothing). It never calls the member.
func (p *Peers) Peer(id string) Peer {
	if p == nil {
		return Peer{ID: id}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peerLocked(id, time.Now())
}

func (p *Peers) peerLocked(id string, now time.Time) Peer {
	out := Peer{ID: id}
	s := p.seen[id]
	if s == nil {
		return out
	}
	out.LastHealthy = s.healthyAt
	out.Up = s.healthy && now.Sub(s.healthyAt) <= p.cfg.DownAfter
	if s.st != nil {
		st := s.st
		out.Answered, out.LastAnswer = true, s.at
		out.Role, out.Term, out.LeaderID = st.Role, st.Term, st.LeaderId
		out.AppliedIndex, out.CommitIndex, out.LastLogIndex = st.AppliedIndex, st.CommitIndex, st.LastLogIndex
		out.FormatLevel = max(st.FormatLevel, 1)
		out.LeaderContact = time.Duration(st.LastContactMs) * time.Millisecond
		if st.LastContactMs < 0 {
			out.LeaderContact = -1
		}
	}
	if s.err != nil && s.errAt.After(s.at) {
		out.Err = s.err
	}
	return out
}

// healthy says whether an answer shows a member in touch with the cluster:
// leading, or following with recent contact from its leader, in a term no
// older than this node's.
func (p *Peers) healthy(st *adminpb.StatusResponse, term uint64) bool {
	if st.Term < term {
		return false // it has not heard from the leader of this term
	}
	switch st.Role {
	case "leader":
		return true
	case "follower":
		return st.LeaderId != "" && st.LastContactMs >= 0 && time.Duration(st.LastContactMs)*time.Millisecond <= p.cfg.DownAfter
	}
	return false
}

// others lists the members other than this node that have a peer admin address.
func (p *Peers) others() []node.Member {
	ms, err := p.node.Members()
	if err != nil {
		return nil
	}
	out := ms[:0]
	for _, m := range ms {
		if m.ID != p.node.ID() && m.PeerAdminAddr != "" {
			out = append(out, m)
		}
	}
	return out
}

func (p *Peers) run() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.EagerInterval)
	defer t.Stop()
	var last, leaderChanged time.Time
	var leader string
	for {
		li, _ := p.node.Leader()
		if li.ID != leader {
			leader, leaderChanged = li.ID, time.Now()
		}
		members := p.others()
		p.prune(members)
		eager := time.Since(leaderChanged) < 3*p.cfg.DownAfter || !p.allUp(members)
		if eager || time.Since(last) >= p.cfg.Interval {
			last = time.Now()
			for _, m := range members {
				p.pollInBackground(m)
			}
		}
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

func (p *Peers) allUp(members []node.Member) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for _, m := range members {
		if !p.peerLocked(m.ID, now).Up {
			return false
		}
	}
	return true
}

// pollInBackground asks m for its status unless a call to it is running.
func (p *Peers) pollInBackground(m node.Member) {
	p.mu.Lock()
	if p.inflight[m.ID] {
		p.mu.Unlock()
		return
	}
	p.inflight[m.ID] = true
	p.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Interval)
		defer cancel()
		_, _ = p.ask(ctx, m)
		p.mu.Lock()
		delete(p.inflight, m.ID)
		p.mu.Unlock()
	}()
}

// ask calls m's Status over its pooled connection and records the outcome.
func (p *Peers) ask(ctx context.Context, m node.Member) (*adminpb.StatusResponse, error) {
	cc, err := p.conn(m.PeerAdminAddr)
	var st *adminpb.StatusResponse
	if err == nil {
		if p.cfg.Token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, tokenMD, "Bearer "+p.cfg.Token)
		}
		st, err = adminpb.NewAdminClient(cc).Status(ctx, &adminpb.StatusRequest{})
	}
	if err != nil {
		err = fmt.Errorf("status of %s at %s: %w", m.ID, m.PeerAdminAddr, describe(err))
	}
	p.record(m, st, err)
	return st, err
}

func (p *Peers) record(m node.Member, st *adminpb.StatusResponse, err error) {
	term := p.node.Raft().CurrentTerm()
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stop:
		return
	default:
	}
	s := p.seen[m.ID]
	if s == nil || s.addr != m.PeerAdminAddr {
		s = &peerSeen{addr: m.PeerAdminAddr}
		p.seen[m.ID] = s
	}
	if err != nil {
		s.err, s.errAt = err, now
	} else {
		s.st, s.at = st, now
		s.healthy = p.healthy(st, term)
		if s.healthy {
			s.healthyAt = now
		}
	}
	if up := p.peerLocked(m.ID, now).Up; up != s.up {
		s.up = up
		if up {
			p.log.Info("member up", "member", m.ID, "addr", m.PeerAdminAddr)
		} else {
			p.log.Info("member down", "member", m.ID, "addr", m.PeerAdminAddr, "err", err)
		}
	}
}

// conn returns the pooled connection to addr, creating it on first use.
// gRPC reconnects it by itself; the back-off is capped at a second so a
// member that returns is reached again quickly.
func (p *Peers) conn(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cc, ok := p.conns[addr]; ok {
		return cc, nil
	}
	select {
	case <-p.stop:
		return nil, fmt.Errorf("dial %s: %w", addr, errPeersClosed)
	default:
	}
	creds := insecure.NewCredentials()
	if p.cfg.TLS != nil {
		creds = credentials.NewTLS(p.cfg.TLS)
	}
	bo := backoff.DefaultConfig
	bo.BaseDelay, bo.MaxDelay = 50*time.Millisecond, time.Second
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: time.Second}))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	p.conns[addr] = cc
	return cc, nil
}

var errPeersClosed = errors.New("peer tracker closed")

// prune forgets members that left the configuration and closes connections
// to addresses no member has any more.
func (p *Peers) prune(members []node.Member) {
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, m := range members {
		ids[m.ID], addrs[m.PeerAdminAddr] = true, true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.seen {
		if !ids[id] {
			delete(p.seen, id)
		}
	}
	for addr, cc := range p.conns {
		if !addrs[addr] {
			_ = cc.Close()
			delete(p.conns, addr)
		}
	}
}

// LeaderCommitIndex asks the leader, over its pooled connection, how far its
// log is committed. A follower's own commit index trails the leader's by
// whatever it has not been sent yet, so only the leader's figure says
// whether the follower has caught up.
func (p *Peers) LeaderCommitIndex(ctx context.Context) (uint64, error) {
	if p == nil {
		return 0, errors.New("no peer tracker")
	}
	p.mu.Lock()
	n := p.node
	p.mu.Unlock()
	if n == nil {
		return 0, errors.New("peer tracker not started")
	}
	li, ok := n.Leader()
	switch {
	case !ok:
		return 0, errors.New("no leader")
	case li.Self:
		return n.Status().CommitIndex, nil
	case li.PeerAdminAddr == "":
		return 0, fmt.Errorf("leader %s has not recorded its admin address yet", li.ID)
	}
	st, err := p.ask(ctx, node.Member{ID: li.ID, PeerAdminAddr: li.PeerAdminAddr})
	if err != nil {
		return 0, err
	}
	return st.CommitIndex, nil
}

// Holding counts the other members whose applied index has reached index
// (so they hold that committed entry), asking each over its pooled
// connection until want of them have, or ctx ends. It asks at least once,
// and never asks again a member already counted.
func (p *Peers) Holding(ctx context.Context, index uint64, want int) int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return 0
	}
	have := map[string]bool{}
	for {
		var ask []node.Member
		for _, m := range p.others() {
			if !have[m.ID] {
				ask = append(ask, m)
			}
		}
		got := make(chan string, len(ask))
		var wg sync.WaitGroup
		for _, m := range ask {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, p.cfg.Interval)
				defer cancel()
				if st, err := p.ask(cctx, m); err == nil && st.AppliedIndex >= index {
					got <- m.ID
				}
			}()
		}
		wg.Wait()
		close(got)
		for id := range got {
			have[id] = true
		}
		if len(have) >= want {
			return len(have)
		}
		select {
		case <-ctx.Done():
			return len(have)
		case <-p.stop:
			return len(have)
		case <-time.After(10 * time.Millisecond): // polling the followers; not a test synchronisation
		}
	}
}
