package resp

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/understudy/understudy/fsm"
)

// Blocking XREAD and XREADGROUP (BLOCK ms) run on the leader, woken by
// applied writes like the list pops (blocking.go), whose shutdown and
// leadership signals they share. What differs is who may be served:
//
//   - XREAD readers do not compete: every reader blocked on a key looks
//     again when a write touches it, each beyond its own IDs ("$" is
//     resolved, with XREAD's first try, in one read of the state).
//   - XREADGROUP readers of the same group compete for its new entries,
//     which any consumer of the group may take; so, as in Redis, they are
//     served in the order they blocked: each (key, group) has a queue, a
//     write wakes only its head, and the head's retry is a write through
//     the log (fsm.XReadGroupServeCommand), so every replica agrees on who
//     got which entry. When a client leaves a queue, the next one looks.
//
// A woken client looks only at the keys signalled since it last looked (as
// Redis serves a blocked client from the key that became ready), first
// come first looked.

// streamWaiter is one client blocked in XREAD or XREADGROUP.
type streamWaiter struct {
	ch    chan struct{}
	db    int
	group string // "" for XREAD
	keys  []string
	// pending lists the keys signalled since the client last looked
	// (guarded by streamBlockers.mu).
	pending []string
}

type groupQueue struct {
	key   fsm.DBKey
	group string
}

type streamBlockers struct {
	mu      sync.Mutex
	readers map[fsm.DBKey][]*streamWaiter  // XREAD
	queues  map[groupQueue][]*streamWaiter // XREADGROUP, FIFO: the head looks
	groups  map[fsm.DBKey][]string         // the groups with a queue on a key
}

func newStreamBlockers() *streamBlockers {
	return &streamBlockers{readers: map[fsm.DBKey][]*streamWaiter{},
		queues: map[groupQueue][]*streamWaiter{}, groups: map[fsm.DBKey][]string{}}
}

func (w *streamWaiter) signal(key string) {
	if !slices.Contains(w.pending, key) {
		w.pending = append(w.pending, key)
	}
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (b *streamBlockers) register(db int, keys []string, group string) *streamWaiter {
	w := &streamWaiter{ch: make(chan struct{}, 1), db: db, group: group}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		if slices.Contains(w.keys, k) {
			continue
		}
		w.keys = append(w.keys, k)
		dk := fsm.DBKey{DB: db, Key: k}
		if group == "" {
			b.readers[dk] = append(b.readers[dk], w)
			continue
		}
		q := groupQueue{dk, group}
		if len(b.queues[q]) == 0 {
			b.groups[dk] = append(b.groups[dk], group)
		}
		b.queues[q] = append(b.queues[q], w)
	}
	return w
}

// unregister takes w out; the client that now heads a queue w headed looks
// at that key (what w did not take may be its).
func (b *streamBlockers) unregister(w *streamWaiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range w.keys {
		dk := fsm.DBKey{DB: w.db, Key: k}
		if w.group == "" {
			rs := slices.DeleteFunc(b.readers[dk], func(x *streamWaiter) bool { return x == w })
			if len(rs) == 0 {
				delete(b.readers, dk)
			} else {
				b.readers[dk] = rs
			}
			continue
		}
		q := groupQueue{dk, w.group}
		ws := b.queues[q]
		i := slices.Index(ws, w)
		if i < 0 {
			continue
		}
		ws = slices.Delete(ws, i, i+1)
		if len(ws) > 0 {
			b.queues[q] = ws
			if i == 0 {
				ws[0].signal(k)
			}
			continue
		}
		delete(b.queues, q)
		gs := slices.DeleteFunc(b.groups[dk], func(g string) bool { return g == w.group })
		if len(gs) == 0 {
			delete(b.groups, dk)
		} else {
			b.groups[dk] = gs
		}
	}
}

// take returns the signalled keys w may look at now (for a group reader,
// those whose queue it heads) and forgets them.
func (b *streamBlockers) take(w *streamWaiter) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out, keep []string
	for _, k := range w.pending {
		if w.group != "" {
			if q := b.queues[groupQueue{fsm.DBKey{DB: w.db, Key: k}, w.group}]; len(q) == 0 || q[0] != w {
				continue // its turn comes when it heads the queue
			}
		}
		out = append(out, k)
	}
	w.pending = keep
	return out
}

// wake is called from the apply hook with the keys an entry wrote.
func (b *streamBlockers) wake(keys []fsm.DBKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.readers) == 0 && len(b.queues) == 0 {
		return
	}
	touch := func(dk fsm.DBKey) {
		for _, w := range b.readers[dk] {
			w.signal(dk.Key)
		}
		for _, g := range b.groups[dk] {
			if q := b.queues[groupQueue{dk, g}]; len(q) > 0 {
				q[0].signal(dk.Key)
			}
		}
	}
	for _, k := range keys {
		if k.Key != fsm.AllKeys {
			touch(k)
			continue
		}
		for dk := range b.readers {
			if dk.DB == k.DB {
				touch(dk)
			}
		}
		for dk := range b.groups {
			if dk.DB == k.DB {
				touch(dk)
			}
		}
	}
}

