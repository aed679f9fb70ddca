package fsm_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// scanStep runs one SCAN and returns the next cursor and the keys.
func scanStep(t *testing.T, h *harness, cursor string, extra ...string) (string, []string) {
	t.Helper()
	v := h.do(t, append([]string{"SCAN", cursor}, extra...)...)
	if v.Kind != fsm.KindArray || len(v.Arr) != 2 || v.Arr[0].Kind != fsm.KindBulk || v.Arr[1].Kind != fsm.KindArray {
		t.Fatalf("SCAN %s: malformed reply %s", cursor, fmtValue(v))
	}
	next := string(v.Arr[0].Str)
	if _, err := strconv.ParseUint(next, 10, 64); err != nil {
		t.Fatalf("SCAN cursor %q is not a decimal number", next)
	}
	keys := make([]string, len(v.Arr[1].Arr))
	for i, k := range v.Arr[1].Arr {
		if k.Kind != fsm.KindBulk {
			t.Fatalf("SCAN returned %s", fmtValue(k))
		}
		keys[i] = string(k.Str)
	}
	return next, keys
}

// TestScanVisitsEveryKeyOnce: on a keyspace that does not change, a full
// iteration returns every key exactly once, whatever the COUNT.
func TestScanVisitsEveryKeyOnce(t *testing.T) {
	h := newHarness()
	const n = 500
	for i := range n {
		h.do(t, "SET", fmt.Sprint("key:", i), "v")
	}
	for _, count := range []int{1, 3, 10, 100, 1000} {
		t.Run(fmt.Sprint("count ", count), func(t *testing.T) {
			seen := map[string]int{}
			cursor, calls := "0", 0
			for {
				next, keys := scanStep(t, h, cursor, "COUNT", fmt.Sprint(count))
				calls++
				for _, k := range keys {
					seen[k]++
				}
				if next == "0" {
					break
				}
				if calls > 2*n {
					t.Fatal("SCAN does not terminate")
				}
				cursor = next
			}
			if len(seen) != n {
				t.Fatalf("saw %d distinct keys, want %d", len(seen), n)
			}
			for k, c := range seen {
				if c != 1 {
					t.Fatalf("%q returned %d times", k, c)
				}
			}
			if min := (n + count - 1) / count; count < n && calls < min {
				t.Fatalf("%d calls for %d keys at COUNT %d", calls, n, count)
			}
		})
	}
}

// TestScanUnderChange: keys present for the whole iteration are returned
// exactly once while other keys are added, deleted, renamed and expire
// between calls; no key is ever returned twice, and every key returned
// existed at some point.
func TestScanUnderChange(t *testing.T) {
	for _, count := range []int{1, 3, 100} {
		t.Run(fmt.Sprint("count ", count), func(t *testing.T) {
			h := newHarness()
			ever := map[string]bool{}
			set := func(k string, extra ...string) {
				h.do(t, append([]string{"SET", k, "v"}, extra...)...)
				ever[k] = true
			}
			for i := range 300 {
				set(fmt.Sprint("stable:", i))
				set(fmt.Sprint("doomed:", i))
				set(fmt.Sprint("ttl:", i), "PX", fmt.Sprint(1+i*10))
			}
			seen := map[string]int{}
			cursor, step := "0", 0
			for {
				next, keys := scanStep(t, h, cursor, "COUNT", fmt.Sprint(count))
				for _, k := range keys {
					seen[k]++
				}
				// Change the keyspace between calls.
				set(fmt.Sprint("new:", step))
				set(fmt.Sprint("new:", step, ":b"))
				if step < 300 {
					h.do(t, "DEL", fmt.Sprint("doomed:", step))
					h.do(t, "RENAME", fmt.Sprint("doomed:", 299-step/2), fmt.Sprint("renamed:", step))
					ever[fmt.Sprint("renamed:", step)] = true
				}
				h.now += 7
				step++
				if next == "0" {
					break
				}
				if step > 5000 {
					t.Fatal("SCAN does not terminate")
				}
				cursor = next
			}
			for i := range 300 {
				if k := fmt.Sprint("stable:", i); seen[k] != 1 {
					t.Errorf("%q present throughout, returned %d times", k, seen[k])
				}
			}
			for k, c := range seen {
				if c > 1 {
					t.Errorf("%q returned %d times", k, c)
				}
				if !ever[k] {
					t.Errorf("%q returned but never existed", k)
				}
			}
		})
	}
}

// TestScanMatchAndType: filters apply per call and do not break the
// iteration; calls may return nothing yet carry on.
func TestScanMatchAndType(t *testing.T) {
	h := newHarness()
	for i := range 200 {
		h.do(t, "SET", fmt.Sprint("user:", i), "v")
		h.do(t, "SET", fmt.Sprint("item:", i), "v")
	}
	for _, opts := range [][]string{
		{"MATCH", "user:*", "COUNT", "7"},
		{"COUNT", "7", "TYPE", "string", "MATCH", "user:*"},
		{"match", "user:?*", "count", "1"},
	} {
		seen := map[string]int{}
		cursor, empty := "0", 0
		for {
			next, keys := scanStep(t, h, cursor, opts...)
			if len(keys) == 0 {
				empty++
			}
			for _, k := range keys {
				seen[k]++
			}
			if cursor = next; next == "0" {
				break
			}
		}
		if len(seen) != 200 {
			t.Errorf("%q: %d keys, want 200", opts, len(seen))
		}
		for k, c := range seen {
			if c != 1 || k[:5] != "user:" {
				t.Errorf("%q: %q returned %d times", opts, k, c)
			}
		}
		if empty == 0 && opts[len(opts)-1] == "1" {
			t.Errorf("%q: expected some calls to match nothing", opts)
		}
	}
	if next, keys := scanStep(t, h, "0", "TYPE", "list", "COUNT", "1000"); next != "0" || len(keys) != 0 {
		t.Errorf("SCAN TYPE list: %s %q", next, keys)
	}
}
