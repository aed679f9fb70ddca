package node

import (
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// raftRef holds the Raft instance for goroutines that may run before New
// has stored n.raft (the transport's).
type raftRef struct{ p atomic.Pointer[raft.Raft] }

// leadsIn reports whether this node leads in term.
func (n *Node) leadsIn(term uint64) bool {
	r := n.raftRef.p.Load()
	return r != nil && r.State() == raft.Leader && r.CurrentTerm() == term
}

// isMember reports whether id is in the latest configuration.
func (n *Node) isMember(id raft.ServerID) bool {
	r := n.raftRef.p.Load()
	if r == nil {
		return false
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return true // cannot tell: keep waiting, the next check will know
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == id {
			return true
		}
	}
	return false
}
