package resp

import (
	"bufio"
	"io"
	"strconv"

	"github.com/understudy/understudy/fsm"
)

const (
	// Payloads at least this long skip the scratch buffer and go straight
	// to the bufio.Writer, which passes large writes through uncopied.
	bigPayload = 4 << 10
	// The scratch buffer is handed to the bufio.Writer whenever it holds
	// this much, so a huge array never needs a huge scratch buffer.
	flushAt    = 16 << 10
	maxScratch = 64 << 10
)

// Writer encodes replies for one client connection in the protocol version
// the client negotiated with HELLO.
type Writer struct {
	bw    *bufio.Writer
	proto int
	enc   encoder
}

// NewWriter returns a Writer on w speaking RESP2 until SetProto says otherwise.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, bufSize)
	return &Writer{bw: bw, proto: 2, enc: encoder{bw: bw}}
}

// SetProto selects the protocol for later replies: 3 for RESP3, anything
// else for RESP2.
func (w *Writer) SetProto(v int) {
	if v != 3 {
		v = 2
	}
	w.proto = v
}

// Proto returns the protocol version replies are encoded for (2 or 3).
func (w *Writer) Proto() int { return w.proto }

// WriteValue buffers the encoding of v. Nothing reaches the connection until
// Flush or until the buffer fills.
func (w *Writer) WriteValue(v fsm.Value) error {
	e := &w.enc
	e.buf, e.err = e.buf[:0], nil
	e.value(v, w.proto)
	e.flush()
	if cap(e.buf) > maxScratch {
		e.buf = nil
	}
	return e.err
}

// WriteRaw buffers b unchanged; b must already be a complete encoding, such
// as a reply relayed from the leader.
func (w *Writer) WriteRaw(b []byte) error {
	_, err := w.bw.Write(b)
	return err
}

// Buffered reports how many bytes are waiting for Flush.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

// Flush sends everything buffered to the connection.
func (w *Writer) Flush() error { return w.bw.Flush() }

// AppendValue appends the encoding of v for protocol proto (2 or 3) to dst.
func AppendValue(dst []byte, v fsm.Value, proto int) []byte {
	e := encoder{buf: dst}
	e.value(v, proto)
	return e.buf
}

// encoder serves both AppendValue (bw nil: everything lands in buf) and
// Writer (buf is scratch, drained into bw), so the two cannot drift apart.
type encoder struct {
	buf []byte
	bw  *bufio.Writer
	err error
}

