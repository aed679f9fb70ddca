package resp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Limits bounds what one request may hold. Zero fields take Redis's defaults.
type Limits struct {
	MaxBulkLen   int64 // proto-max-bulk-len, default 512 MiB
	MaxArgs      int64 // arguments per multibulk request, default 1024*1024
	MaxInlineLen int   // inline request / count line length, default 64 KiB (PROTO_INLINE_MAX_SIZE)
	// MaxRequest bounds the bytes of all arguments of one request (0: no
	// bound): the node's max-entry-bytes, since a write must fit one log
	// entry. A larger request is read through without being kept, then
	// refused, so a client sending 100 MB costs no 100 MB buffers.
	MaxRequest int64
}

// ProtocolError is a malformed or oversized request. The server writes
// "-ERR " + Error() and closes the connection, because the stream can no
// longer be framed reliably.
type ProtocolError struct{ Msg string }

// Error returns the text Redis 7 sends after "-ERR ".
func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

const (
	bufSize = 16 << 10
	// minChunk is the first step by which a bulk buffer grows; later steps
	// double what has actually arrived, so a client declaring a huge bulk
	// costs memory in proportion to what it sends, not to what it claims.
	minChunk = 16 << 10
	// Buffers grown past these by one large request are dropped afterwards
	// so that an idle connection does not pin them.
	maxKeepBytes = 1 << 20
	maxKeepArgs  = 64 << 10
	// maxReplyCount bounds one aggregate header in a relayed reply; it
	// keeps the pending-element counter far from overflow.
	maxReplyCount = math.MaxInt32
)

// Reader parses requests (on the server side) or replies (on a follower
// relaying the leader's answers) from a buffered stream.
type Reader struct {
	br   *bufio.Reader
	lim  Limits
	buf  []byte   // all arguments of the current command, back to back
	ends []int    // end offset in buf of each argument
	argv [][]byte // views into buf, handed to the caller
	line []byte   // scratch for header and inline lines
	rep  []byte   // scratch for ReadReply
}

// NewReader returns a Reader on r with lim, zero fields replaced by Redis's
// defaults.
func NewReader(r io.Reader, lim Limits) *Reader {
	if lim.MaxBulkLen <= 0 {
		lim.MaxBulkLen = 512 << 20
	}
	if lim.MaxArgs <= 0 {
		lim.MaxArgs = 1024 * 1024
	}
	if lim.MaxInlineLen <= 0 {
		lim.MaxInlineLen = 64 << 10
	}
	return &Reader{br: bufio.NewReaderSize(r, bufSize), lim: lim}
}

// Buffered reports how many bytes are already buffered, so the server can
// defer flushing replies while more pipelined requests are waiting.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadCommand reads the next request: a RESP multibulk or an inline command
// split with Redis's quoting rules. Empty inline lines and multibulks with a
// count <= 0 are skipped, as Redis does. The returned argv and its slices are
// only valid until the next call, which reuses their memory.
//
// io.EOF means the stream ended at a command boundary; io.ErrUnexpectedEOF
// that it ended inside one. Malformed input yields a *ProtocolError.
func (r *Reader) ReadCommand() ([][]byte, error) {
	if cap(r.buf) > maxKeepBytes {
		r.buf = nil
	}
	if cap(r.ends) > maxKeepArgs {
		r.ends, r.argv = nil, nil
	}
	r.buf, r.ends = r.buf[:0], r.ends[:0]
	for len(r.ends) == 0 {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == '*' {
			err = r.readMultibulk()
		} else {
			_ = r.br.UnreadByte()
			err = r.readInline()
		}
		if err != nil {
			return nil, err
		}
	}
	r.argv = r.argv[:0]
	start := 0
	for _, end := range r.ends {
		// Capacity is clipped so a caller appending to one argument cannot
		// overwrite the next.
		r.argv = append(r.argv, r.buf[start:end:end])
		start = end
	}
	return r.argv, nil
}

