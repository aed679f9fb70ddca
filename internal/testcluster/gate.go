package testcluster

import (
	"errors"
	"sync"

	"github.com/hashicorp/raft"
)

// Gate is an in-memory transport whose outgoing log replication can be
// held: while held, AppendEntries RPCs that carry entries block (and then
// fail), but heartbeats still pass, so a leader keeps its lease and its
// leadership while nothing it proposes can commit. Pipelining is refused so
// every entry goes through AppendEntries.
type Gate struct {
	*raft.InmemTransport
	mu   sync.Mutex
	held chan struct{}      // non-nil while held; closed to release
	only raft.ServerAddress // if set, only replication to this peer is held
}

// Hold blocks replication of entries from now on.
func (g *Gate) Hold() { g.HoldTo("") }

// HoldTo blocks replication of entries to target only ("" for every peer).
func (g *Gate) HoldTo(target raft.ServerAddress) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
	g.only = target
}

// Open lets replication through again; RPCs blocked while held fail.
func (g *Gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

// AppendEntriesPipeline implements raft.Transport: refused, so that every
// entry goes through AppendEntries.
func (g *Gate) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

// AppendEntries implements raft.Transport, waiting while held.
func (g *Gate) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if len(args.Entries) > 0 {
		g.mu.Lock()
		held := g.held
		if g.only != "" && g.only != target {
			held = nil
		}
		g.mu.Unlock()
		if held != nil {
			<-held
			return errors.New("test gate: entries dropped")
		}
	}
	return g.InmemTransport.AppendEntries(id, target, args, resp)
}
