// Package respclient is the chaos suite's Redis-protocol client: one
// connection, one request at a time, no retries and no pooling, so that every
// reply the suite records answers exactly the request it sent, and every
// failure can be classified (see Classify) instead of being hidden by a
// client library's own retries (go-redis retries TRYAGAIN by itself).
package respclient

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Kind is the RESP2 type of a reply.
type Kind byte

// Reply kinds, named after their RESP2 type bytes.
const (
	Simple Kind = '+'
	Error  Kind = '-'
	Int    Kind = ':'
	Bulk   Kind = '$'
	Array  Kind = '*'
)

// Reply is one decoded RESP2 reply. Nil is set for the null bulk string and
// the null array (EXEC aborted by WATCH).
type Reply struct {
	Kind  Kind
	Str   string // Simple, Error, Bulk
	Int   int64  // Int
	Elems []Reply
	Nil   bool
}

func (r Reply) String() string {
	switch {
	case r.Nil:
		return "(nil)"
	case r.Kind == Int:
		return strconv.FormatInt(r.Int, 10)
	case r.Kind == Array:
		parts := make([]string, len(r.Elems))
		for i, e := range r.Elems {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, " ") + "]"
	case r.Kind == Error:
		return "-" + r.Str
	}
	return r.Str
}

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Kind == Error }

// DialError means no connection was made: no request was sent.
type DialError struct{ Err error }

func (e *DialError) Error() string { return "dial: " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

// Conn is one connection. It is not safe for concurrent use.
type Conn struct {
	Addr string
	nc   net.Conn
	rd   *bufio.Reader
	wr   *bufio.Writer
	dead bool
}

// Dial connects to addr within timeout.
func Dial(addr string, timeout time.Duration) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, &DialError{err}
	}
	return &Conn{Addr: addr, nc: nc, rd: bufio.NewReaderSize(nc, 32<<10), wr: bufio.NewWriterSize(nc, 4<<10)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.dead = true
	return c.nc.Close()
}

// Broken reports whether an I/O error has made the connection unusable.
func (c *Conn) Broken() bool { return c.dead }

// Do sends one command and reads its reply, all within timeout. Any error
// other than an error reply (which is a Reply) breaks the connection: the
// caller must not reuse it, and must treat a write's outcome as unknown.
func (c *Conn) Do(timeout time.Duration, args ...string) (Reply, error) {
	if err := c.Send(timeout, args...); err != nil {
		return Reply{}, err
	}
	r, err := readReply(c.rd, 0)
	if err != nil {
		c.fail()
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
	return r, nil
}

// Send writes one command (with a deadline) and does not wait for the reply.
func (c *Conn) Send(timeout time.Duration, args ...string) error {
	if c.dead {
		return errors.New("connection already broken")
	}
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	c.wr.Write(AppendCommand(nil, args))
	if err := c.wr.Flush(); err != nil {
		c.fail()
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func (c *Conn) fail() {
	c.dead = true
	c.nc.Close()
}

// AppendCommand appends args encoded as a RESP array of bulk strings.
func AppendCommand(b []byte, args []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

const maxDepth = 8

// ReadReply decodes one RESP2 reply from rd.
func ReadReply(rd *bufio.Reader) (Reply, error) { return readReply(rd, 0) }

func readReply(rd *bufio.Reader, depth int) (Reply, error) {
	if depth > maxDepth {
		return Reply{}, errors.New("reply nested too deeply")
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		return Reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Reply{}, fmt.Errorf("malformed reply line %q", line)
	}
	kind, body := Kind(line[0]), line[1:len(line)-2]
	switch kind {
	case Simple, Error:
		return Reply{Kind: kind, Str: body}, nil
	case Int:
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return Reply{}, fmt.Errorf("malformed integer %q", body)
		}
		return Reply{Kind: Int, Int: n}, nil
	case Bulk:
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 512<<20 {
			return Reply{}, fmt.Errorf("malformed bulk length %q", body)
		}
		if n == -1 {
			return Reply{Kind: Bulk, Nil: true}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return Reply{}, err
		}
		return Reply{Kind: Bulk, Str: string(buf[:n])}, nil
	case Array:
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 1<<20 {
			return Reply{}, fmt.Errorf("malformed array length %q", body)
		}
		if n == -1 {
			return Reply{Kind: Array, Nil: true}, nil
		}
		r := Reply{Kind: Array, Elems: make([]Reply, 0, n)}
		for range n {
			e, err := readReply(rd, depth+1)
			if err != nil {
				return Reply{}, err
			}
			r.Elems = append(r.Elems, e)
		}
		return r, nil
	}
	return Reply{}, fmt.Errorf("unknown reply type %q", line[0])
}