// readMultibulk reads the rest of a request whose leading '*' is consumed.
// Like Redis it ends header lines at the first '\r' and skips the byte after
// it, and skips the two bytes after bulk data without checking them.
func (r *Reader) readMultibulk() error {
	line, err := r.readLine('\r', r.lim.MaxInlineLen-1, "too big mbulk count string")
	if err != nil {
		return err
	}
	n, ok := parseInt(line)
	if !ok || n > r.lim.MaxArgs {
		return protoErr("invalid multibulk length")
	}
	if err := r.skip(1); err != nil {
		return err
	}
	var total int64
	for ; n > 0; n-- {
		line, err := r.readLine('\r', r.lim.MaxInlineLen, "too big bulk count string")
		if err != nil {
			return err
		}
		if len(line) == 0 || line[0] != '$' {
			got := byte(' ') // Redis blanks a '\r' or '\n' in error text.
			if len(line) > 0 && line[0] != '\n' {
				got = line[0]
			}
			return protoErr("expected '$', got '" + string([]byte{got}) + "'")
		}
		size, ok := parseInt(line[1:])
		if !ok || size < 0 || size > r.lim.MaxBulkLen {
			return protoErr("invalid bulk length")
		}
		if err := r.skip(1); err != nil {
			return err
		}
		// What one argument adds to a log entry: its bytes and a length.
		if total += size + 10; r.lim.MaxRequest > 0 && total > r.lim.MaxRequest {
			return r.refuse(size, n-1)
		}
		if r.buf, err = r.readN(r.buf, size); err != nil {
			return err
		}
		if err := r.skip(2); err != nil {
			return err
		}
		r.ends = append(r.ends, len(r.buf))
	}
	return nil
}

// refuse reads through the rest of a request over MaxRequest without
// keeping it (the current argument's size bytes and CRLF, then rest more
// arguments) so that the stream stays framed, then returns the refusal.
func (r *Reader) refuse(size, rest int64) error {
	skipped := size
	for {
		if _, err := r.br.Discard(int(size + 2)); err != nil {
			return unexpected(err)
		}
		if rest == 0 {
			break
		}
		rest--
		line, err := r.readLine('\r', r.lim.MaxInlineLen, "too big bulk count string")
		if err != nil {
			return err
		}
		var ok bool
		if len(line) == 0 || line[0] != '$' {
			return protoErr("expected '$'")
		}
		if size, ok = parseInt(line[1:]); !ok || size < 0 || size > r.lim.MaxBulkLen {
			return protoErr("invalid bulk length")
		}
		if err := r.skip(1); err != nil {
			return err
		}
		skipped += size
	}
	return protoErr(fmt.Sprintf("request of %d bytes, over max-entry-bytes (%d): a write must fit one log entry",
		int64(len(r.buf))+skipped, r.lim.MaxRequest))
}

