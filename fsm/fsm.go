// Package fsm is Understudy's replicated state machine: the keyspace, the
// commands that read and change it, the log-entry codec and the snapshot
// format. It is deterministic: time and randomness arrive in the log entry,
// and nothing here reads the wall clock or does I/O beyond the snapshot stream.
package fsm

import (
	"fmt"
	"io"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm/script"
)

// NodeMeta is what the cluster knows about a member beyond its Raft address.
// The leader records its own entry through the log after each election, so
// every node can tell clients where the leader serves.
//
// ClientAddr and AdminAddr are the addresses told to clients and operators
// (MOVED, ROLE, Sentinel, members). PeerClientAddr and PeerAdminAddr are
// where the other nodes reach the member (forwarding, admin calls) when that
// differs, e.g. inside a container network; empty means the same address.
type NodeMeta struct {
	ClientAddr     string
	AdminAddr      string
	PeerClientAddr string
	PeerAdminAddr  string
}

// PeerClient is the client address other nodes dial: PeerClientAddr, or
// ClientAddr when none was recorded.
func (m NodeMeta) PeerClient() string {
	if m.PeerClientAddr != "" {
		return m.PeerClientAddr
	}
	return m.ClientAddr
}

// PeerAdmin is the admin address other nodes dial: PeerAdminAddr, or
// AdminAddr when none was recorded.
func (m NodeMeta) PeerAdmin() string {
	if m.PeerAdminAddr != "" {
		return m.PeerAdminAddr
	}
	return m.AdminAddr
}

// Result is what Apply returns for a batch entry: one reply per command, in order.
type Result struct {
	Replies []Value
}

// FSM implements raft.FSM. Readers take mu for reading; Apply and Restore
// take it for writing, so a read never sees half of a batch or of a restore.
type FSM struct {
	mu sync.RWMutex
	// dbs are the databases by number (db.go); nil until first written.
	dbs []*keyspace
	// empty stands in for a database a read names that does not exist.
	empty   *keyspace
	clock   int64 // the replicated clock: the newest entry time applied, Unix ms
	applied uint64
	meta    map[string]NodeMeta
	// level is the cluster feature level every member has (Level; internal
	// "level" entries raise it, never lower it).
	level Level
	// databases is how many databases clients may use: fixed when the
	// cluster reaches level 2 (before, only database 0 exists).
	databases int
	// gen is the copy-on-write generation of every database (keyspace.gen):
	// bumped by each snapshot.
	gen uint64
	// conf is the replicated configuration (config.go).
	conf conf
	// relay is the relay secret (relay.go).
	relay relaySecret
	// evicted counts keys deleted for maxmemory (evict.go): a statistic,
	// not state.
	evicted atomic.Int64
	// expired counts keys deleted by "expired" entries (a statistic).
	expired atomic.Int64
	// hllCounts remembers PFCOUNT's recent counts (hll.go): node-local,
	// never part of the state.
	hllCounts hllCounts
	// onApply, if set, is told the keys a batch changed, after it is applied.
	// Used by the leader to wake blocked clients; never affects state.
	onApply func(index uint64, keys []DBKey)
	// onPublish receives the messages PUBLISH commands of an entry carried.
	onPublish func([]Message)
	published []Message // filled during one Apply, handed to onPublish
	// scr is the replicated script cache and function libraries
	// (scripting.go).
	scr scripting
	// eng runs scripts (node-local: pooled Lua states); nil if gopher-lua's
	// internals are not what package script needs.
	eng *script.Engine
	// readScripts are compiled bodies of scripts run as reads (node-local).
	readScripts compiled
	scriptHooks atomic.Pointer[ScriptHooks]
	// scrCounts mirror the cache's and libraries' sizes (ScriptCounts).
	scrCounts [3]atomic.Int64
	// onUndecodable, if set, is told of an entry that does not decode; it
	// must not return until the node has stopped (SetUndecodableHook).
	onUndecodable func(l *raft.Log, err error)
}

// New returns an empty state machine.
func New() *FSM {
	eng, _ := script.NewEngine() // nil: every script command says scripting is unavailable
	return &FSM{empty: newKeyspace(), meta: map[string]NodeMeta{}, level: Level1, conf: newConf(),
		scr: newScripting(), eng: eng}
}

