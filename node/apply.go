package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
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

// Resolved is a future already complete with v or err; index > 0 marks a
// write carried by the log entry at index. It lets another implementation
// of what a layer needs of the node (resp.Node, in tests) answer in kind.
func Resolved(index uint64, v fsm.Value, err error) *Future {
	f := newFuture(index > 0)
	f.index = index
	f.complete(v, err)
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

// A batch is the log entry being gathered: commands are encoded straight
// into it as writes arrive (after room for the entry's header, which is
// written once the batch is closed), so a write's arguments are copied once,
// into the very bytes Raft will store.
type batch struct {
	buf  []byte // entryHeaderRoom bytes for the header, then the commands
	futs []*Future
}

// entryHeaderRoom is the most an entry header takes (fsm.AppendHeader):
// version and type bytes, the clock, the seed, and the command count as a
// uvarint.
const entryHeaderRoom = 2 + 8 + 8 + binary.MaxVarintLen64

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

// WriteCmd proposes one command as given: a client command in a database
// other than 0 (which needs cluster level 2), or an internal one.
func (n *Node) WriteCmd(cmd fsm.Cmd) *Future { return n.write(cmd) }

func (n *Node) write(cmd fsm.Cmd) *Future {
	if n.closed.Load() {
		return failed(true, ErrShutdown)
	}
	if n.raft.State() != raft.Leader {
		return failed(true, n.notLeader())
	}
	size := fsm.EncodedSize(&fsm.Entry{Cmds: []fsm.Cmd{cmd}})
	if size > n.cfg.MaxEntryBytes {
		// A log entry this large holds up replication and the log's
		// fsyncs long enough to cost heartbeats; the WAL cannot store it
		// at all past 64 MiB.
		return failed(true, fmt.Errorf("%w: %d bytes encoded, over the limit of %d (--max-entry-bytes)", ErrEntryTooLarge, size, n.cfg.MaxEntryBytes))
	}
	f := newFuture(true)
	q := &n.queue
	q.mu.Lock()
	if q.closed || q.writes >= n.cfg.MaxQueue {
		err := ErrQueueFull
		if q.closed {
			err = ErrShutdown
		}
		q.mu.Unlock()
		f.complete(fsm.Value{}, err)
		return f
	}
	b := q.open
	if b != nil && len(b.futs) > 0 && len(b.buf)+size > entryHeaderRoom+n.cfg.MaxBatchBytes {
		q.full = append(q.full, b) // this one goes out as it is
		b = nil
	}
	if b == nil {
		b = &batch{buf: make([]byte, entryHeaderRoom, entryHeaderRoom+max(size, q.lastBytes+q.lastBytes/4)+entryTrailer)}
		q.open = b
	}
	b.buf = fsm.AppendCmd(b.buf, cmd)
	b.futs = append(b.futs, f)
	q.writes++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // the batcher is already awake
	}
	return f
}

// entryTrailer is the checksum fsm.SealEntry appends.
const entryTrailer = 4

// writeQueue is where writes wait for the batcher: the open batch, and
// batches closed because the next write would not fit.
type writeQueue struct {
	mu        sync.Mutex
	open      *batch
	full      []*batch
	writes    int  // writes in open and full
	lastBytes int  // size of the last batch taken, to size the next
	closed    bool // the batcher has stopped: writes fail at once
	wake      chan struct{}
}

// take removes every waiting batch, oldest first.
func (q *writeQueue) take(out []*batch) []*batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	out = append(out, q.full...)
	clear(q.full)
	q.full = q.full[:0]
	if q.open != nil {
		q.lastBytes = len(q.open.buf)
		out = append(out, q.open)
		q.open = nil
	}
	q.writes = 0
	return out
}

// waiting is how many writes wait.
func (q *writeQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.writes
}

func (n *Node) notLeader() error {
	if _, ok := n.Leader(); ok {
		return ErrNotLeader
	}
	return ErrNoLeader
}

// inflightEntry is a proposed entry whose commit the completer waits for.
type inflightEntry struct {
	af    raft.ApplyFuture
	b     *batch
	start time.Time
}

