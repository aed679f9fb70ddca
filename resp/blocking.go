package resp

import (
	"math"
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

type waiter struct{ ch chan struct{} }

type blockers struct {
	mu    sync.Mutex
	byKey map[string]map[*waiter]struct{}
	// lost is closed (and replaced) each time this node loses leadership.
	lost chan struct{}
}

func newBlockers() *blockers {
	return &blockers{byKey: map[string]map[*waiter]struct{}{}, lost: make(chan struct{})}
}

func (b *blockers) register(keys []string) *waiter {
	w := &waiter{ch: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		set := b.byKey[k]
		if set == nil {
			set = map[*waiter]struct{}{}
			b.byKey[k] = set
		}
		set[w] = struct{}{}
	}
	return w
}

func (b *blockers) unregister(w *waiter, keys []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		if set := b.byKey[k]; set != nil {
			delete(set, w)
			if len(set) == 0 {
				delete(b.byKey, k)
			}
		}
	}
}

// wake is the FSM apply hook: it runs after every applied entry.
func (b *blockers) wake(_ uint64, keys []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.byKey) == 0 {
		return
	}
	for _, k := range keys {
		for w := range b.byKey[k] {
			select {
			case w.ch <- struct{}{}:
			default:
			}
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

// blockingPlan turns a blocking command into the write to retry, the keys
// to watch and the reply on timeout.
func blockingPlan(name string, argv [][]byte) (attempt [][]byte, keys []string, timeout time.Duration, onTimeout fsm.Value, errv fsm.Value) {
	arity := map[string]int{"blpop": -3, "brpop": -3, "blmove": 6, "brpoplpush": 4}[name]
	if !checkArity(arity, len(argv)) {
		return nil, nil, 0, fsm.Value{}, fsm.ErrArity(name)
	}
	timeout, errv, ok := parseTimeout(argv[len(argv)-1])
	if !ok {
		return nil, nil, 0, fsm.Value{}, errv
	}
	switch name {
	case "blpop", "brpop":
		side := "LEFT"
		if name == "brpop" {
			side = "RIGHT"
		}
		attempt = append([][]byte{[]byte(fsm.BPopCommand), []byte(side)}, argv[1:len(argv)-1]...)
		for _, k := range argv[1 : len(argv)-1] {
			keys = append(keys, string(k))
		}
		return cloneArgs(attempt), keys, timeout, fsm.NullArray, fsm.Value{}
	case "blmove":
		attempt = [][]byte{[]byte("LMOVE"), argv[1], argv[2], argv[3], argv[4]}
	case "brpoplpush":
		attempt = [][]byte{[]byte("LMOVE"), argv[1], argv[2], []byte("RIGHT"), []byte("LEFT")}
	}
	// Redis answers a null array to every list blocker that times out.
	return cloneArgs(attempt), []string{string(argv[1])}, timeout, fsm.NullArray, fsm.Value{}
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
	defer b.unregister(w, keys)
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
		f := s.node.Write(attempt)
		<-f.Done()
		v, err := f.Result()
		if err != nil {
			return s.errorReply(err, true)
		}
		if v.Kind != fsm.KindNullArray && v.Kind != fsm.KindNull {
			return v
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