// SetApplyHook registers fn to be called, outside the lock, after each
// applied entry, with the keys the entry wrote (created, changed or
// deleted, each once, in the order first written; nil if none). FLUSHDB,
// FLUSHALL and SWAPDB report AllKeys of each database they changed. The
// RESP layer uses it to wake clients blocked on a list.
func (f *FSM) SetApplyHook(fn func(index uint64, keys []DBKey)) {
	f.mu.Lock()
	f.onApply = fn
	f.mu.Unlock()
}

// SetUndecodableHook registers fn, called instead of applying an entry that
// does not decode (a failed checksum: damaged on disk or in transit; or a
// bug). fn stops the node and does not return until it has stopped, so that
// nothing after the entry is applied and no snapshot includes it. Without a
// hook, Apply panics on such an entry.
func (f *FSM) SetUndecodableHook(fn func(l *raft.Log, err error)) {
	f.mu.Lock()
	f.onUndecodable = fn
	f.mu.Unlock()
}

// Apply applies one committed log entry. An entry that does not decode is
// corruption or a bug; it stops the node (SetUndecodableHook) rather than
// letting replicas diverge.
func (f *FSM) Apply(l *raft.Log) interface{} {
	if l.Type != raft.LogCommand {
		return nil
	}
	e, err := DecodeEntry(l.Data)
	if err == nil {
		err = e.checkLevel()
	}
	if err != nil {
		f.mu.RLock()
		undecodable := f.onUndecodable
		f.mu.RUnlock()
		if undecodable == nil {
			panic(fmt.Sprintf("fsm: undecodable log entry at index %d term %d: %v", l.Index, l.Term, err))
		}
		undecodable(l, err)
		return nil
	}
	f.mu.Lock()
	hook := f.onApply
	var touched []DBKey
	var tp *[]DBKey
	if hook != nil {
		tp = &touched
	}
	res := f.applyLocked(l.Index, e, tp)
	f.eachDB(func(ks *keyspace) { ks.touched, ks.f = nil, nil })
	msgs, pub := f.published, f.onPublish
	f.published = nil
	f.mu.Unlock()
	if hook != nil {
		hook(l.Index, dedupe(touched))
	}
	if pub != nil && len(msgs) > 0 {
		pub(msgs)
	}
	return res
}

func (f *FSM) applyLocked(index uint64, e *Entry, touched *[]DBKey) *Result {
	if e.Time > f.clock {
		f.clock = e.Time
	}
	c := &ctx{f: f, now: f.clock, write: true, seed: e.Seed ^ index, index: index, touched: touched}
	res := &Result{Replies: make([]Value, len(e.Cmds))}
	for i, cmd := range e.Cmds {
		c.use(cmd.DB)
		if cmd.Op == OpInternal {
			res.Replies[i] = runInternal(c, cmd.Argv)
		} else {
			res.Replies[i] = run(c, cmd.Argv)
		}
	}
	f.eachDB(func(ks *keyspace) { ks.tombs.prune(f.clock) })
	f.noteScripts()
	f.applied = index
	return res
}

// dedupe drops repeated keys, keeping the first of each.
func dedupe(keys []DBKey) []DBKey {
	if len(keys) < 2 {
		return keys
	}
	seen := make(map[DBKey]bool, len(keys))
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// ApplyEntry applies e as if it were the log entry at index. Tests and tools
// use it to drive the state machine without Raft.
func (f *FSM) ApplyEntry(index uint64, e *Entry) []Value {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applyLocked(index, e, nil).Replies
}

// Read runs a read-only command in database db against the current state.
// now is the caller's clock (Unix ms); the FSM never judges expiry by an
// older clock than the one it has applied. seed drives random choices such
// as RANDOMKEY.
func (f *FSM) Read(db int, now int64, seed uint64, argv [][]byte) Value {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if now < f.clock {
		now = f.clock
	}
	c := &ctx{f: f, now: now, seed: seed}
	c.use(db)
	return run(c, argv)
}

// Databases returns how many databases clients may use: 1 until the cluster
// reaches level 2, then the number fixed then (--databases of the leader
// that raised the level).
func (f *FSM) Databases() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.dbCount()
}

func (f *FSM) dbCount() int {
	if f.level < Level2 || f.databases == 0 {
		return 1
	}
	return f.databases
}

// Level returns the cluster feature level: what every member can apply.
func (f *FSM) Level() Level {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.level
}

// Clock returns the replicated clock: the newest entry time applied.
func (f *FSM) Clock() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.clock
}

// AppliedIndex returns the index of the last entry applied.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied
}

