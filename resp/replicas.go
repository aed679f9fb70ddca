package resp

import (
	"time"
)

// How this node describes the cluster's members to clients (ROLE, INFO
// replication, SENTINEL, CLUSTER). Addresses are the advertised ones, which
// clients can reach; health and offsets come from what this node knows
// without asking anyone on the request path:
//   - itself: its own Raft state (a follower's link is up while it has heard
//     from its leader within the down-after time);
//   - the others: Config.Peers, which asks every member's admin API for its
//     status in the background (rpc.Peers). A member is up while it answered
//     recently as the leader, or as a follower that has recently heard from
//     its leader.
//
// As in Redis, a replica that is down is left out of ROLE, INFO's
// connected_slaves and CLUSTER SLOTS, and shown with s_down/disconnected
// (SENTINEL) or fail/disconnected (CLUSTER NODES, SHARDS).

// memberView is one member as clients are told about it.
type memberView struct {
	id     string // Raft server id
	host   string // advertised client address
	port   int
	leader bool
	self   bool
	up     bool
	// offset is the member's applied index as last known (0: unknown).
	offset uint64
	// lastOK is when this node last knew the member healthy (now for
	// itself when up; zero: never).
	lastOK time.Time
	// lastAnswer is when the member last answered at all (zero: never).
	lastAnswer time.Time
}

// downAfter is how long a member may go unheard before it is down: the
// tracker's setting, or three heartbeat timeouts without one.
func (s *Server) downAfter() time.Duration {
	if d := s.cfg.Peers.DownAfter(); d > 0 {
		return d
	}
	return 3 * s.node.Config().HeartbeatTimeout
}

// linkUp reports whether this node, as a follower, is in touch with a
// leader: one is known and was heard from within downAfter.
func (s *Server) linkUp() bool {
	if _, ok := s.node.Leader(); !ok {
		return false
	}
	lc := s.node.LastContact()
	return !lc.IsZero() && time.Since(lc) <= s.downAfter()
}

// memberViews describes every member that has recorded a client address,
// the leader first; nil when no leader is known (there is no master to
// describe).
func (s *Server) memberViews() []memberView {
	ms, err := s.node.Members()
	if err != nil {
		return nil
	}
	now := time.Now()
	leads := s.node.IsLeader()
	selfUp := leads || s.linkUp()
	var out []memberView
	for _, m := range ms {
		if m.ClientAddr == "" {
			continue
		}
		h, p := splitHostPort(m.ClientAddr)
		v := memberView{id: m.ID, host: h, port: p, leader: m.Leader, self: m.ID == s.node.ID()}
		switch {
		case v.self:
			v.up, v.offset, v.lastAnswer = selfUp, s.node.AppliedIndex(), now
			if selfUp {
				v.lastOK = now
			}
		case v.leader && !leads:
			// This node's own link to the leader is the truth about it.
			pr := s.cfg.Peers.Peer(m.ID)
			v.up, v.offset, v.lastAnswer, v.lastOK = selfUp, pr.AppliedIndex, pr.LastAnswer, pr.LastHealthy
			if selfUp {
				v.lastOK = s.node.LastContact()
			}
		default:
			pr := s.cfg.Peers.Peer(m.ID)
			v.up, v.offset, v.lastAnswer, v.lastOK = pr.Up, pr.AppliedIndex, pr.LastAnswer, pr.LastHealthy
		}
		if v.leader {
			out = append([]memberView{v}, out...)
		} else {
			out = append(out, v)
		}
	}
	if len(out) > 0 && !out[0].leader {
		return nil
	}
	return out
}

// connectedReplicas are the followers that are up, as ROLE and INFO list
// them on the leader.
func (s *Server) connectedReplicas() []memberView {
	var out []memberView
	for _, v := range s.memberViews() {
		if !v.leader && v.up {
			out = append(out, v)
		}
	}
	return out
}

// sinceMs is the time since t in whole milliseconds (0 for the zero time).
func sinceMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return time.Since(t).Milliseconds()
}
