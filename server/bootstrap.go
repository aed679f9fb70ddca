package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/node"
)

// startMode is how a node enters its cluster, from --peers and --join.
//
// With both given (a StatefulSet: every pod gets the same peer list and
// the admin addresses of all of them) a data directory alone cannot tell a
// brand-new cluster from a pod whose volume is new while its cluster lives
// on: a lost or deleted claim, or a scale-down (whose claims are deleted)
// followed by a scale-up. Bootstrapping from the list in the second case
// could let two new pods elect each other: a second cluster under the same
// name. So a node with no Raft state first asks every address in --join,
// and bootstraps only once all of them have answered that they hold no
// Raft state either; if any holds some, it joins instead. A node not named
// in --peers always joins. A node with state (a restart) keeps its stored
// configuration and also asks to join, which is a no-op for a member and
// brings back one that was removed while its volume was kept.
type startMode int

const (
	modeStatic   startMode = iota // --peers alone: bootstrap if new
	modeJoin                      // --join alone, or not named in --peers
	modeAskFirst                  // --peers and --join: bootstrap only a new cluster
)

func (c *Config) startMode(peers []node.Peer) startMode {
	switch {
	case c.Join == "":
		return modeStatic
	case len(peers) == 0:
		return modeJoin
	}
	for _, p := range peers {
		if p.ID == c.ID {
			return modeAskFirst
		}
	}
	return modeJoin
}

// bootstrapOrJoin runs for a node started with --peers and --join: see
// startMode. The node was opened without peers, so it holds no
// configuration until this decides.
func (s *Server) bootstrapOrJoin(peers []node.Peer, addrs string, self node.Member) {
	if s.Node.Raft().LastIndex() > 0 {
		s.join(addrs, self) // a restart
		return
	}
	c := s.adminClient(addrs)
	backoff := 100 * time.Millisecond
	for {
		empty, held, waiting := 0, "", []string{}
		for _, addr := range c.Addrs {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := c.StatusOf(ctx, addr)
			cancel()
			switch {
			case err != nil:
				waiting = append(waiting, addr)
			case st.Id == s.cfg.ID:
				// This node itself.
			case st.LastLogIndex > 0 || st.LeaderId != "":
				held = st.Id + " at " + addr
			default:
				empty++
			}
			if held != "" {
				break
			}
		}
		if s.Node.Raft().LastIndex() > 0 {
			return // a leader added this node meanwhile (another's join found us)
		}
		switch {
		case held != "":
			s.log.Info("new data directory but the cluster exists: joining", "holder", held)
			s.join(addrs, self)
			return
		case len(waiting) == 0:
			s.bootstrap(peers, empty)
			return
		}
		s.log.Info("new data directory: waiting for every peer to answer before bootstrapping", "unanswered", strings.Join(waiting, ","), "in", backoff)
		select {
		case <-s.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// bootstrap stores the initial configuration; every new node of the list
// stores the same one, so it does not matter which of them gets there first.
func (s *Server) bootstrap(peers []node.Peer, asked int) {
	servers := make([]raft.Server, len(peers))
	for i, p := range peers {
		servers[i] = raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr), Suffrage: raft.Voter}
	}
	err := s.Node.Raft().BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	switch {
	case err == nil:
		s.log.Info("no peer holds a cluster: bootstrapped", "peers", len(servers), "asked", asked)
	case errors.Is(err, raft.ErrCantBootstrap):
		s.log.Info("bootstrap: state appeared meanwhile (added by the leader)")
	default:
		s.log.Error("bootstrap", "err", err)
		select {
		case s.errc <- err:
		default:
		}
	}
}
