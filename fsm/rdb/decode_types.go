package rdb

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The per-type halves of rdbLoadObject. Each checks what Redis checks with
// sanitize-dump-payload yes and picks the encoding Redis would (see Limits).

var (
	errEmpty = errors.New("empty collection")
	errDup   = errors.New("duplicate member")
)

// capHint bounds a preallocation for n elements by what the rest of the
// payload could hold (one byte each at least) and by 64K: beyond that the
// slice grows as elements actually arrive.
func (r *reader) capHint(n uint64) int {
	return int(min(n, uint64(r.left()), 1<<16))
}

func (r *reader) list(t byte, lim Limits) (Value, error) {
	var elems []string
	add := func(s string) error { elems = append(elems, s); return nil }
	switch t {
	case typeList:
		n, err := r.count()
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		elems = make([]string, 0, r.capHint(n))
		for range n {
			s, err := r.str()
			if err != nil {
				return nil, fmt.Errorf("list element %d: %w", len(elems), err)
			}
			elems = append(elems, s)
		}
	case typeListZiplist:
		blob, err := r.strBytes()
		if err != nil {
			return nil, fmt.Errorf("list ziplist: %w", err)
		}
		if _, err := zlEach(blob, add); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
	default: // quicklists
		return r.quicklist(t, lim)
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("list: %w", errEmpty)
	}
	return &List{Elements: elems, Encoding: listEncoding(quicklistNodes(elems, lim.ListMaxListpackSize), lim)}, nil
}

// quicklist reads RDB_TYPE_LIST_QUICKLIST (ziplist nodes) and _2 (listpack
// or plain nodes). Empty nodes are skipped, as Redis skips them.
func (r *reader) quicklist(t byte, lim Limits) (Value, error) {
	n, err := r.count()
	if err != nil {
		return nil, fmt.Errorf("quicklist: %w", err)
	}
	var elems []string
	var nodes []qlNode
	for i := range n {
		container := uint64(containerPacked)
		if t == typeListQuicklist2 {
			if container, err = r.count(); err != nil {
				return nil, fmt.Errorf("quicklist node %d: %w", i, err)
			}
			if container != containerPacked && container != containerPlain {
				return nil, fmt.Errorf("quicklist node %d: container %d", i, container)
			}
		}
		data, err := r.strBytes()
		if err != nil {
			return nil, fmt.Errorf("quicklist node %d: %w", i, err)
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("quicklist node %d: empty", i)
		}
		if container == containerPlain {
			elems = append(elems, string(data))
			nodes = append(nodes, qlNode{plain: true, count: 1, size: len(data)})
			continue
		}
		node := qlNode{size: ListpackEmptySize}
		add := func(s string) error {
			elems = append(elems, s)
			node.count++
			node.size += ListpackEntrySize(s)
			return nil
		}
		if t == typeListQuicklist2 {
			_, err = lpEach(data, add)
			node.size = len(data)
		} else {
			_, err = zlEach(data, add)
		}
		if err != nil {
			return nil, fmt.Errorf("quicklist node %d: %w", i, err)
		}
		if node.count > 0 {
			nodes = append(nodes, node)
		}
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("quicklist: %w", errEmpty)
	}
	return &List{Elements: elems, Encoding: listEncoding(nodes, lim)}, nil
}

