package resp

import (
	"strconv"
	"sync"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// READONLY reads on a follower (as in Redis Cluster) come from the
// follower's own state, which may lag the leader. They still never overtake
// the connection's own writes: a forwarded write on a READONLY connection is
// followed, on the relay, by UNDERSTUDY.LASTINDEX, which the leader answers
// with the log index of that write; a later READONLY read waits until this
// node has applied that index (or, if it cannot within readYourWritesWait,
// goes to the leader instead). Reads with no write of their own before them
// are served at once.

// lastIndexCommand is the relay's question: the log index of this
// connection's latest write (a relay only; to a client it does not exist).
const lastIndexCommand = "understudy.lastindex"

// readYourWritesWait bounds how long a READONLY read waits for this node
// to apply the connection's own last write before asking the leader.
const readYourWritesWait = time.Second

var lastIndexSpec = &cmdtab.Spec{Name: lastIndexCommand, Arity: 1, Flags: cmdtab.Fast | cmdtab.SkipSlowlog}

// cmdLastIndex answers UNDERSTUDY.LASTINDEX on the leader, after the
// connection's last write has completed.
func cmdLastIndex(c *conn, argv [][]byte) fsm.Value {
	if !c.forwarded.Load() {
		return fsm.ErrUnknownCommand(argv)
	}
	w := c.lastWrite
	if w == nil || w.fut == nil {
		return fsm.Zero
	}
	c.flushUpstream()
	<-w.fut.Done()
	return fsm.Int(int64(w.fut.Index()))
}

// askWriteIndex follows a forwarded write of a READONLY connection with
// UNDERSTUDY.LASTINDEX on the same relay.
func (c *conn) askWriteIndex() {
	if c.up == nil {
		return
	}
	sl := &slot{done: make(chan struct{})}
	c.up.send([][]byte{[]byte(lastIndexCommand)}, sl)
	c.ownWrite = sl
}

// ownWriteApplied waits until this node has applied the connection's last
// forwarded write; false if it cannot know or it does not happen in time.
func (c *conn) ownWriteApplied() bool {
	sl := c.ownWrite
	if sl == nil {
		return true
	}
	c.flushUpstream()
	select {
	case <-sl.done:
	case <-time.After(readYourWritesWait):
		return false
	}
	if sl.err != nil || len(sl.raw) < 3 || sl.raw[0] != ':' {
		return false
	}
	idx, err := strconv.ParseUint(string(sl.raw[1:len(sl.raw)-2]), 10, 64)
	if err != nil {
		return false
	}
	if !c.srv.applied.wait(idx, readYourWritesWait) {
		return false
	}
	c.ownWrite = nil
	return true
}

// appliedWatch lets goroutines wait for the node to apply an index: the
// FSM's apply hook reports every index.
type appliedWatch struct {
	mu      sync.Mutex
	index   uint64
	waiters map[chan struct{}]uint64
}

func (a *appliedWatch) advance(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index <= a.index {
		return
	}
	a.index = index
	for ch, want := range a.waiters {
		if want <= index {
			close(ch)
			delete(a.waiters, ch)
		}
	}
}

// wait reports whether index is applied within d.
func (a *appliedWatch) wait(index uint64, d time.Duration) bool {
	a.mu.Lock()
	if a.index >= index {
		a.mu.Unlock()
		return true
	}
	if a.waiters == nil {
		a.waiters = map[chan struct{}]uint64{}
	}
	ch := make(chan struct{})
	a.waiters[ch] = index
	a.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		a.mu.Lock()
		delete(a.waiters, ch)
		a.mu.Unlock()
		return false
	}
}