// runBatcher is the only caller of raft.Apply. Writes queued by all
// connections while earlier entries commit go out together in one entry, so
// throughput grows with load instead of paying one commit per command. At most
// MaxInflight entries are outstanding at once; the group policy (group.go)
// decides whether a short wait would let a round's writes travel together.
// One completer goroutine waits for the entries in the order they were
// proposed (the order they commit in) and answers their writes.
func (n *Node) runBatcher() {
	defer n.wg.Done()
	q := &n.queue
	var pending []*batch
	inflight := 0
	done := make(chan time.Duration, n.cfg.MaxInflight)
	proposed := make(chan inflightEntry, n.cfg.MaxInflight)
	go n.complete(proposed, done)
	g := newGrouper(n.cfg.GroupWait)
	defer g.timer.Stop()
	count := func() int {
		c := q.waiting()
		for _, b := range pending {
			c += len(b.futs)
		}
		return c
	}
	for {
		if inflight >= n.cfg.MaxInflight || g.waiting || count() == 0 {
			wake := q.wake
			if inflight >= n.cfg.MaxInflight {
				wake = nil // nothing can be proposed before a commit
			}
			select {
			case <-n.stop:
				q.mu.Lock()
				q.closed = true
				q.mu.Unlock()
				for _, b := range q.take(pending) {
					for _, f := range b.futs {
						f.complete(fsm.Value{}, ErrShutdown)
					}
				}
				// Proposed entries resolve through Raft's shutdown.
				close(proposed)
				for ; inflight > 0; inflight-- {
					<-done
				}
				return
			case <-wake:
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
			case d := <-done:
				inflight--
				g.committed(d)
			default:
				break drain
			}
		}
		if inflight >= n.cfg.MaxInflight || g.wait(count()) {
			continue
		}
		pending = q.take(pending)
		for inflight < n.cfg.MaxInflight && len(pending) > 0 {
			b := pending[0]
			pending[0] = nil
			pending = pending[1:]
			if n.propose(b, proposed) {
				inflight++
				g.proposed(len(b.futs))
			}
		}
		if len(pending) == 0 {
			pending = pending[:0:0]
		}
	}
}

// propose seals b into a log entry and hands it to Raft.
func (n *Node) propose(b *batch, proposed chan<- inflightEntry) bool {
	if n.raft.State() != raft.Leader {
		err := n.notLeader()
		for _, f := range b.futs {
			f.complete(fsm.Value{}, err)
		}
		return false
	}
	ts := n.clock.now(n.fsm.Clock())
	var hdr [entryHeaderRoom]byte
	h := fsm.AppendHeader(hdr[:0], fsm.EntryVersionFor(n.fsm.Level()), fsm.EntryBatch, ts, rand.Uint64(), len(b.futs))
	off := entryHeaderRoom - len(h)
	copy(b.buf[off:], h)
	// Raft keeps the slice: b's buffer is never written again.
	data := fsm.SealEntry(b.buf, off)[off:]
	start := time.Now()
	proposed <- inflightEntry{af: n.raft.Apply(data, 0), b: b, start: start}
	return true
}

// complete waits for each proposed entry, in order, and answers its writes.
func (n *Node) complete(proposed <-chan inflightEntry, done chan<- time.Duration) {
	for e := range proposed {
		err := e.af.Error()
		if obs := n.cfg.Observer; obs != nil && err == nil {
			obs.ObserveApply(len(e.b.futs), time.Since(e.start))
		}
		var res *fsm.Result
		if err == nil {
			res, _ = e.af.Response().(*fsm.Result)
			if res == nil || len(res.Replies) != len(e.b.futs) {
				err = errors.New("internal error: apply returned no result")
			}
		}
		err = mapApplyError(err)
		for i, f := range e.b.futs {
			if err != nil {
				f.complete(fsm.Value{}, err)
			} else {
				f.index = e.af.Index()
				f.complete(res.Replies[i], nil)
			}
		}
		done <- time.Since(e.start)
	}
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