// xreadBlocks reports whether argv is an XREAD or XREADGROUP with BLOCK,
// and its timeout (0: none). A command that does not parse does not block:
// the state machine answers its error.
func xreadBlocks(argv [][]byte) (time.Duration, bool) {
	x, errv := fsm.ParseXRead(argv)
	if errv.Kind == fsm.KindError || !x.Block {
		return 0, false
	}
	if x.Timeout > math.MaxInt64/int64(time.Millisecond) {
		return 0, true // longer than any wait: as good as forever
	}
	return time.Duration(x.Timeout) * time.Millisecond, true
}

const replyStreamLeadershipLost = "UNBLOCKED leadership lost while blocked; nothing was read, retry on the new leader"

// blockStream runs a blocking XREAD or XREADGROUP on the leader, in the
// reader goroutine (like Redis, a blocked connection reads nothing more).
func (c *conn) blockStream(argv [][]byte) fsm.Value {
	argv = cloneArgs(argv)
	x, errv := fsm.ParseXRead(argv)
	if errv.Kind == fsm.KindError {
		return errv
	}
	s := c.srv
	b := s.blockers.streams
	keys := make([]string, len(x.Keys))
	for i, k := range x.Keys {
		keys[i] = string(k)
	}
	// Registered before the first look, so a write applied between the look
	// and the wait still signals; shown blocked (CLIENT LIST flags=b) only
	// after it, as in Redis, where a client seen blocked has resolved "$"
	// and a later write is one it will be served.
	w := b.register(c.db, keys, string(x.Group))
	defer func() {
		c.blocked.Store(false)
		b.unregister(w)
	}()
	var expire <-chan time.Time
	if timeout, _ := xreadBlocks(argv); timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	lost := s.blockers.lostCh()
	if !s.node.IsLeader() {
		return fsm.Err(replyNotLeader)
	}
	// The first try: XREADGROUP itself through the log; XREAD's reply, or
	// the IDs it waits beyond, from one linearizable read.
	var waitIDs map[string][]byte
	if x.Group != nil {
		if v, done := c.xreadGroupTry(argv); done {
			return v
		}
	} else {
		f := s.node.ReadDB(c.db, append([][]byte{[]byte(fsm.XReadResolveCommand)}, argv[1:]...))
		<-f.Done()
		v, err := f.Result()
		if err != nil {
			return s.errorReply(err, false)
		}
		if v.Kind != fsm.KindArray || len(v.Arr) != len(keys) {
			return v // entries, or an error
		}
		waitIDs = map[string][]byte{}
		for i, k := range keys {
			if _, seen := waitIDs[k]; !seen {
				waitIDs[k] = v.Arr[i].Str
			}
		}
	}
	c.blocked.Store(true)
	for {
		select {
		case <-w.ch:
		case <-expire:
			return fsm.NullArray
		case withErr := <-c.unblock:
			return unblockedReply(withErr)
		case <-lost:
			return fsm.Err(replyStreamLeadershipLost)
		case <-s.shutdown:
			return fsm.Err(replyShutdown)
		}
		if !s.node.IsLeader() {
			return fsm.Err(replyStreamLeadershipLost)
		}
		look := b.take(w)
		if len(look) == 0 {
			continue
		}
		var lookKeys [][]byte
		for _, k := range look {
			lookKeys = append(lookKeys, []byte(k))
		}
		if x.Group != nil {
			if v, done := c.xreadGroupTry(fsm.XReadGroupServeArgs(&x, lookKeys)); done {
				return v
			}
			continue
		}
		ids := make([][]byte, len(lookKeys))
		for i, k := range look {
			ids[i] = waitIDs[k]
		}
		// Applied entries are committed: the leader's own state serves.
		now := time.Now()
		v := s.node.FSM().Read(c.db, now.UnixMilli(), uint64(now.UnixNano()), fsm.XReadServeArgs(x.BlockCount(), lookKeys, ids))
		if v.Kind != fsm.KindNullArray {
			return v
		}
	}
}

// xreadGroupTry proposes an XREADGROUP (or its retry); done is false when
// it found nothing new and the client keeps waiting.
func (c *conn) xreadGroupTry(argv [][]byte) (fsm.Value, bool) {
	f := c.srv.node.WriteCmd(fsm.Cmd{Op: fsm.OpClient, DB: c.db, Argv: argv})
	<-f.Done()
	v, err := f.Result()
	if err != nil {
		return c.srv.errorReply(err, true), true
	}
	c.lastWrite = &slot{fut: f, write: true} // WAIT asks about it
	return v, v.Kind != fsm.KindNullArray
}

// blockTimeout is how long a blocking command may hold its reply (0: no
// limit): what a follower's relay must allow for.
func blockTimeout(cmd *command, argv [][]byte) time.Duration {
	if cmd.xread {
		d, _ := xreadBlocks(argv)
		return d
	}
	d, _, _ := parseTimeout(timeoutArg(cmd, argv))
	return d
}
