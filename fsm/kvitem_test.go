package fsm

import (
	"testing"
	"unsafe"
)

// A string stored by SET shares one allocation with its key; a command that
// replaces the value but keeps the key must not keep the old value alive
// through that key.
func TestKeyspace_ReplacedValueDoesNotPinOldAllocation(t *testing.T) {
	ks := newKeyspace()
	ks.put(kvItem([]byte("k"), []byte("old-value"), 0))
	it, _ := ks.raw("k")
	if !sharesKey(it) {
		t.Fatal("kvItem should store key and value in one allocation")
	}
	it.val = "new"
	ks.put(it)
	got, _ := ks.raw("k")
	if got.key != "k" || got.val != "new" {
		t.Fatalf("got %q=%v", got.key, got.val)
	}
	if unsafe.StringData(got.key) == unsafe.StringData(it.key) {
		t.Fatal("the new item still points into the old key+value allocation")
	}
	// Changing only the expiry keeps the shared allocation (same value).
	ks.put(kvItem([]byte("k"), []byte("v2"), 0))
	it2, _ := ks.raw("k")
	it2.exp = 100
	ks.put(it2)
	got, _ = ks.raw("k")
	if !sharesKey(got) {
		t.Fatal("an expiry change needlessly copied the key")
	}
}

// An item fits the allocator's 64-byte size class (the key's hash lives in
// the tree's slot, not in the item): a field more moves every key to the
// 80-byte class.
func TestKeyspace_ItemSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(item{}); n > 64 {
		t.Fatalf("item is %d bytes, over the 64-byte size class", n)
	}
}
