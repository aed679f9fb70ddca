package resp

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/understudy/understudy/fsm"
)

// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
// BZPOPMAX, BZMPOP) run on the leader. A blocked client retries its pop through the log each time an
// applied entry writes one of its keys (the FSM's apply hook wakes it), so
// the pop itself is an ordinary replicated write and every replica agrees on
// who got which element. A blocked client gets an error, not a hang, when the
// node loses leadership or stops.
//
// As in Redis, the clients blocked on a key are served in the order they
// blocked: each key has a queue, a write to the key wakes only the client at
// its head, and a client tries to pop only from the keys it heads. When it
// leaves the queue (served, timed out, or gone) the next client is woken to
// look, so a push of several elements serves as many clients, in order.

type waiter struct {
	ch   chan struct{}
	db   int
	keys []string
}

type blockers struct {
	mu    sync.Mutex
	byKey map[fsm.DBKey][]*waiter // FIFO per key: the head is served first
	// lost is closed (and replaced) each time this node loses leadership.
	lost chan struct{}
	// streams are the clients blocked in XREAD and XREADGROUP (xblocking.go).
	streams *streamBlockers
}

func newBlockers() *blockers {
	return &blockers{byKey: map[fsm.DBKey][]*waiter{}, lost: make(chan struct{}), streams: newStreamBlockers()}
}

// count is the number of clients blocked (INFO blocked_clients).
func (b *blockers) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[*waiter]bool{}
	for _, ws := range b.byKey {
		for _, w := range ws {
			seen[w] = true
		}
	}
	return len(seen)
}

func (b *blockers) register(db int, keys []string) *waiter {
	w := &waiter{ch: make(chan struct{}, 1), db: db, keys: keys}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, k := range keys {
		if slices.Contains(keys[:i], k) {
			continue // BLPOP k k: one place in the queue
		}
		dk := fsm.DBKey{DB: w.db, Key: k}
		b.byKey[dk] = append(b.byKey[dk], w)
	}
	return w
}

// unregister takes w out of its queues and wakes the clients that now head
// them: what w leaves (elements it did not take) is theirs to try.
func (b *blockers) unregister(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range w.keys {
		dk := fsm.DBKey{DB: w.db, Key: k}
		q := b.byKey[dk]
		i := slices.Index(q, w)
		if i < 0 {
			continue
		}
		q = slices.Delete(q, i, i+1)
		if len(q) == 0 {
			delete(b.byKey, dk)
			continue
		}
		b.byKey[dk] = q
		if i == 0 {
			q[0].signal()
		}
	}
}

// heads returns the keys, in w's order, at whose queue w is first.
func (b *blockers) heads(w *waiter) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, k := range w.keys {
		if q := b.byKey[fsm.DBKey{DB: w.db, Key: k}]; len(q) > 0 && q[0] == w && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func (w *waiter) signal() {
	select {
	case w.ch <- struct{}{}:
	default: // already due to look
	}
}

// wake is the FSM apply hook: it runs after every applied entry and wakes
// the first client blocked on each key the entry wrote.
// A database flushed or swapped (fsm.AllKeys) wakes the first client on
// every key of it.
func (b *blockers) wake(_ uint64, keys []fsm.DBKey) {
	b.streams.wake(keys)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.byKey) == 0 {
		return
	}
	for _, k := range keys {
		if k.Key == fsm.AllKeys {
			for dk, q := range b.byKey {
				if dk.DB == k.DB {
					q[0].signal()
				}
			}
			continue
		}
		if q := b.byKey[k]; len(q) > 0 {
			q[0].signal()
		}
	}
}

func (b *blockers) lostCh() chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lost
}

func (b *blockers) leadershipLost() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.lost)
	b.lost = make(chan struct{})
}

// parseTimeout reads a blocking timeout in seconds (fractions allowed).
func parseTimeout(b []byte) (time.Duration, fsm.Value, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(string(b), " \t") {
		return 0, fsm.Err("ERR timeout is not a float or out of range"), false
	}
	if f < 0 {
		return 0, fsm.Err("ERR timeout is negative"), false
	}
	return time.Duration(f * float64(time.Second)), fsm.Value{}, true
}

// blockPlan is a blocking command's own part: the keys to watch, the write
// that pops from the ones a client heads (see blockers), and the reply on
// timeout (Redis answers a null array to every blocker that times out), or
// the error its arguments earn before Redis looks at the timeout. argv is
// the client's, already copied.
type blockPlan func(argv [][]byte) (attempt func(heads []string) [][]byte, keys []string, errv fsm.Value)

// planFirst is BLPOP, BRPOP (op understudy.bpop, side LEFT or RIGHT),
// BZPOPMIN and BZPOPMAX (understudy.bzpop, MIN or MAX): pop one element
// from the first non-empty key.
func planFirst(op, side string) blockPlan {
	return func(argv [][]byte) (func([]string) [][]byte, []string, fsm.Value) {
		keys := stringsOf(argv[1 : len(argv)-1])
		attempt := func(heads []string) [][]byte {
			return append([][]byte{[]byte(op), []byte(side)}, bytesOf(heads)...)
		}
		return attempt, keys, fsm.Value{}
	}
}

