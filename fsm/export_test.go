package fsm

// ListQuick reports the quicklist flag of the list at key in database 0
// (kept in the snapshot; OBJECT ENCODING no longer shows it).
func (f *FSM) ListQuick(key string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	it, ok := f.readKeyspace(0).raw(key)
	if !ok {
		return false
	}
	l, _ := it.val.(*listObj)
	return l != nil && l.quick
}