// Meta returns what the cluster recorded about node id.
func (f *FSM) Meta(id string) (NodeMeta, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.meta[id]
	return m, ok
}

// AllMeta returns a copy of every node's metadata.
func (f *FSM) AllMeta() map[string]NodeMeta {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return maps.Clone(f.meta)
}

// Stats is a cheap summary for INFO and status.
type Stats struct {
	Keys    int
	Expires int
	Clock   int64
	Applied uint64
}

// Stats returns key counts (every database) and the replicated clock.
func (f *FSM) Stats() Stats {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := Stats{Clock: f.clock, Applied: f.applied}
	f.eachDB(func(ks *keyspace) {
		st.Keys += ks.len()
		st.Expires += ks.exps.Len()
	})
	return st
}

// ExpiredKeys returns up to max keys that have expired by now, in any
// database. The leader proposes their deletion; replicas never delete on
// their own.
func (f *FSM) ExpiredKeys(now int64, max int) []DBKey {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []DBKey
	f.eachDB(func(ks *keyspace) {
		for _, k := range ks.expiredKeys(now, max-len(out)) {
			out = append(out, DBKey{ks.num, k})
		}
	})
	return out
}

// Snapshot captures the state in O(1): the keyspaces are copy-on-write.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snapshotLocked()
	s.withSecret = true // a raft snapshot: the followers that install it need it
	return s, nil
}

// snapshotLocked is an O(1) copy of the state.
func (f *FSM) snapshotLocked() *snapshot {
	s := &snapshot{clock: f.clock, applied: f.applied, meta: maps.Clone(f.meta), level: f.level, databases: f.databases,
		conf: f.conf.clone(), relay: f.relay, scr: f.scr.clone()}
	f.gen++
	for _, ks := range f.dbs {
		if ks != nil {
			ks = ks.clone(f.gen)
		}
		s.dbs = append(s.dbs, ks)
	}
	return s
}

// Restore replaces all state with the snapshot in r. The new state is built
// aside and swapped in under the lock only once the whole stream checked out.
func (f *FSM) Restore(r io.ReadCloser) error {
	defer r.Close()
	s, err := readSnapshot(r)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	scr, err := f.loadScripts(s)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.dbs, f.clock, f.meta, f.level, f.databases, f.conf = s.dbs, s.clock, s.meta, s.level, s.databases, s.conf
	f.scr = scr
	f.noteScripts()
	// A backup carries no relay secret: the cluster keeps its own (and the
	// leader rotates it after a restore, for members that never had it).
	if s.relay.cur != "" {
		f.relay = s.relay
	}
	f.gen = 0 // what readSnapshot made its collections with
	if s.applied > f.applied {
		f.applied = s.applied
	}
	f.mu.Unlock()
	return nil
}

// Hash returns a digest of the whole logical state (keys, values, expiries,
// clock and metadata), equal on replicas that hold the same state.
func (f *FSM) Hash() uint64 {
	h, _ := f.HashAt()
	return h
}

// HashAt is Hash together with the applied index the state reflects, taken
// under one lock, so replicas can be compared at the same index.
func (f *FSM) HashAt() (hash, applied uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := &snapshot{dbs: f.dbs, clock: f.clock, meta: f.meta, level: f.level, databases: f.databases, conf: f.conf, scr: f.scr}
	h := newHashWriter()
	if err := s.write(h); err != nil {
		panic(err) // the hash writer cannot fail
	}
	return h.Sum64(), f.applied
}

// WriteSnapshot writes the current state in snapshot format to w and returns
// the applied index it reflects. The copy is taken in O(1) under the lock and
// streamed outside it.
func (f *FSM) WriteSnapshot(w io.Writer) (uint64, error) {
	f.mu.Lock()
	s := f.snapshotLocked()
	f.mu.Unlock()
	if err := s.write(w); err != nil {
		return 0, fmt.Errorf("write snapshot: %w", err)
	}
	return s.applied, nil
}

// ValidateSnapshot reads a whole snapshot stream and checks it, without
// touching any state; it returns what the snapshot holds.
func ValidateSnapshot(r io.Reader) (Stats, error) {
	s, err := readSnapshot(r)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Clock: s.clock, Applied: s.applied}
	for _, ks := range s.dbs {
		if ks != nil {
			st.Keys += ks.len()
			st.Expires += ks.exps.Len()
		}
	}
	return st, nil
}
