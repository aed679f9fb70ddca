package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// Membership and maintenance operations for the admin API. They run on the
// leader; callers on a follower get ErrNotLeader and forward.

// ErrRefused marks a request refused because it would break the cluster or
// contradicts its configuration; the message says why.
var ErrRefused = errors.New("refused")

const adminTimeout = 10 * time.Second

// Member is one server of the Raft configuration with its recorded addresses.
// ClientAddr and AdminAddr are told to clients and operators;
// PeerClientAddr and PeerAdminAddr are where other nodes reach it (in
// Members, the advertised ones when it recorded none; in Join, empty means
// the same as advertised).
type Member struct {
	ID, RaftAddr, ClientAddr, AdminAddr string
	PeerClientAddr, PeerAdminAddr       string
	Voter                               bool
	Leader                              bool
}

// Members returns the Raft configuration.
func (n *Node) Members() ([]Member, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("get configuration: %w", err)
	}
	meta := n.fsm.AllMeta()
	li, _ := n.Leader()
	var out []Member
	for _, s := range f.Configuration().Servers {
		m := meta[string(s.ID)]
		out = append(out, Member{
			ID: string(s.ID), RaftAddr: string(s.Address),
			ClientAddr: m.ClientAddr, AdminAddr: m.AdminAddr,
			PeerClientAddr: m.PeerClient(), PeerAdminAddr: m.PeerAdmin(),
			Voter: s.Suffrage == raft.Voter, Leader: string(s.ID) == li.ID,
		})
	}
	return out, nil
}

func (n *Node) requireLeader() error {
	if n.raft.State() != raft.Leader {
		return n.notLeader()
	}
	return nil
}

// Join adds a server. Joining again with the same id and address succeeds
// (so a restarting joiner is harmless); the same id with another address, or
// another id at the same address, is refused.
func (n *Node) Join(ctx context.Context, m Member, nonVoter bool) (uint64, error) {
	if err := n.requireLeader(); err != nil {
		return 0, err
	}
	if m.ID == "" || m.RaftAddr == "" {
		return 0, fmt.Errorf("%w: join needs an id and a raft address", ErrRefused)
	}
	members, err := n.Members()
	if err != nil {
		return 0, err
	}
	for _, e := range members {
		switch {
		case e.ID == m.ID && e.RaftAddr != m.RaftAddr:
			return 0, fmt.Errorf("%w: server %s already exists with raft address %s (not %s); remove it first", ErrRefused, e.ID, e.RaftAddr, m.RaftAddr)
		case e.ID != m.ID && e.RaftAddr == m.RaftAddr:
			return 0, fmt.Errorf("%w: raft address %s already belongs to server %s", ErrRefused, m.RaftAddr, e.ID)
		case e.ID == m.ID && (e.Voter || nonVoter):
			// Already a member in the requested role: only refresh addresses.
			return n.recordMemberMeta(ctx, m)
		}
	}
	var f raft.IndexFuture
	if nonVoter {
		f = n.raft.AddNonvoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, adminTimeout)
	} else {
		f = n.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, adminTimeout)
	}
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("add server %s: %w", m.ID, mapApplyError(err))
	}
	n.log.Info("server joined", "server", m.ID, "raft_addr", m.RaftAddr, "non_voter", nonVoter)
	return n.recordMemberMeta(ctx, m)
}

func (n *Node) recordMemberMeta(ctx context.Context, m Member) (uint64, error) {
	if m.ClientAddr == "" && m.AdminAddr == "" {
		return n.raft.LastIndex(), nil
	}
	_, err := n.WriteInternal(metaArgv(m.ID, NewMeta(m.ClientAddr, m.AdminAddr, m.PeerClientAddr, m.PeerAdminAddr))).Wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("record addresses of %s: %w", m.ID, err)
	}
	return n.raft.LastIndex(), nil
}

// Promote makes a non-voter a voter.
func (n *Node) Promote(ctx context.Context, id string) (uint64, error) {
	if err := n.requireLeader(); err != nil {
		return 0, err
	}
	members, err := n.Members()
	if err != nil {
		return 0, err
	}
	for _, m := range members {
		if m.ID != id {
			continue
		}
		if m.Voter {
			return n.raft.LastIndex(), nil
		}
		f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(m.RaftAddr), 0, adminTimeout)
		if err := f.Error(); err != nil {
			return 0, fmt.Errorf("promote %s: %w", id, mapApplyError(err))
		}
		n.log.Info("server promoted", "server", id)
		return f.Index(), nil
	}
	return 0, fmt.Errorf("%w: no server %s in the cluster", ErrRefused, id)
}

// Remove takes a server out of the configuration; removing the last voter is
// refused.
func (n *Node) Remove(ctx context.Context, id string) (uint64, error) {
	if err := n.requireLeader(); err != nil {
		return 0, err
	}
	members, err := n.Members()
	if err != nil {
		return 0, err
	}
	found, voters := false, 0
	var target Member
	for _, m := range members {
		if m.Voter {
			voters++
		}
		if m.ID == id {
			found, target = true, m
		}
	}
	if !found {
		return 0, fmt.Errorf("%w: no server %s in the cluster", ErrRefused, id)
	}
	if target.Voter && voters == 1 {
		return 0, fmt.Errorf("%w: %s is the last voter; removing it would leave no cluster", ErrRefused, id)
	}
	f := n.raft.RemoveServer(raft.ServerID(id), 0, adminTimeout)
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("remove %s: %w", id, mapApplyError(err))
	}
	n.log.Info("server removed", "server", id)
	if id != n.cfg.ID {
		_, _ = n.WriteInternal([][]byte{[]byte("forget"), []byte(id)}).Wait(ctx)
	}
	return f.Index(), nil
}

