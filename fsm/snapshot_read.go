package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"slices"
)

// Reading a snapshot: its header, metadata and version 4's sections
// (format in snapshot.go; items are snapshot_item.go's), and the start-up
// check that refuses a format a newer build wrote.

type snapReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (r *snapReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.crc.Write(p[:n])
	return n, err
}

func (r *snapReader) ReadByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		r.crc.Write([]byte{c})
	}
	return c, err
}

// fullChunk is how much of a declared length full allocates before the
// bytes are there.
const fullChunk = 1 << 20

// full reads n bytes. A length read from the snapshot is trusted with
// memory only as its bytes arrive: a damaged one (up to maxSnapString)
// would otherwise allocate a gigabyte for a few bytes of input, an
// out-of-memory kill instead of the corrupt-snapshot error.
func (r *snapReader) full(n int) ([]byte, error) {
	if n <= fullChunk {
		p := make([]byte, n)
		_, err := io.ReadFull(r, p)
		return p, err
	}
	p := make([]byte, 0, fullChunk)
	for len(p) < n {
		k := min(n-len(p), fullChunk)
		p = slices.Grow(p, k)
		m, err := io.ReadFull(r, p[len(p):len(p)+k])
		p = p[:len(p)+m]
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

func (r *snapReader) str() (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if n > maxSnapString {
		return "", fmt.Errorf("%w: string length %d", ErrSnapshotCorrupt, n)
	}
	p, err := r.full(int(n))
	return string(p), err
}

func readSnapshot(in io.Reader) (*snapshot, error) {
	r := &snapReader{r: bufio.NewReaderSize(in, 256<<10), crc: crc32.New(castagnoli)}
	hdr, err := r.full(len(snapMagic) + 4 + 8 + 8)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrSnapshotCorrupt, err)
	}
	if string(hdr[:8]) != snapMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrSnapshotCorrupt, hdr[:8])
	}
	version := binary.LittleEndian.Uint32(hdr[8:])
	if version > snapVersionSections {
		// Every format ends with a CRC-32C of all that precedes it: if it
		// holds, a newer build wrote this; if not, the version is damage.
		if !trailerHolds(r) {
			return nil, fmt.Errorf("%w: unsupported version %d and a bad checksum", ErrSnapshotCorrupt, version)
		}
		return nil, fmt.Errorf("snapshot format %d %w (this build reads formats %d to %d): downgrades are refused; run a build at least as new",
			version, ErrNewerFormat, snapVersionNoPeers, snapVersionSections)
	}
	if version < snapVersionNoPeers {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrSnapshotCorrupt, version)
	}
	s := &snapshot{
		clock:   int64(binary.LittleEndian.Uint64(hdr[12:])),
		applied: binary.LittleEndian.Uint64(hdr[20:]),
		meta:    map[string]NodeMeta{},
		level:   Level1,
		conf:    newConf(),
	}
	body := func() error {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			var id string
			var m NodeMeta
			if id, err = r.str(); err != nil {
				return err
			}
			if m.ClientAddr, err = r.str(); err != nil {
				return err
			}
			if m.AdminAddr, err = r.str(); err != nil {
				return err
			}
			if version >= snapVersion {
				if m.PeerClientAddr, err = r.str(); err != nil {
					return err
				}
				if m.PeerAdminAddr, err = r.str(); err != nil {
					return err
				}
			}
			s.meta[id] = m
		}
		if version >= snapVersionSections {
			return readSections(r, s)
		}
		ks := s.database(0)
		if err := readKeys(r, ks); err != nil {
			return err
		}
		if version >= snapVersionTombs {
			return readTombs(r, ks)
		}
		return nil
	}
	if err := body(); err != nil {
		if errors.Is(err, ErrNewerFormat) && trailerHolds(r) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	want := r.crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(r.r, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: checksum: %v", ErrSnapshotCorrupt, err)
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrSnapshotCorrupt, got, want)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after checksum", ErrSnapshotCorrupt)
	}
	return s, nil
}

