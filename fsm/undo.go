package fsm

// Undoing a script stopped by its budget. A script that may write runs in
// a log entry with an instruction and a memory budget; when it runs out,
// every node stops it at the same instruction, and every node then puts the
// databases back as they were before the script started, so a stopped
// script leaves nothing half done (Redis cannot do this: it keeps what a
// killed or failing script wrote). A script that fails otherwise (an error
// it raises, a failing redis.call) keeps its writes, as in Redis.
//
// The saving is the snapshot's copy-on-write: each database is cloned in
// O(1) under a new generation, so the script's first change to a
// collection copies it and the clone keeps the old one. The price is that
// copy, once per collection a write script changes (O(1) for B-tree
// encodings, O(length) for a list), whether or not the budget runs out.

// undo is what restoreUndo needs to put the state back.
type undo struct {
	dbs       []*keyspace // clones, by number (nil: no such database)
	published int         // messages queued for delivery before the script
	touched   int         // keys reported to the apply hook before the script
}

func (f *FSM) saveUndo(touched *[]DBKey) *undo {
	f.gen++
	u := &undo{dbs: make([]*keyspace, len(f.dbs)), published: len(f.published)}
	for i, ks := range f.dbs {
		if ks != nil {
			u.dbs[i] = ks.clone(f.gen)
		}
	}
	if touched != nil {
		u.touched = len(*touched)
	}
	return u
}

// restoreUndo swaps the clones back in: databases the script made go, and
// the notifications and wake-ups of its writes are dropped.
func (f *FSM) restoreUndo(u *undo, touched *[]DBKey) {
	f.dbs = f.dbs[:len(u.dbs)]
	copy(f.dbs, u.dbs)
	f.published = f.published[:u.published]
	if touched != nil {
		*touched = (*touched)[:u.touched]
	}
}
