package node

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
)

// The fast path's wire format for AppendEntries (fastpath.go): fields in a
// fixed order, integers as uvarints, byte strings as a uvarint length and
// the bytes. hashicorp/raft's NetworkTransport encodes the same structs
// with go-msgpack by reflection, which costs CPU on every replicated batch
// and, decoding a byte string, grows the destination 256 KiB at a time
// with a full copy each step: quadratic in an entry's size (1.8 GB of
// copying for one 30 MB entry, seconds of CPU on each follower).
//
//	request:  header, term, leader, prev index, prev term, commit index,
//	          n entries, each: index, term, type, appended-at (Unix ns,
//	          zigzag), data, extensions
//	response: status (0 ok, 1 error: then the error text, done), header,
//	          term, last log, success, no-retry-backoff
//	header:   protocol version, id, addr
const (
	// maxFastEntries and maxFastBytes bound what one request may declare,
	// so that a damaged stream cannot make the receiver allocate without
	// limit (raft sends at most MaxAppendEntries entries of at most
	// MaxEntryBytes each).
	maxFastEntries = 1 << 20
	maxFastBytes   = 1 << 30
)

var errFastFrame = errors.New("malformed fast-path frame")

type fastWriter struct {
	w       *bufio.Writer
	scratch [binary.MaxVarintLen64]byte
	err     error
}

func (e *fastWriter) uvarint(v uint64) {
	if e.err == nil {
		_, e.err = e.w.Write(binary.AppendUvarint(e.scratch[:0], v))
	}
}

func (e *fastWriter) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	if e.err == nil && len(b) > 0 {
		_, e.err = e.w.Write(b)
	}
}

func (e *fastWriter) bool(b bool) {
	v := uint64(0)
	if b {
		v = 1
	}
	e.uvarint(v)
}

func (e *fastWriter) header(h raft.RPCHeader) {
	e.uvarint(uint64(h.ProtocolVersion))
	e.bytes(h.ID)
	e.bytes(h.Addr)
}

func writeAppendRequest(w *bufio.Writer, a *raft.AppendEntriesRequest) error {
	e := fastWriter{w: w}
	e.header(a.RPCHeader)
	e.uvarint(a.Term)
	//lint:ignore SA1019 hashicorp/raft still sets and reads Leader beside Addr; the codec must carry every field it does
	e.bytes(a.Leader)
	e.uvarint(a.PrevLogEntry)
	e.uvarint(a.PrevLogTerm)
	e.uvarint(a.LeaderCommitIndex)
	e.uvarint(uint64(len(a.Entries)))
	for _, l := range a.Entries {
		e.uvarint(l.Index)
		e.uvarint(l.Term)
		e.uvarint(uint64(l.Type))
		var at int64
		if !l.AppendedAt.IsZero() {
			at = l.AppendedAt.UnixNano()
		}
		e.uvarint(uint64(at<<1) ^ uint64(at>>63))
		e.bytes(l.Data)
		e.bytes(l.Extensions)
	}
	return e.err
}

func writeAppendResponse(w *bufio.Writer, r *raft.AppendEntriesResponse, rpcErr error) error {
	e := fastWriter{w: w}
	if rpcErr != nil {
		e.uvarint(1)
		e.bytes([]byte(rpcErr.Error()))
		return e.err
	}
	e.uvarint(0)
	e.header(r.RPCHeader)
	e.uvarint(r.Term)
	e.uvarint(r.LastLog)
	e.bool(r.Success)
	e.bool(r.NoRetryBackoff)
	return e.err
}

type fastReader struct {
	r     *bufio.Reader
	err   error
	total uint64 // bytes of byte strings read so far
}

func (d *fastReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		d.err = err
	}
	return v
}

func (d *fastReader) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if d.total += n; d.total > maxFastBytes {
		d.err = fmt.Errorf("%w: over %d bytes", errFastFrame, maxFastBytes)
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = err
		return nil
	}
	return b
}

func (d *fastReader) bool() bool { return d.uvarint() != 0 }

func (d *fastReader) header() raft.RPCHeader {
	return raft.RPCHeader{ProtocolVersion: raft.ProtocolVersion(d.uvarint()), ID: d.bytes(), Addr: d.bytes()}
}

func readAppendRequest(r *bufio.Reader) (*raft.AppendEntriesRequest, error) {
	d := fastReader{r: r}
	a := &raft.AppendEntriesRequest{RPCHeader: d.header()}
	a.Term = d.uvarint()
	//lint:ignore SA1019 hashicorp/raft still sets and reads Leader beside Addr; the codec must carry every field it does
	a.Leader = d.bytes()
	a.PrevLogEntry = d.uvarint()
	a.PrevLogTerm = d.uvarint()
	a.LeaderCommitIndex = d.uvarint()
	n := d.uvarint()
	if n > maxFastEntries {
		return nil, fmt.Errorf("%w: %d entries", errFastFrame, n)
	}
	if d.err == nil && n > 0 {
		logs := make([]raft.Log, n)
		a.Entries = make([]*raft.Log, n)
		for i := range logs {
			l := &logs[i]
			l.Index = d.uvarint()
			l.Term = d.uvarint()
			l.Type = raft.LogType(d.uvarint())
			if z := d.uvarint(); z != 0 {
				l.AppendedAt = time.Unix(0, int64(z>>1)^-int64(z&1))
			}
			l.Data = d.bytes()
			l.Extensions = d.bytes()
			a.Entries[i] = l
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return a, nil
}

func readAppendResponse(r *bufio.Reader, resp *raft.AppendEntriesResponse) error {
	d := fastReader{r: r}
	if d.uvarint() != 0 {
		msg := d.bytes()
		if d.err != nil {
			return d.err
		}
		return &remoteError{msg: string(msg)}
	}
	resp.RPCHeader = d.header()
	resp.Term = d.uvarint()
	resp.LastLog = d.uvarint()
	resp.Success = d.bool()
	resp.NoRetryBackoff = d.bool()
	return d.err
}

// remoteError is an error the peer's Raft returned for the RPC; the
// connection stays usable.
type remoteError struct{ msg string }

func (e *remoteError) Error() string { return e.msg }