func (e *encoder) value(v fsm.Value, proto int) {
	resp3 := proto == 3
	switch v.Kind {
	case fsm.KindSimple:
		e.line('+', v.Str)
	case fsm.KindError:
		e.line('-', v.Str)
	case fsm.KindInt:
		e.buf = appendHeader(e.buf, ':', v.Int)
	case fsm.KindBulk:
		e.bulk('$', "", v.Str)
	case fsm.KindNull:
		e.buf = append(e.buf, pick(resp3, "_\r\n", "$-1\r\n")...)
	case fsm.KindNullArray:
		e.buf = append(e.buf, pick(resp3, "_\r\n", "*-1\r\n")...)
	case fsm.KindArray:
		e.aggregate('*', len(v.Arr), v.Arr, proto)
	case fsm.KindMap:
		// An odd trailing element cannot be encoded in RESP3; dropping it in
		// both protocols keeps the stream framed either way.
		pairs := len(v.Arr) / 2
		if resp3 {
			e.aggregate('%', pairs, v.Arr[:2*pairs], proto)
		} else {
			e.aggregate('*', 2*pairs, v.Arr[:2*pairs], proto)
		}
	case fsm.KindPairs:
		// Flat in RESP2; Redis 7 sends RESP3 clients [member, score]
		// arrays. An odd trailing element is dropped, as for a map.
		pairs := len(v.Arr) / 2
		if !resp3 {
			e.aggregate('*', 2*pairs, v.Arr[:2*pairs], proto)
			break
		}
		e.buf = appendHeader(e.buf, '*', int64(pairs))
		for i := range pairs {
			e.aggregate('*', 2, v.Arr[2*i:2*i+2], proto)
		}
	case fsm.KindArrayMap:
		// A map in RESP3; [key, value] arrays in RESP2 (XREAD).
		pairs := len(v.Arr) / 2
		if resp3 {
			e.aggregate('%', pairs, v.Arr[:2*pairs], proto)
			break
		}
		e.buf = appendHeader(e.buf, '*', int64(pairs))
		for i := range pairs {
			e.aggregate('*', 2, v.Arr[2*i:2*i+2], proto)
		}
	case fsm.KindSet:
		e.aggregate(pick[byte](resp3, '~', '*'), len(v.Arr), v.Arr, proto)
	case fsm.KindPush:
		e.aggregate(pick[byte](resp3, '>', '*'), len(v.Arr), v.Arr, proto)
	case fsm.KindDouble:
		if resp3 {
			e.line(',', v.Str)
		} else {
			e.bulk('$', "", v.Str)
		}
	case fsm.KindVerbatim:
		if resp3 {
			e.bulk('=', "txt:", v.Str)
		} else {
			e.bulk('$', "", v.Str)
		}
	case fsm.KindBool:
		switch {
		case !resp3:
			e.buf = appendHeader(e.buf, ':', v.Int)
		case v.Int != 0:
			e.buf = append(e.buf, "#t\r\n"...)
		default:
			e.buf = append(e.buf, "#f\r\n"...)
		}
	case fsm.KindBigNumber:
		if resp3 {
			e.line('(', v.Str)
		} else {
			e.bulk('$', "", v.Str)
		}
	default:
		// Still a well-formed reply, so a bug upstream cannot desync the client.
		e.line('-', unknownKind)
	}
}

var unknownKind = []byte("ERR internal error: unknown reply kind")

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// line writes a one-line reply. CR and LF become spaces, as Redis does for
// errors, because either would end the line early and desync the client.
func (e *encoder) line(t byte, s []byte) {
	e.buf = append(e.buf, t)
	start := len(e.buf)
	e.buf = append(e.buf, s...)
	for i := start; i < len(e.buf); i++ {
		if c := e.buf[i]; c == '\r' || c == '\n' {
			e.buf[i] = ' '
		}
	}
	e.buf = append(e.buf, '\r', '\n')
}

func (e *encoder) bulk(t byte, prefix string, s []byte) {
	e.buf = appendHeader(e.buf, t, int64(len(prefix)+len(s)))
	e.buf = append(e.buf, prefix...)
	if e.bw != nil && len(s) >= bigPayload {
		e.flush()
		if e.err == nil {
			_, e.err = e.bw.Write(s)
		}
	} else {
		e.buf = append(e.buf, s...)
	}
	e.buf = append(e.buf, '\r', '\n')
}

func (e *encoder) aggregate(t byte, n int, elems []fsm.Value, proto int) {
	e.buf = appendHeader(e.buf, t, int64(n))
	for i := range elems {
		e.value(elems[i], proto)
		if e.bw != nil && len(e.buf) >= flushAt {
			e.flush()
		}
	}
}

// flush moves the scratch buffer into the bufio.Writer, whose error is
// sticky, so checking once at the end of WriteValue is enough.
func (e *encoder) flush() {
	if e.bw == nil || len(e.buf) == 0 {
		return
	}
	if e.err == nil {
		_, e.err = e.bw.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// AppendCommand appends argv encoded as a RESP multibulk request to dst.
func AppendCommand(dst []byte, argv [][]byte) []byte {
	dst = appendHeader(dst, '*', int64(len(argv)))
	for _, a := range argv {
		dst = appendHeader(dst, '$', int64(len(a)))
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

func appendHeader(dst []byte, t byte, n int64) []byte {
	dst = append(dst, t)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}
