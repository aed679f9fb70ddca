package fsm

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/understudy/understudy/fsm/script"
)

// Snapshot section 4: the script cache and the function libraries.
//
//	nscripts uvarint | nscripts × body | nlibs uvarint | nlibs × code
//
// Bodies in SHA1 order, libraries in name order, so equal states write equal
// bytes. Written only when there is something to write; a reader compiles
// and loads them again (Restore), which is deterministic.
const secScripts byte = 4

func writeScripts(w *snapWriter, s scripting) {
	libs := s.funcs.Libraries()
	if len(s.cache) == 0 && len(libs) == 0 {
		return
	}
	shas := make([]string, 0, len(s.cache))
	for sha := range s.cache {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	w.buf = append(w.buf, secScripts)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(shas)))
	for _, sha := range shas {
		w.str(string(s.cache[sha].Body))
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(libs)))
	for _, lib := range libs {
		w.str(string(lib.Code))
	}
}

// maxSnapScripts bounds the counts a section may claim.
const maxSnapScripts = 1 << 24

func readScripts(r *snapReader, s *snapshot) error {
	for _, dst := range []*[]string{&s.scriptBodies, &s.libCodes} {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		if n > maxSnapScripts {
			return fmt.Errorf("%w: %d scripts", ErrSnapshotCorrupt, n)
		}
		for range n {
			b, err := r.str()
			if err != nil {
				return err
			}
			*dst = append(*dst, b)
		}
	}
	return nil
}

// loadScripts rebuilds the scripting state a snapshot holds.
func (f *FSM) loadScripts(s *snapshot) (scripting, error) {
	out := newScripting()
	if len(s.scriptBodies) == 0 && len(s.libCodes) == 0 {
		return out, nil
	}
	if f.eng == nil {
		return out, fmt.Errorf("snapshot has scripts: %w", script.ErrLayout)
	}
	for _, body := range s.scriptBodies {
		sc, err := script.Compile([]byte(body))
		if err != nil {
			return out, fmt.Errorf("%w: cached script: %v", ErrSnapshotCorrupt, err)
		}
		out.cache[sc.SHA] = sc
	}
	for _, code := range s.libCodes {
		// No instruction budget: the library loaded within one when it
		// was first applied, and loading it again runs the same code.
		if _, err := out.funcs.Load(f.eng, []byte(code), false, script.RunOptions{Host: &scriptHost{f: f, readOnly: true}}); err != nil {
			return out, fmt.Errorf("%w: function library: %v", ErrSnapshotCorrupt, err)
		}
	}
	return out, nil
}