// trailerHolds reads the rest of a snapshot and reports whether its last
// four bytes are the CRC-32C of everything before them: the framing every
// snapshot format keeps, so a newer format can be told from damage.
func trailerHolds(r *snapReader) bool {
	var tail []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := r.r.Read(buf)
		tail = append(tail, buf[:n]...)
		if len(tail) > 4 {
			r.crc.Write(tail[:len(tail)-4])
			tail = append(tail[:0], tail[len(tail)-4:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
	}
	return len(tail) == 4 && binary.LittleEndian.Uint32(tail) == r.crc.Sum32()
}

// CheckSnapshotFormat reads a snapshot's header (and, for version 4, its
// level) and reports ErrNewerFormat if this build cannot read it: the
// start-up check refuses a data directory a newer build wrote before any of
// it is loaded. It does not check the rest (Restore does).
func CheckSnapshotFormat(in io.Reader) error {
	r := &snapReader{r: bufio.NewReader(in), crc: crc32.New(castagnoli)}
	hdr, err := r.full(len(snapMagic) + 4 + 8 + 8)
	if err != nil || string(hdr[:8]) != snapMagic {
		return nil // not ours to judge: Restore reports the damage
	}
	version := binary.LittleEndian.Uint32(hdr[8:])
	if version > snapVersionSections {
		return fmt.Errorf("snapshot format %d %w (this build reads formats %d to %d): downgrades are refused; run a build at least as new",
			version, ErrNewerFormat, snapVersionNoPeers, snapVersionSections)
	}
	if version < snapVersionSections {
		return nil
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil
	}
	for i := uint64(0); i < 5*n; i++ { // id, client, admin, peer client, peer admin
		if _, err := r.str(); err != nil {
			return nil
		}
	}
	lv, err := r.ReadByte()
	if err == nil && Level(lv) > MaxLevel {
		return fmt.Errorf("cluster level %d %w (this build applies levels %d to %d): downgrades are refused", lv, ErrNewerFormat, Level1, MaxLevel)
	}
	return nil
}

// database returns database n of a snapshot being read, making it.
func (s *snapshot) database(n int) *keyspace {
	for len(s.dbs) <= n {
		s.dbs = append(s.dbs, nil)
	}
	if s.dbs[n] == nil {
		s.dbs[n] = newKeyspace()
		s.dbs[n].num = n
	}
	return s.dbs[n]
}

// readSections reads version 4's level and sections.
func readSections(r *snapReader, s *snapshot) error {
	lv, err := r.ReadByte()
	if err != nil {
		return err
	}
	if Level(lv) < Level1 || Level(lv) > MaxLevel {
		return fmt.Errorf("cluster level %d %w (this build applies levels %d to %d): downgrades are refused", lv, ErrNewerFormat, Level1, MaxLevel)
	}
	s.level = Level(lv)
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	if n > MaxDatabases {
		return fmt.Errorf("%d databases", n)
	}
	s.databases = int(n)
	prev := -1
	for {
		tag, err := r.ReadByte()
		if err != nil {
			return err
		}
		switch tag {
		case secEnd:
			return nil
		case secDatabase:
			n, err := binary.ReadUvarint(r)
			if err != nil {
				return err
			}
			if n >= MaxDatabases || int(n) <= prev {
				return fmt.Errorf("database %d out of order or range", n)
			}
			prev = int(n)
			ks := s.database(int(n))
			if ks.swapped, err = binary.ReadUvarint(r); err != nil {
				return err
			}
			if err := readKeys(r, ks); err != nil {
				return fmt.Errorf("database %d: %w", n, err)
			}
			if err := readTombs(r, ks); err != nil {
				return fmt.Errorf("database %d: %w", n, err)
			}
		case secConfig:
			n, err := binary.ReadUvarint(r)
			if err != nil {
				return err
			}
			if n > 4096 {
				return fmt.Errorf("%d configuration parameters", n)
			}
			pairs := make([]string, 2*n)
			for i := range pairs {
				if pairs[i], err = r.str(); err != nil {
					return err
				}
			}
			if s.conf, err = restoreConf(pairs); err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
		case secScripts:
			if err := readScripts(r, s); err != nil {
				return fmt.Errorf("scripts: %w", err)
			}
		case secRelay:
			if s.relay.cur, err = r.str(); err != nil {
				return err
			}
			if s.relay.prev, err = r.str(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("snapshot section %d %w: downgrades are refused", tag, ErrNewerFormat)
		}
	}
}
