package node

import (
	"errors"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// When the leader's process dies, its host closes its connections: each
// follower sees the leader's replication and heartbeat connections end at
// once. Waiting for the heartbeat timeout then costs 300-600 ms, and more
// when the first follower to time out asks the other for its vote before
// that one's own timer has fired: hashicorp/raft refuses a vote while it
// still believes in a leader, and the election takes a second round.
//
// So a follower that sees a connection from the leader end checks that the
// leader's Raft port refuses connections (the process is gone, not merely a
// connection), and the surviving voters stand for election in a fixed order
// (lowest id first, the next 100 ms later if no leader has appeared): a
// node stands by handing its own Raft a TimeoutNow, as a leader transferring
// leadership would, so its vote requests carry the leadership-transfer flag
// and the other follower grants its vote at once. Votes still require an
// up-to-date log and one vote per term; at worst a mistaken detection costs
// an election. A leader that fails silently (its host, the network) is found
// by the heartbeat timeout as before.

// standStagger is how long each survivor, in id order, waits after the one
// before it to stand for election.
const standStagger = 100 * time.Millisecond

// peerConnLost is called when a fast-path connection ends whose last request
// came from id at addr (its Raft address).
func (n *Node) peerConnLost(id, addr string) {
	r := n.raftRef.p.Load()
	if r == nil || id == "" || id == n.cfg.ID {
		n.log.Debug("a connection from a peer ended", "peer", id)
		return
	}
	if _, leader := r.LeaderWithID(); string(leader) != id || r.State() != raft.Follower {
		n.log.Debug("a connection from a peer ended", "peer", id, "leader", leader, "state", r.State())
		return
	}
	term := r.CurrentTerm()
	if !n.leaderGone.CompareAndSwap(0, term) {
		return // already handling a dead leader
	}
	go n.standIfLeaderGone(r, id, addr, term)
}

func (n *Node) standIfLeaderGone(r *raft.Raft, id, addr string, term uint64) {
	defer n.leaderGone.Store(0)
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err == nil {
		c.Close()
		return // it listens: the process is there
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return // cannot tell (a timeout: the host, the network): leave it to the heartbeat timeout
	}
	rank, ok := n.survivorRank(r, raft.ServerID(id))
	if !ok {
		return
	}
	select {
	case <-n.stop:
		return
	case <-time.After(time.Duration(rank) * standStagger):
	}
	// Stand unless someone leads now, this node is already campaigning, or
	// it has given its vote in the current term (a survivor before it is
	// winning: standing would only start another round). A survivor whose
	// log was behind got no vote from this one: then it stands.
	if _, leader := r.LeaderWithID(); r.State() != raft.Follower || (leader != "" && string(leader) != id) {
		return
	}
	if now := r.CurrentTerm(); now != term && n.votedIn(now) {
		return
	}
	n.log.Info("the leader's process is gone (its connections closed, its Raft port refuses); standing for election now",
		"leader", id, "term", term, "rank", rank)
	if ft, ok := n.trans.(*fastTransport); ok {
		ft.timeoutNow()
	}
}

// votedIn reports whether this node has recorded a vote in term (Raft's
// stable store keys).
func (n *Node) votedIn(term uint64) bool {
	if n.guard == nil {
		return false
	}
	t, err := n.guard.stable.GetUint64([]byte("LastVoteTerm"))
	return err == nil && t == term
}

// survivorRank is this node's place among the voters other than gone, by id.
func (n *Node) survivorRank(r *raft.Raft, gone raft.ServerID) (int, bool) {
	f := r.GetConfiguration()
	if f.Error() != nil {
		return 0, false
	}
	var ids []string
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter && s.ID != gone {
			ids = append(ids, string(s.ID))
		}
	}
	slices.Sort(ids)
	rank := slices.Index(ids, n.cfg.ID)
	return rank, rank >= 0
}

// timeoutNow hands this node's Raft a TimeoutNow, as a leader transferring
// leadership to it would: it stands for election at once.
func (t *fastTransport) timeoutNow() {
	hdr := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(t.node.cfg.ID), Addr: []byte(t.LocalAddr())}
	rpc := raft.RPC{Command: &raft.TimeoutNowRequest{RPCHeader: hdr}, RespChan: make(chan raft.RPCResponse, 1)}
	select {
	case t.rpcs <- rpc:
	case <-t.stream.done:
	case <-time.After(time.Second):
	}
}
