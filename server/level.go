package server

import (
	"context"
	"strconv"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
)

// keepLevel raises the cluster level, on the leader, once every member of
// the configuration runs a build that applies the next one: the cluster
// version, as etcd's. A member that has not answered counts as the oldest
// build (level 1), so a down member holds the level back until it returns
// or is removed; the level never goes down. The first raise to level 2
// fixes the number of databases at this node's --databases.
func (s *Server) keepLevel() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		f := s.Node.FSM()
		if !s.Node.IsLeader() {
			continue
		}
		if f.Level() >= fsm.Level2 && !f.HasRelaySecret() && s.Node.ReadReady() {
			s.rotateRelaySecret()
			continue
		}
		if f.Level() >= fsm.MaxLevel {
			continue
		}
		next := f.Level() + 1
		if s.memberLevel() < next {
			continue
		}
		secret, err := node.NewRelaySecret()
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = s.Node.WriteInternal([][]byte{[]byte("level"), []byte(strconv.Itoa(int(next))),
			[]byte(strconv.Itoa(s.cfg.Databases)), []byte(secret)}).Wait(ctx)
		cancel()
		if err != nil {
			s.log.Debug("raise cluster level", "level", next, "err", err)
			continue
		}
		s.log.Info("cluster level raised", "level", next, "databases", f.Databases())
	}
}

// memberLevel is the lowest level the members' builds apply, as far as this
// node knows (itself, and the last answer of each other member).
func (s *Server) memberLevel() fsm.Level {
	ms, err := s.Node.Members()
	if err != nil {
		return fsm.Level1
	}
	low := fsm.MaxLevel
	for _, m := range ms {
		if m.ID == s.cfg.ID {
			continue
		}
		p := s.peers.Peer(m.ID)
		if !p.Answered {
			return fsm.Level1
		}
		low = min(low, fsm.Level(p.FormatLevel))
	}
	return low
}

// rotateRelaySecret has the leader create the relay secret.
func (s *Server) rotateRelaySecret() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Node.RotateRelaySecret(ctx); err != nil {
		s.log.Debug("relay secret", "err", err)
		return
	}
	s.log.Info("relay secret created") // the secret itself is never logged
}