func (r *Reader) readInline() error {
	line, err := r.readLine('\n', r.lim.MaxInlineLen, "too big inline request")
	if err != nil {
		return err
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	// sdssplitargs works on a C string, so a NUL ends the line.
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	return r.splitInline(line)
}

// splitInline is a port of Redis's sdssplitargs, appending each argument
// to r.buf. Its quirks are deliberate: a quote inside a bare word opens a
// quoted section, and a closing quote must be followed by a space or the end.
func (r *Reader) splitInline(line []byte) error {
	at := func(i int) byte { // 0 past the end, like the C string's terminator
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	for i := 0; ; {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return nil
		}
		var q byte // the open quote, if any
		for done := false; !done; i++ {
			switch c := at(i); {
			case q == '"' && c == '\\' && at(i+1) == 'x' && isHex(at(i+2)) && isHex(at(i+3)):
				r.buf = append(r.buf, unhex(at(i+2))<<4|unhex(at(i+3)))
				i += 3
			case q == '"' && c == '\\' && at(i+1) != 0:
				i++
				r.buf = append(r.buf, unescape(line[i]))
			case q == '\'' && c == '\\' && at(i+1) == '\'':
				i++
				r.buf = append(r.buf, '\'')
			case q != 0 && c == q:
				if n := at(i + 1); n != 0 && !isSpace(n) {
					return errUnbalanced()
				}
				done = true
			case q != 0 && c == 0:
				return errUnbalanced()
			case q != 0:
				r.buf = append(r.buf, c)
			case c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0:
				done = true
			case c == '"' || c == '\'':
				q = c
			default:
				r.buf = append(r.buf, c)
			}
		}
		r.ends = append(r.ends, len(r.buf))
	}
}

// ReadReply reads one complete reply of any RESP2 or RESP3 type, including
// attributes and the value they annotate, and returns its exact bytes as a
// fresh copy so a follower can relay the leader's answer verbatim.
func (r *Reader) ReadReply() ([]byte, error) {
	buf := r.rep[:0]
	defer func() {
		if cap(buf) <= maxKeepBytes {
			r.rep = buf
		}
	}()
	// Walking with a count of outstanding elements instead of recursion
	// keeps hostile nesting from exhausting the stack.
	for pending := int64(1); pending > 0; pending-- {
		t, err := r.br.ReadByte()
		if err != nil {
			if len(buf) > 0 {
				err = unexpected(err)
			}
			return nil, err
		}
		buf = append(buf, t)
		start := len(buf)
		if buf, err = r.appendLine(buf, '\n', int(r.lim.MaxBulkLen), "too big reply line"); err != nil {
			return nil, err
		}
		if len(buf)-start < 2 || buf[len(buf)-2] != '\r' {
			return nil, protoErr("reply line not terminated by CRLF")
		}
		line := buf[start : len(buf)-2]
		switch t {
		case '+', '-', ':', ',', '#', '_', '(':
		case '$', '=', '!':
			n, ok := parseInt(line)
			if ok && n == -1 && t == '$' {
				continue
			}
			if !ok || n < 0 || n > r.lim.MaxBulkLen {
				return nil, protoErr("invalid bulk length")
			}
			if buf, err = r.readN(buf, n+2); err != nil {
				return nil, err
			}
			if !bytes.HasSuffix(buf, crlf) {
				return nil, protoErr("bulk reply not terminated by CRLF")
			}
		case '*', '~', '>', '%', '|':
			n, ok := parseInt(line)
			if ok && n == -1 && t == '*' {
				continue
			}
			if !ok || n < 0 || n > maxReplyCount {
				return nil, protoErr("invalid multibulk length")
			}
			if t == '%' || t == '|' {
				n *= 2
			}
			if t == '|' {
				n++ // the annotated reply still fills this slot
			}
			if pending += n; pending > math.MaxInt64/4 {
				return nil, protoErr("reply nested too deeply")
			}
		default:
			return nil, protoErr("invalid reply type '" + string([]byte{t}) + "'")
		}
	}
	return bytes.Clone(buf), nil
}

var crlf = []byte("\r\n")

// readLine returns the bytes before the next delim, consuming the delim.
// The slice is valid until the next read. More than max bytes before the
// delimiter is a protocol error carrying msg.
func (r *Reader) readLine(delim byte, max int, msg string) ([]byte, error) {
	var err error
	if r.line, err = r.appendLine(r.line[:0], delim, max, msg); err != nil {
		return nil, err
	}
	return r.line[:len(r.line)-1], nil
}

// appendLine appends to dst everything up to and including the next delim.
func (r *Reader) appendLine(dst []byte, delim byte, max int, msg string) ([]byte, error) {
	start := len(dst)
	for {
		b, err := r.br.ReadSlice(delim)
		dst = append(dst, b...)
		n := len(dst) - start
		switch {
		case err == nil:
			if n-1 > max {
				return dst, protoErr(msg)
			}
			return dst, nil
		case n > max:
			// Checked before other errors: Redis would have refused the
			// line as soon as those bytes arrived.
			return dst, protoErr(msg)
		case err != bufio.ErrBufferFull:
			return dst, unexpected(err)
		}
	}
}

// readN appends exactly n bytes to dst, growing it only as data arrives.
func (r *Reader) readN(dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, int(min(n, int64(max(len(dst), minChunk)))))
		}
		m := int(min(n, int64(cap(dst)-len(dst))))
		k, err := io.ReadFull(r.br, dst[len(dst):len(dst)+m])
		dst = dst[:len(dst)+k]
		n -= int64(k)
		if err != nil {
			return dst, unexpected(err)
		}
	}
	return dst, nil
}

func (r *Reader) skip(n int) error {
	_, err := r.br.Discard(n)
	return unexpected(err)
}

// unexpected turns io.EOF into io.ErrUnexpectedEOF: only the first byte of a
// command or reply may end the stream cleanly.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseInt is Redis's string2ll: at most 20 characters, no sign but '-',
// no leading zeros, no "-0", no spaces.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 1 && b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(b) == 0 || len(b) > 20 || digits[0] == '0' && (neg || len(digits) > 1) {
		return 0, false
	}
	var v uint64
	for _, c := range digits {
		d := uint64(c - '0')
		if c < '0' || c > '9' || v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg && v <= 1<<63 {
		return int64(-v), true
	}
	return int64(v), !neg && v <= math.MaxInt64
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// unescape maps the character after a backslash inside double quotes.
func unescape(c byte) byte {
	if i := strings.IndexByte("nrtba", c); i >= 0 {
		return "\n\r\t\b\a"[i]
	}
	return c
}

func errUnbalanced() error { return protoErr("unbalanced quotes in request") }
