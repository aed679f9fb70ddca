package fsm

import (
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"sort"
)

// Writing a snapshot: the header, metadata and version 4's sections, in the
// format described in snapshot.go; items are snapshot_item.go's.

type snapWriter struct {
	w   io.Writer
	crc hash.Hash32
	buf []byte
	err error
}

func (w *snapWriter) flush() {
	if w.err != nil || len(w.buf) == 0 {
		w.buf = w.buf[:0]
		return
	}
	w.crc.Write(w.buf)
	_, w.err = w.w.Write(w.buf)
	w.buf = w.buf[:0]
}

func (w *snapWriter) str(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
	if len(w.buf) > 64<<10 {
		w.flush()
	}
}

func (s *snapshot) write(out io.Writer) error {
	w := &snapWriter{w: out, crc: crc32.New(castagnoli), buf: make([]byte, 0, 128<<10)}
	ids := make([]string, 0, len(s.meta))
	version := uint32(snapVersionNoPeers)
	for id, m := range s.meta {
		ids = append(ids, id)
		if m.PeerClientAddr != "" || m.PeerAdminAddr != "" {
			version = snapVersion
		}
	}
	sort.Strings(ids) // deterministic bytes, so equal states hash equal
	db0 := s.db0()
	if db0.tombs.len() > 0 || db0.tombs.floor > 0 {
		version = snapVersionTombs
	}
	if s.level >= Level2 {
		version = snapVersionSections
	}
	w.buf = append(w.buf, snapMagic...)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, version)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(s.clock))
	w.buf = binary.LittleEndian.AppendUint64(w.buf, s.applied)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(ids)))
	for _, id := range ids {
		w.str(id)
		w.str(s.meta[id].ClientAddr)
		w.str(s.meta[id].AdminAddr)
		if version >= snapVersion {
			w.str(s.meta[id].PeerClientAddr)
			w.str(s.meta[id].PeerAdminAddr)
		}
	}
	if version >= snapVersionSections {
		w.buf = append(w.buf, byte(s.level))
		w.buf = binary.AppendUvarint(w.buf, uint64(s.databases))
		for _, ks := range s.dbs {
			if ks == nil || (ks.len() == 0 && ks.tombs.len() == 0 && ks.tombs.floor == 0 && ks.swapped == 0) {
				continue
			}
			w.buf = append(w.buf, secDatabase)
			w.buf = binary.AppendUvarint(w.buf, uint64(ks.num))
			w.buf = binary.AppendUvarint(w.buf, ks.swapped)
			writeKeys(w, ks)
			writeTombs(w, &ks.tombs)
		}
		if pairs := s.conf.pairs(); len(pairs) > 0 {
			w.buf = append(w.buf, secConfig)
			w.buf = binary.AppendUvarint(w.buf, uint64(len(pairs)/2))
			for _, p := range pairs {
				w.str(p)
			}
		}
		writeScripts(w, s.scr)
		if s.withSecret && s.relay.cur != "" {
			w.buf = append(w.buf, secRelay)
			w.str(s.relay.cur)
			w.str(s.relay.prev)
		}
		w.buf = append(w.buf, secEnd)
	} else {
		writeKeys(w, db0)
		if version >= snapVersionTombs {
			writeTombs(w, &db0.tombs)
		}
	}
	w.flush()
	if w.err != nil {
		return w.err
	}
	_, err := out.Write(binary.LittleEndian.AppendUint32(nil, w.crc.Sum32()))
	return err
}
