package node

import (
	"math/rand/v2"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

type readReq struct {
	db   int
	argv [][]byte
	fut  *Future
}

// Read runs a read-only command linearizably: on the leader, after a
// leadership check that started after the read arrived, against the state as
// it stands after that check. Read keeps argv until the future completes.
func (n *Node) Read(argv [][]byte) *Future { return n.ReadDB(0, argv) }

// ReadDB is Read in database db.
func (n *Node) ReadDB(db int, argv [][]byte) *Future {
	if n.closed.Load() {
		return failed(false, ErrShutdown)
	}
	if !n.ReadReady() {
		return failed(false, n.notReady())
	}
	r := &readReq{db: db, argv: argv, fut: newFuture(false)}
	select {
	case n.reads <- r:
	case <-n.stop:
		r.fut.complete(fsm.Value{}, ErrShutdown)
	}
	return r.fut
}

func (n *Node) notReady() error {
	if n.raft.State() == raft.Leader {
		return ErrNotReady
	}
	return n.notLeader()
}

// runReader batches reads: every read queued while one VerifyLeader round is
// in flight shares the next round, so a thousand concurrent GETs cost one
// heartbeat exchange rather than a thousand.
func (n *Node) runReader() {
	defer n.wg.Done()
	var batch []*readReq
	for {
		select {
		case <-n.stop:
			return
		case r := <-n.reads:
			batch = append(batch[:0], r)
		}
	drain:
		for {
			select {
			case r := <-n.reads:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		n.readRounds.Add(1)
		err := n.raft.VerifyLeader().Error()
		if err == nil && !n.ReadReady() {
			err = ErrNotReady
		}
		if err != nil {
			if err != ErrNotReady {
				err = n.notReady()
			}
			for _, r := range batch {
				r.fut.complete(fsm.Value{}, err)
			}
			continue
		}
		now := n.clock.now(n.fsm.Clock())
		seed := rand.Uint64()
		for i, r := range batch {
			r.fut.complete(n.fsm.Read(r.db, now, seed+uint64(i), r.argv), nil)
		}
		clear(batch)
	}
}

// ReadRounds reports how many leadership confirmations (VerifyLeader rounds)
// this node has made for reads; fewer rounds than reads means reads shared
// them.
func (n *Node) ReadRounds() uint64 { return n.readRounds.Load() }