// TransferLeadership hands leadership to id (or any voter if empty) and waits
// until a new leader is known. In-flight writes finish first: hashicorp/raft
// stops accepting new ones while the transfer runs (they get ErrNotLeader,
// which clients retry).
func (n *Node) TransferLeadership(ctx context.Context, id string) (LeaderInfo, time.Duration, error) {
	if err := n.requireLeader(); err != nil {
		return LeaderInfo{}, 0, err
	}
	start := time.Now()
	var f raft.Future
	if id == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		members, err := n.Members()
		if err != nil {
			return LeaderInfo{}, 0, err
		}
		var addr string
		for _, m := range members {
			if m.ID == id && m.Voter {
				addr = m.RaftAddr
			}
		}
		if addr == "" {
			return LeaderInfo{}, 0, fmt.Errorf("%w: %s is not a voter of this cluster", ErrRefused, id)
		}
		if id == n.cfg.ID {
			return LeaderInfo{}, 0, fmt.Errorf("%w: %s already leads", ErrRefused, id)
		}
		f = n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(addr))
	}
	if err := f.Error(); err != nil {
		return LeaderInfo{}, 0, fmt.Errorf("transfer leadership: %w", err)
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if li, ok := n.Leader(); ok && !li.Self {
			return li, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return LeaderInfo{}, time.Since(start), fmt.Errorf("wait for new leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Snapshot forces a snapshot (and so log compaction) now, and returns the
// newest snapshot's index and term: the one taken, or one taken since.
// (Opening the one taken to read its metadata failed when another, from a
// concurrent SAVE or the snapshot interval, had already replaced it: the
// store keeps two on disk, one in memory.)
func (n *Node) Snapshot() (uint64, uint64, error) {
	if err := n.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return 0, 0, fmt.Errorf("snapshot: %w", err)
	}
	st := n.raft.Stats()
	idx, _ := strconv.ParseUint(st["last_snapshot_index"], 10, 64)
	term, _ := strconv.ParseUint(st["last_snapshot_term"], 10, 64)
	return idx, term, nil
}

// Backup writes a consistent copy of the state to w, taken on the leader
// after a leadership check, so it holds every write acknowledged before the
// call. It returns the applied index the copy reflects.
func (n *Node) Backup(ctx context.Context, w io.Writer) (uint64, error) {
	if !n.ReadReady() {
		return 0, n.notReady()
	}
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return 0, n.notReady()
	}
	return n.fsm.WriteSnapshot(w)
}

// Restore replaces the cluster's state with a backup through Raft: the leader
// installs it and followers receive it as a snapshot. Meant for disaster
// recovery into a fresh cluster. The data is checked completely first.
func (n *Node) Restore(ctx context.Context, data []byte) (fsm.Stats, error) {
	if err := n.requireLeader(); err != nil {
		return fsm.Stats{}, err
	}
	st, err := fsm.ValidateSnapshot(bytes.NewReader(data))
	if err != nil {
		return fsm.Stats{}, fmt.Errorf("%w: backup does not load: %v", ErrRefused, err)
	}
	// The backup carries the source cluster's member addresses; this
	// cluster's own must survive, or followers would send clients (and
	// admin verbs) to the source cluster.
	keep := n.fsm.AllMeta()
	keep[n.cfg.ID] = n.selfMeta()
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(len(data))}
	if err := n.raft.Restore(meta, bytes.NewReader(data), time.Minute); err != nil {
		return fsm.Stats{}, fmt.Errorf("restore: %w", err)
	}
	if err := n.reconcileMeta(ctx, keep); err != nil {
		return fsm.Stats{}, fmt.Errorf("restore: re-record member addresses: %w", err)
	}
	// A backup carries no relay secret: members that never had this
	// cluster's (a node added since) get a new one through the log.
	if n.fsm.Level() >= fsm.Level2 {
		if err := n.RotateRelaySecret(ctx); err != nil {
			return fsm.Stats{}, fmt.Errorf("restore: new relay secret: %w", err)
		}
	}
	n.log.Info("restored backup", "keys", st.Keys, "index", n.raft.LastIndex())
	st.Applied = n.raft.LastIndex()
	return st, nil
}

// reconcileMeta makes the replicated member addresses those of this
// cluster: keep's entries for current members, nothing for strangers.
func (n *Node) reconcileMeta(ctx context.Context, keep map[string]fsm.NodeMeta) error {
	members, err := n.Members()
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, m := range members {
		in[m.ID] = true
		if km, ok := keep[m.ID]; ok {
			if _, err := n.WriteInternal(metaArgv(m.ID, km)).Wait(ctx); err != nil {
				return err
			}
		}
	}
	for id := range n.fsm.AllMeta() {
		if !in[id] {
			if _, err := n.WriteInternal([][]byte{[]byte("forget"), []byte(id)}).Wait(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// LogSize is the size on disk of the log and stable stores: raft.db, and
// the WAL's segment files (preallocated, 64 MiB each) when it holds the log
// (0 in memory).
func (n *Node) LogSize() int64 {
	if n.cfg.InMemory {
		return 0
	}
	return dataSize(n.cfg.DataDir)
}

// LastSnapshotIndex is the index of the newest snapshot.
func (n *Node) LastSnapshotIndex() uint64 {
	idx, _ := strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64)
	return idx
}