func (r *reader) set(t byte, lim Limits) (Value, error) {
	if t == typeSetIntset {
		blob, err := r.strBytes()
		if err != nil {
			return nil, fmt.Errorf("intset: %w", err)
		}
		vals, err := intsetValues(blob)
		if err != nil {
			return nil, err
		}
		s := &Set{Members: make([]string, len(vals)), Encoding: EncIntset}
		for i, v := range vals {
			s.Members[i] = strconv.FormatInt(v, 10)
		}
		if int64(len(vals)) > lim.SetMaxIntsetEntries {
			s.Encoding = EncHashtable
		}
		return s, nil
	}
	n, err := r.count()
	if err != nil {
		return nil, fmt.Errorf("set: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("set: %w", errEmpty)
	}
	maxIntset := uint64(max(lim.SetMaxIntsetEntries, 0))
	s := &Set{Members: make([]string, 0, r.capHint(n)), Encoding: EncIntset}
	if n > min(maxIntset, 1<<30) {
		s.Encoding = EncHashtable
	}
	seen := make(map[string]struct{}, r.capHint(n))
	var ints []int64 // the members while the set is an intset
	maxLen, sumLen, lpSize := 0, 0, ListpackEmptySize
	for i := range n {
		m, err := r.str()
		if err != nil {
			return nil, fmt.Errorf("set member %d: %w", i, err)
		}
		if _, dup := seen[m]; dup {
			return nil, fmt.Errorf("set: %w", errDup)
		}
		seen[m] = struct{}{}
		maxLen, sumLen = max(maxLen, len(m)), sumLen+len(m)
		if s.Encoding == EncIntset {
			if v, ok := parseStrictInt(m); ok {
				ints = append(ints, v)
				continue
			}
			// Leaving the intset (Redis 7.2 goes to a listpack if it can):
			// its members so far, in its order.
			slices.Sort(ints)
			for _, v := range ints {
				s.Members = append(s.Members, strconv.FormatInt(v, 10))
				lpSize += ListpackEntrySize(s.Members[len(s.Members)-1])
			}
			if int64(len(ints)) < lim.SetMaxListpackEntries && int64(maxLen) <= lim.SetMaxListpackValue && sumLen <= lpMaxSafetyLen {
				s.Encoding = EncListpack
			} else {
				s.Encoding = EncHashtable
			}
		}
		if s.Encoding == EncListpack {
			if int64(len(s.Members)) < lim.SetMaxListpackEntries && int64(len(m)) <= lim.SetMaxListpackValue &&
				lpSize+len(m) <= lpMaxSafetyLen {
				lpSize += ListpackEntrySize(m)
			} else {
				s.Encoding = EncHashtable
			}
		}
		s.Members = append(s.Members, m)
	}
	if s.Encoding == EncIntset {
		slices.Sort(ints)
		for _, v := range ints {
			s.Members = append(s.Members, strconv.FormatInt(v, 10))
		}
	}
	return s, nil
}

func (r *reader) hash(t byte, lim Limits) (Value, error) {
	h := &Hash{Encoding: EncListpack}
	seen := make(map[string]struct{})
	add := func(f, v string) error {
		if _, dup := seen[f]; dup {
			return errDup
		}
		seen[f] = struct{}{}
		h.Fields = append(h.Fields, HashField{f, v})
		return nil
	}
	switch t {
	case typeHash:
		n, err := r.count()
		if err != nil {
			return nil, fmt.Errorf("hash: %w", err)
		}
		if n > uint64(max(lim.HashMaxListpackEntries, 0)) {
			h.Encoding = EncHashtable
		}
		h.Fields = make([]HashField, 0, r.capHint(n))
		lpSize := ListpackEmptySize
		for i := range n {
			f, err := r.str()
			if err != nil {
				return nil, fmt.Errorf("hash field %d: %w", i, err)
			}
			v, err := r.str()
			if err != nil {
				return nil, fmt.Errorf("hash value %d: %w", i, err)
			}
			if err := add(f, v); err != nil {
				return nil, fmt.Errorf("hash: %w", err)
			}
			if h.Encoding == EncListpack {
				if int64(len(f)) > lim.HashMaxListpackValue || int64(len(v)) > lim.HashMaxListpackValue ||
					lpSize+len(f)+len(v) > lpMaxSafetyLen {
					h.Encoding = EncHashtable
				}
				lpSize += ListpackEntrySize(f) + ListpackEntrySize(v)
			}
		}
	case typeHashZipmap:
		blob, err := r.strBytes()
		if err != nil {
			return nil, fmt.Errorf("hash zipmap: %w", err)
		}
		maxLen, lpSize := 0, ListpackEmptySize
		err = zipmapEach(blob, func(f, v string) error {
			if lpSize+len(f)+len(v) > lpMaxSafetyLen {
				return fmt.Errorf("zipmap of over %d bytes", lpMaxSafetyLen)
			}
			maxLen = max(maxLen, len(f), len(v))
			lpSize += ListpackEntrySize(f) + ListpackEntrySize(v)
			return add(f, v)
		})
		if err != nil {
			return nil, fmt.Errorf("hash: %w", err)
		}
		if int64(maxLen) > lim.HashMaxListpackValue {
			h.Encoding = EncHashtable
		}
	default: // ziplist, listpack
		if err := r.pairs(t == typeHashListpack, "hash", func(f, v string) error { return add(f, v) }); err != nil {
			return nil, err
		}
	}
	if len(h.Fields) == 0 {
		return nil, fmt.Errorf("hash: %w", errEmpty)
	}
	if int64(len(h.Fields)) > lim.HashMaxListpackEntries {
		h.Encoding = EncHashtable
	}
	return h, nil
}

// pairs reads a ziplist or listpack of field/value (member/score) pairs:
// an even number of entries, no field twice (lpPairsValidateIntegrityAndDups,
// ziplistPairsConvertAndValidateIntegrity).
func (r *reader) pairs(listpack bool, what string, fn func(a, b string) error) error {
	blob, err := r.strBytes()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var first string
	odd := false
	each := func(s string) error {
		if !odd {
			first, odd = s, true
			return nil
		}
		odd = false
		return fn(first, s)
	}
	if listpack {
		_, err = lpEach(blob, each)
	} else {
		_, err = zlEach(blob, each)
	}
	if err == nil && odd {
		err = errors.New("odd number of entries")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (r *reader) zset(t byte, lim Limits) (Value, error) {
	z := &ZSet{Encoding: EncListpack}
	seen := make(map[string]struct{})
	add := func(m string, score float64) error {
		if math.IsNaN(score) {
			return fmt.Errorf("NaN score")
		}
		if _, dup := seen[m]; dup {
			return errDup
		}
		seen[m] = struct{}{}
		z.Entries = append(z.Entries, ZEntry{m, score})
		return nil
	}
	if t == typeZSetZiplist || t == typeZSetListpack {
		err := r.pairs(t == typeZSetListpack, "sorted set", func(m, score string) error {
			// zzlGetScore: strtod of at most 127 bytes, whatever they hold.
			v, _ := strtod(score[:min(len(score), 127)])
			return add(m, v)
		})
		if err != nil {
			return nil, err
		}
		if len(z.Entries) == 0 {
			return nil, fmt.Errorf("sorted set: %w", errEmpty)
		}
		if int64(len(z.Entries)) > lim.ZsetMaxListpackEntries {
			z.Encoding = EncSkiplist
			sortZEntries(z.Entries)
		}
		return z, nil
	}
	n, err := r.count()
	if err != nil {
		return nil, fmt.Errorf("sorted set: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("sorted set: %w", errEmpty)
	}
	z.Entries = make([]ZEntry, 0, r.capHint(n))
	maxLen, totLen := 0, 0
	for i := range n {
		m, err := r.str()
		if err != nil {
			return nil, fmt.Errorf("sorted set member %d: %w", i, err)
		}
		var score float64
		if t == typeZSet2 {
			score, err = r.binaryDouble()
		} else {
			score, err = r.stringDouble()
		}
		if err != nil {
			return nil, fmt.Errorf("sorted set score %d: %w", i, err)
		}
		if err := add(m, score); err != nil {
			return nil, fmt.Errorf("sorted set: %w", err)
		}
		maxLen, totLen = max(maxLen, len(m)), totLen+len(m)
	}
	sortZEntries(z.Entries)
	if int64(len(z.Entries)) <= lim.ZsetMaxListpackEntries && int64(maxLen) <= lim.ZsetMaxListpackValue && totLen <= lpMaxSafetyLen {
		// zsetConvert writes integral scores as integers, so -0 becomes 0.
		for i := range z.Entries {
			if z.Entries[i].Score == 0 {
				z.Entries[i].Score = 0
			}
		}
	} else {
		z.Encoding = EncSkiplist
	}
	return z, nil
}

// sortZEntries orders entries as a skiplist does: by score, then member.
func sortZEntries(e []ZEntry) {
	slices.SortFunc(e, func(a, b ZEntry) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c
		}
		return strings.Compare(a.Member, b.Member)
	})
}