// planMove is BLMOVE (wherefrom, whereto given) and BRPOPLPUSH (RIGHT LEFT):
// an LMOVE.
func planMove(argv [][]byte) (func([]string) [][]byte, []string, fsm.Value) {
	from, to := []byte("RIGHT"), []byte("LEFT")
	if len(argv) == 6 {
		from, to = argv[3], argv[4]
	}
	attempt := func([]string) [][]byte { return [][]byte{[]byte("LMOVE"), argv[1], argv[2], from, to} }
	return attempt, []string{string(argv[1])}, fsm.Value{}
}

// planMPop is BLMPOP (op LMPOP) and BZMPOP (ZMPOP, zset): the non-blocking
// command over the keys the client heads, its arguments checked first.
func planMPop(op string, zset bool) blockPlan {
	return func(argv [][]byte) (func([]string) [][]byte, []string, fsm.Value) {
		keys, first, count, errv := fsm.MPopArgs(argv, 2, zset)
		if errv.Kind == fsm.KindError {
			return nil, nil, errv
		}
		side := map[[2]bool]string{{false, true}: "LEFT", {false, false}: "RIGHT", {true, true}: "MIN", {true, false}: "MAX"}[[2]bool{zset, first}]
		attempt := func(heads []string) [][]byte {
			out := append([][]byte{[]byte(op), []byte(strconv.Itoa(len(heads)))}, bytesOf(heads)...)
			return append(out, []byte(side), []byte("COUNT"), []byte(strconv.FormatInt(count, 10)))
		}
		return attempt, stringsOf(keys), fsm.Value{}
	}
}

func stringsOf(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// timeoutArg is where a blocking command's timeout is: first (BLMPOP,
// BZMPOP) or last.
func timeoutArg(cmd *command, argv [][]byte) []byte {
	if cmd.timeoutFirst {
		return argv[1]
	}
	return argv[len(argv)-1]
}

// blockingPlan checks a blocking command's arguments and timeout, in
// Redis's order, and makes its plan.
func blockingPlan(cmd *command, argv [][]byte) (attempt func(heads []string) [][]byte, keys []string, timeout time.Duration, errv fsm.Value) {
	attempt, keys, errv = cmd.plan(cloneArgs(argv))
	if errv.Kind == fsm.KindError {
		return nil, nil, 0, errv
	}
	timeout, errv, ok := parseTimeout(timeoutArg(cmd, argv))
	if !ok {
		return nil, nil, 0, errv
	}
	return attempt, keys, timeout, fsm.Value{}
}

// unblockedReply answers a blocked command ended by CLIENT UNBLOCK: as if it
// timed out, or (ERROR) with Redis's UNBLOCKED error.
func unblockedReply(withErr bool) fsm.Value {
	if withErr {
		return fsm.Err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
	}
	return fsm.NullArray
}

// block runs a blocking command on the leader, in the reader goroutine: like
// Redis, a blocked connection reads nothing more until it is served.
func (c *conn) block(cmd *command, argv [][]byte) fsm.Value {
	if cmd.data != nil {
		return c.blockStream(argv) // XREAD or XREADGROUP with BLOCK
	}
	attempt, keys, timeout, errv := blockingPlan(cmd, argv)
	if errv.Kind == fsm.KindError {
		return errv
	}
	s := c.srv
	if pop, level := fsm.Lookup(attempt(nil)[0]), s.node.FSM().Level(); pop.Since() > level {
		return fsm.ErrLevel(cmd.Name, pop.Since(), level)
	}
	b := s.blockers
	w := b.register(c.db, keys)
	c.blocked.Store(true)
	defer func() {
		c.blocked.Store(false)
		b.unregister(w)
	}()
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		lost := b.lostCh()
		if !s.node.IsLeader() {
			return fsm.Err(replyNotLeader)
		}
		// Only the keys this client heads: a client blocked earlier on
		// another key is served first there.
		if heads := b.heads(w); len(heads) > 0 {
			f := s.node.WriteCmd(fsm.Cmd{Op: fsm.OpClient, DB: c.db, Argv: attempt(heads)})
			<-f.Done()
			v, err := f.Result()
			if err != nil {
				return s.errorReply(err, true)
			}
			if v.Kind != fsm.KindNullArray && v.Kind != fsm.KindNull {
				c.lastWrite = &slot{fut: f, write: true} // WAIT asks about the pop
				return v
			}
		}
		select {
		case <-w.ch:
		case <-expire:
			return fsm.NullArray
		case withErr := <-c.unblock:
			return unblockedReply(withErr)
		case <-lost:
			return fsm.Err("UNBLOCKED leadership lost while blocked; nothing was popped, retry on the new leader")
		case <-s.shutdown:
			return fsm.Err(replyShutdown)
		}
	}
}
