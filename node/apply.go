package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// Future is the pending outcome of one command.
type Future struct {
	done  chan struct{}
	val   fsm.Value
	err   error
	write bool
	index uint64 // log index of the entry that carried a write
}

func newFuture(write bool) *Future { return &Future{done: make(chan struct{}), write: write} }

func failed(write bool, err error) *Future {
	f := newFuture(write)
	f.complete(fsm.Value{}, err)
	return f
}

func (f *Future) complete(v fsm.Value, err error) {
	f.val, f.err = v, err
	close(f.done)
}

// Index is the log index of the entry that carried a completed write (0 for
// reads and failures). Call it only after Done is closed.
func (f *Future) Index() uint64 { return f.index }

// Done is closed once the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result returns the outcome; call it only after Done is closed.
func (f *Future) Result() (fsm.Value, error) { return f.val, f.err }

// Wait blocks for the outcome. If ctx ends first, a write's outcome is
// unknown (it may still commit), so that is what it reports.
func (f *Future) Wait(ctx context.Context) (fsm.Value, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		if f.write {
			return fsm.Value{}, uncertain(ctx.Err())
		}
		return fsm.Value{}, ctx.Err()
	}
}

type writeReq struct {
	enc []byte // the command, encoded (fsm.AppendCmd): argv is copied at once
	fut *Future
}

// Write proposes a client command through the log. argv is copied before
// Write returns. The future completes once the entry holding it is committed
// by a majority and applied here, with the command's reply.
func (n *Node) Write(argv [][]byte) *Future {
	return n.write(fsm.Cmd{Op: fsm.OpClient, Argv: argv})
}

// WriteInternal proposes a node-internal command (expiry, metadata).
func (n *Node) WriteInternal(argv [][]byte) *Future {
	return n.write(fsm.Cmd{Op: fsm.OpInternal, Argv: argv})
}

func (n *Node) write(cmd fsm.Cmd) *Future {
	if n.closed.Load() {
		return failed(true, ErrShutdown)
	}
	if n.raft.State() != raft.Leader {
		return failed(true, n.notLeader())
	}
	r := &writeReq{enc: fsm.AppendCmd(nil, cmd), fut: newFuture(true)}
	select {
	case n.writes <- r:
	case <-n.stop:
		r.fut.complete(fsm.Value{}, ErrShutdown)
	}
	return r.fut
}

func (n *Node) notLeader() error {
	if _, ok := n.Leader(); ok {
		return ErrNotLeader
	}
	return ErrNoLeader
}

// runBatcher is the only caller of raft.Apply. Writes queued by all
// connections while earlier entries commit go out together in one entry, so
// throughput grows with load instead of paying one commit per command. At most
// MaxInflight entries are outstanding at once; the group policy (group.go)
// decides whether a short wait would let a round's writes travel together.
func (n *Node) runBatcher() {
	defer n.wg.Done()
	var pending []*writeReq
	inflight := 0
	done := make(chan time.Duration, n.cfg.MaxInflight)
	var buf []byte
	g := newGrouper(n.cfg.GroupWait)
	defer g.timer.Stop()
	for {
		if len(pending) == 0 || inflight >= n.cfg.MaxInflight || g.waiting {
			select {
			case <-n.stop:
				for _, r := range pending {
					r.fut.complete(fsm.Value{}, ErrShutdown)
				}
				// Proposed entries resolve through Raft's shutdown.
				for ; inflight > 0; inflight-- {
					<-done
				}
				return
			case r := <-n.writes:
				pending = n.enqueue(pending, r)
			case d := <-done:
				inflight--
				g.committed(d)
			case <-g.timer.C:
				g.expired()
			}
		}
	drain:
		for {
			select {
			case r := <-n.writes:
				pending = n.enqueue(pending, r)
			case d := <-done:
				inflight--
				g.committed(d)
			default:
				break drain
			}
		}
		if inflight >= n.cfg.MaxInflight || len(pending) == 0 || g.wait(len(pending)) {
			continue
		}
		for inflight < n.cfg.MaxInflight && len(pending) > 0 {
			size, k := 0, 0
			for k < len(pending) && (k == 0 || size+len(pending[k].enc) <= n.cfg.MaxBatchBytes) {
				size += len(pending[k].enc)
				k++
			}
			batch := pending[:k:k]
			pending = pending[k:]
			if len(pending) == 0 {
				pending = nil
			}
			var ok bool
			buf, ok = n.propose(buf[:0], batch, done)
			if ok {
				inflight++
				g.proposed(len(batch))
			}
		}
	}
}

func (n *Node) enqueue(pending []*writeReq, r *writeReq) []*writeReq {
	if len(pending) >= n.cfg.MaxQueue {
		r.fut.complete(fsm.Value{}, ErrQueueFull)
		return pending
	}
	return append(pending, r)
}

// propose builds one entry from batch and hands it to Raft; a goroutine waits
// for the commit and completes every future in the batch.
func (n *Node) propose(buf []byte, batch []*writeReq, done chan<- time.Duration) ([]byte, bool) {
	if n.raft.State() != raft.Leader {
		err := n.notLeader()
		for _, r := range batch {
			r.fut.complete(fsm.Value{}, err)
		}
		return buf, false
	}
	ts := n.clock.now(n.fsm.Clock())
	buf = fsm.AppendHeader(buf, fsm.EntryBatch, ts, rand.Uint64(), len(batch))
	for _, r := range batch {
		buf = append(buf, r.enc...)
	}
	buf = fsm.SealEntry(buf, 0)
	// Raft keeps the slice: it must not share memory with the next entry.
	data := append([]byte(nil), buf...)
	start := time.Now()
	af := n.raft.Apply(data, 0)
	go func() {
		err := af.Error()
		if obs := n.cfg.Observer; obs != nil && err == nil {
			obs.ObserveApply(len(batch), time.Since(start))
		}
		var res *fsm.Result
		if err == nil {
			res, _ = af.Response().(*fsm.Result)
			if res == nil || len(res.Replies) != len(batch) {
				err = errors.New("internal error: apply returned no result")
			}
		}
		err = mapApplyError(err)
		for i, r := range batch {
			if err != nil {
				r.fut.complete(fsm.Value{}, err)
			} else {
				r.fut.index = af.Index()
				r.fut.complete(res.Replies[i], nil)
			}
		}
		done <- time.Since(start)
	}()
	return buf, true
}

// mapApplyError separates "never proposed" from "proposed, fate unknown".
func mapApplyError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return ErrNotLeader
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return ErrQueueFull
	default:
		// ErrLeadershipLost, ErrRaftShutdown, ErrAbortedByRestore and anything
		// unforeseen: the entry may be in some log and may yet commit.
		return uncertain(err)
	}
}
