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

// Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH) run on the
// leader. A blocked client retries its pop through the log each time an
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
	keys []string
}

type blockers struct {
	mu    sync.Mutex
	byKey map[string][]*waiter // FIFO per key: the head is served first
	// lost is closed (and replaced) each time this node loses leadership.
	lost chan struct{}
}

func newBlockers() *blockers {
	return &blockers{byKey: map[string][]*waiter{}, lost: make(chan struct{})}
}

func (b *blockers) register(keys []string) *waiter {
	w := &waiter{ch: make(chan struct{}, 1), keys: keys}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, k := range keys {
		if slices.Contains(keys[:i], k) {
			continue // BLPOP k k: one place in the queue
		}
		b.byKey[k] = append(b.byKey[k], w)
	}
	return w
}

// unregister takes w out of its queues and wakes the clients that now head
// them: what w leaves (elements it did not take) is theirs to try.
func (b *blockers) unregister(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range w.keys {
		q := b.byKey[k]
		i := slices.Index(q, w)
		if i < 0 {
			continue
		}
		q = slices.Delete(q, i, i+1)
		if len(q) == 0 {
			delete(b.byKey, k)
			continue
		}
		b.byKey[k] = q
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
		if q := b.byKey[k]; len(q) > 0 && q[0] == w && !slices.Contains(out, k) {
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
func (b *blockers) wake(_ uint64, keys []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.byKey) == 0 {
		return
	}
	for _, k := range keys {
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

// blockingPlan turns a blocking command into the keys to watch, the write
// that pops from some of them (see attemptOn) and the reply on timeout.
func blockingPlan(name string, argv [][]byte) (attempt func(heads []string) [][]byte, keys []string, timeout time.Duration, onTimeout fsm.Value, errv fsm.Value) {
	arity := map[string]int{"blpop": -3, "brpop": -3, "blmove": 6, "brpoplpush": 4}[name]
	if !checkArity(arity, len(argv)) {
		return nil, nil, 0, fsm.Value{}, fsm.ErrArity(name)
	}
	timeout, errv, ok := parseTimeout(argv[len(argv)-1])
	if !ok {
		return nil, nil, 0, fsm.Value{}, errv
	}
	argv = cloneArgs(argv)
	switch name {
	case "blpop", "brpop":
		side := []byte("LEFT")
		if name == "brpop" {
			side = []byte("RIGHT")
		}
		for _, k := range argv[1 : len(argv)-1] {
			keys = append(keys, string(k))
		}
		attempt = func(heads []string) [][]byte {
			out := [][]byte{[]byte(fsm.BPopCommand), side}
			for _, k := range heads {
				out = append(out, []byte(k))
			}
			return out
		}
		return attempt, keys, timeout, fsm.NullArray, fsm.Value{}
	case "blmove":
		attempt = func([]string) [][]byte { return [][]byte{[]byte("LMOVE"), argv[1], argv[2], argv[3], argv[4]} }
	case "brpoplpush":
		attempt = func([]string) [][]byte {
			return [][]byte{[]byte("LMOVE"), argv[1], argv[2], []byte("RIGHT"), []byte("LEFT")}
		}
	}
	// Redis answers a null array to every list blocker that times out.
	return attempt, []string{string(argv[1])}, timeout, fsm.NullArray, fsm.Value{}
}

// block runs a blocking command on the leader, in the reader goroutine: like
// Redis, a blocked connection reads nothing more until it is served.
func (c *conn) block(name string, argv [][]byte) fsm.Value {
	attempt, keys, timeout, onTimeout, errv := blockingPlan(name, argv)
	if errv.Kind == fsm.KindError {
		return errv
	}
	s := c.srv
	b := s.blockers
	w := b.register(keys)
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
			f := s.node.Write(attempt(heads))
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
			return onTimeout
		case <-lost:
			return fsm.Err("UNBLOCKED leadership lost while blocked; nothing was popped, retry on the new leader")
		case <-s.shutdown:
			return fsm.Err(replyShutdown)
		}
	}
}
