package hll_test

import (
	"errors"
	"strings"

	"github.com/understudy/understudy/fsm/internal/hll"
)

// model binds the package to PFADD, PFCOUNT and PFMERGE the way package fsm
// is meant to: strings by key, names of keys holding another type, and
// hll-sparse-max-bytes.
type model struct {
	strs      map[string][]byte
	other     map[string]bool
	sparseMax int
}

type reply struct {
	v   int64
	ok  bool // +OK rather than an integer
	err error
}

const wrongType = hll.Error("WRONGTYPE Operation against a key holding the wrong kind of value")

func newModel() *model {
	return &model{strs: map[string][]byte{}, other: map[string]bool{}, sparseMax: hll.DefaultSparseMaxBytes}
}

func (m *model) do(argv [][]byte) reply {
	keys := make([]string, len(argv)-1)
	for i, k := range argv[1:] {
		keys[i] = string(k)
	}
	switch strings.ToLower(string(argv[0])) {
	case "pfadd":
		if m.other[keys[0]] {
			return reply{err: wrongType}
		}
		var s []byte
		if v, ok := m.strs[keys[0]]; ok {
			s = append([]byte{}, v...)
		}
		out, changed, err := hll.Add(s, argv[2:], m.sparseMax)
		if err != nil {
			return reply{err: err}
		}
		if changed {
			m.strs[keys[0]] = out
			return reply{v: 1}
		}
		return reply{v: 0}
	case "pfcount":
		if len(keys) == 1 {
			if m.other[keys[0]] {
				return reply{err: wrongType}
			}
			s, ok := m.strs[keys[0]]
			if !ok {
				return reply{v: 0}
			}
			n, updated, err := hll.Count(s)
			if updated != nil {
				m.strs[keys[0]] = updated
			}
			return reply{v: n, err: err}
		}
		var u hll.Union
		if err := m.merge(&u, keys); err != nil {
			return reply{err: err}
		}
		return reply{v: u.Count()}
	default: // pfmerge
		var u hll.Union
		if err := m.merge(&u, keys); err != nil {
			return reply{err: err}
		}
		dest, ok := m.strs[keys[0]]
		if ok {
			dest = append([]byte{}, dest...)
		}
		out, err := u.Store(dest, m.sparseMax)
		if err != nil {
			return reply{err: err}
		}
		m.strs[keys[0]] = out
		return reply{ok: true}
	}
}

func (m *model) merge(u *hll.Union, keys []string) error {
	for _, k := range keys {
		if m.other[k] {
			return wrongType
		}
		if s, ok := m.strs[k]; ok {
			if err := u.Merge(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func errText(err error) string {
	var e hll.Error
	if errors.As(err, &e) {
		return string(e)
	}
	return err.Error()
}
