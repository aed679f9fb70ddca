package resp

import (
	"context"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
	"github.com/understudy/understudy/rpc"
)

// Node is what the RESP layer needs of the local Raft node. *node.Node
// implements it; resp owns the interface (as hraftd's Store and rqlite's
// proxy.Store) so dispatch, routing and MULTI/EXEC can be tested against a
// small fake without a cluster. It deliberately does not expose *raft.Raft.
type Node interface {
	// ID is this node's id; Config its configuration with defaults applied.
	ID() string
	Config() node.Config
	// FSM is the replicated state machine, for local reads and hooks.
	FSM() *fsm.FSM

	// IsLeader, Leader and Members say who leads and who belongs.
	IsLeader() bool
	Leader() (node.LeaderInfo, bool)
	Members() ([]node.Member, error)
	OnLeadershipChange(fn func(isLeader bool))
	Status() node.Status

	// Term, LastContact, AppliedIndex and RaftStats are Raft's progress.
	Term() uint64
	LastContact() time.Time
	AppliedIndex() uint64
	RaftStats() map[string]string
	// Snapshot takes a snapshot now (nothing new to snapshot is no error).
	Snapshot() (index, term uint64, err error)

	// Write, WriteInternal and WriteCmd go through the log (leader only);
	// ReadDB is a linearizable read.
	Write(argv [][]byte) *node.Future
	WriteInternal(argv [][]byte) *node.Future
	WriteCmd(cmd fsm.Cmd) *node.Future
	ReadDB(db int, argv [][]byte) *node.Future

	// RelayProof, KnowsRelaySecret and CheckRelayProof authenticate a
	// forwarded connection between members (forward.go).
	RelayProof() string
	KnowsRelaySecret() bool
	CheckRelayProof(proof []byte) bool
}

// Peers is what this node knows of the other members' health and progress
// (replicas.go, wait.go). *rpc.Peers implements it, a nil one included.
type Peers interface {
	// DownAfter is how long a member may go unanswered before it is down.
	DownAfter() time.Duration
	// Peer is what is known of member id; it never calls the member.
	Peer(id string) rpc.Peer
	// Holding counts the other members that have applied index, until want
	// of them have or ctx ends.
	Holding(ctx context.Context, index uint64, want int) int
}

var (
	_ Node  = (*node.Node)(nil)
	_ Peers = (*rpc.Peers)(nil)
)

// noPeers is Config.Peers when none is set: nothing known, nobody holding.
type noPeers struct{}

func (noPeers) DownAfter() time.Duration                 { return 0 }
func (noPeers) Peer(id string) rpc.Peer                  { return rpc.Peer{ID: id} }
func (noPeers) Holding(context.Context, uint64, int) int { return 0 }
