package testcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/chaos/respclient"
)

// Reply is one reply as the server sent it. RESP3 types keep their own
// Kind; maps ('%') and attributes come as Arr of alternating keys and values.
type Reply struct {
	Kind byte // '+', '-', ':', '$', '*', or a RESP3 type byte
	Str  string
	Int  int64
	Arr  []Reply
	Null bool // $-1, *-1 or RESP3 '_'
}

// IsErr reports an error reply.
func (r Reply) IsErr() bool { return r.Kind == '-' || r.Kind == '!' }

// ErrPrefix reports an error reply starting with prefix ("TRYAGAIN").
func (r Reply) ErrPrefix(prefix string) bool { return r.IsErr() && strings.HasPrefix(r.Str, prefix) }

// OK reports a +OK reply.
func (r Reply) OK() bool { return r.Kind == '+' && r.Str == "OK" }

// String renders the reply compactly for messages and comparisons.
func (r Reply) String() string {
	switch {
	case r.Null:
		return "(nil)"
	case r.Kind == '+':
		return r.Str
	case r.IsErr():
		return "-" + r.Str
	case r.Kind == ':':
		return "(integer) " + strconv.FormatInt(r.Int, 10)
	case r.Kind == '$', r.Kind == '=', r.Kind == ',', r.Kind == '(', r.Kind == '#':
		return strconv.Quote(r.Str)
	case r.Kind == '*', r.Kind == '~', r.Kind == '%', r.Kind == '>':
		parts := make([]string, len(r.Arr))
		for i, e := range r.Arr {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("?%q", r.Kind)
}

// RespError is an error reply as a Go value (see Value).
type RespError string

func (e RespError) Error() string { return string(e) }

// Value is the reply as plain Go values: string, int64, nil, []any, or a
// RespError for an error reply.
func (r Reply) Value() any {
	switch {
	case r.Null:
		return nil
	case r.IsErr():
		return RespError(r.Str)
	case r.Kind == ':':
		return r.Int
	case r.Arr != nil || r.Kind == '*' || r.Kind == '~' || r.Kind == '%' || r.Kind == '>':
		out := make([]any, len(r.Arr))
		for i, e := range r.Arr {
			out[i] = e.Value()
		}
		return out
	}
	return r.Str
}

// OKReply, IntReply, BulkReply, NilReply and ErrReply are the replies tests
// most often expect.
func OKReply() Reply            { return Reply{Kind: '+', Str: "OK"} }
func IntReply(n int64) Reply    { return Reply{Kind: ':', Int: n} }
func BulkReply(s string) Reply  { return Reply{Kind: '$', Str: s} }
func NilReply() Reply           { return Reply{Kind: '$', Null: true} }
func ErrReply(msg string) Reply { return Reply{Kind: '-', Str: msg} }

// DialError means no connection could be made: nothing was sent.
type DialError struct{ Err error }

func (e *DialError) Error() string { return "dial: " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

// Client is one RESP connection. Every call has a deadline, so a server
// that never answers fails the call instead of hanging the test. It retries
// nothing unless MaxRetries is set. A client from Dial keeps its one
// connection (after a transport error its calls keep failing, as the
// connection does); one from NewClient dials on first use and again after a
// transport error.
type Client struct {
	Addr string
	// Redial drops the connection after a transport error and dials again
	// on the next call (NewClient sets it).
	Redial bool
	// Timeout bounds each call (plus a millisecond per pipelined command),
	// like go-redis's read and write timeouts.
	Timeout time.Duration
	// MaxRetries > 0 retries a command the way go-redis does by default: up
	// to MaxRetries more times, backing off 8ms, 16ms, 32ms... (at most
	// 512ms), after a TRYAGAIN reply or a connection that broke, closed or
	// timed out (it is redialled). OnRetry, if set, hears each retry's reason.
	MaxRetries int
	OnRetry    func(reason string)

	nc     net.Conn
	br     *bufio.Reader
	closed bool // a client from Dial was closed: calls fail
}

// NewClient returns a client of addr that connects on first use and again
// after a transport error.
func NewClient(addr string) *Client {
	return &Client{Addr: addr, Timeout: 10 * time.Second, Redial: true}
}

// Dial returns a client of addr connected now, for its one connection.
func Dial(addr string) (*Client, error) {
	c := &Client{Addr: addr, Timeout: 10 * time.Second}
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c, nil
}

// MustDial connects to addr, closing the connection when the test ends.
func MustDial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := Dial(addr)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// Close closes the connection (with Redial, the next call dials again).
func (c *Client) Close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
	c.closed = !c.Redial
}

// Conn is the current connection (nil before a Redial client's first call
// or after its transport error), for tests that act on the socket itself.
func (c *Client) Conn() net.Conn { return c.nc }

// Reader reads the connection's replies, for tests that read replies
// themselves (ReadReply).
func (c *Client) Reader() *bufio.Reader { return c.br }

func (c *Client) connect() error {
	if c.nc != nil {
		return nil
	}
	if c.closed {
		return fmt.Errorf("%s: %w", c.Addr, net.ErrClosed)
	}
	nc, err := net.DialTimeout("tcp", c.Addr, 2*time.Second)
	if err != nil {
		return &DialError{err}
	}
	c.nc, c.br = nc, bufio.NewReader(nc)
	return nil
}

// Do sends one command and reads its reply. The error is a transport or
// framing error only; error replies come back as a Reply of Kind '-'.
func (c *Client) Do(args ...string) (Reply, error) {
	backoff := 8 * time.Millisecond
	for attempt := 0; ; attempt++ {
		rs, err := c.Pipeline([][]string{args})
		reason := ""
		switch {
		case err != nil:
			reason = TransportReason(err)
		case rs[0].ErrPrefix("TRYAGAIN"):
			reason = "TRYAGAIN"
		}
		if reason == "" || attempt >= c.MaxRetries {
			if err != nil {
				return Reply{}, err
			}
			return rs[0], nil
		}
		if c.OnRetry != nil {
			c.OnRetry(reason)
		}
		time.Sleep(backoff) // client retry back-off, not synchronisation
		backoff = min(2*backoff, 512*time.Millisecond)
	}
}

// TransportReason classifies a transport error as go-redis's retry rules see it.
func TransportReason(err error) string {
	var ne net.Error
	var de *DialError
	switch {
	case errors.As(err, &de):
		return "dial"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by server"
	case errors.As(err, &ne) && ne.Timeout():
		return "no reply in time"
	}
	return "broken connection"
}

// Pipeline sends every command at once, then reads one reply for each. A
// transport error drops the connection and fails the whole pipeline (the
// replies read before it are returned).
func (c *Client) Pipeline(cmds [][]string) ([]Reply, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	var buf []byte
	for _, args := range cmds {
		buf = AppendCommand(buf, args)
	}
	fail := func(out []Reply, err error) ([]Reply, error) {
		if c.Redial {
			c.Close()
		}
		return out, fmt.Errorf("%s: %w", c.Addr, err)
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.Timeout + time.Duration(len(cmds))*time.Millisecond)); err != nil {
		return fail(nil, err)
	}
	if _, err := c.nc.Write(buf); err != nil {
		return fail(nil, err)
	}
	out := make([]Reply, 0, len(cmds))
	for range cmds {
		r, err := ReadReply(c.br)
		if err != nil {
			return fail(out, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// MustDo runs one command and fails the test on a transport error.
func (c *Client) MustDo(t testing.TB, args ...string) Reply {
	t.Helper()
	r, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %q: %v", c.Addr, args, err)
	}
	return r
}

// MustReply runs one command and fails the test unless the reply is want.
// Unless want is itself an error, a TRYAGAIN reply is retried for a while,
// as clients do: TRYAGAIN guarantees the command had no effect, and a
// leader election can happen at any time on a loaded machine.
func (c *Client) MustReply(t testing.TB, want Reply, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.MustDo(t, args...)
		if got.ErrPrefix("TRYAGAIN") && !want.IsErr() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // client back-off before retrying
			continue
		}
		if got.String() != want.String() {
			t.Fatalf("%s %q: got %s, want %s", c.Addr, args, got, want)
		}
		return
	}
}

// AppendCommand appends args as a RESP array of bulk strings (the chaos
// client's encoder: one for every test client).
func AppendCommand(buf []byte, args []string) []byte { return respclient.AppendCommand(buf, args) }

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line != "" {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("reply line %q does not end in CRLF", line)
	}
	return line[:len(line)-2], nil
}

// ReadReply reads one RESP2 or RESP3 reply. An attribute ('|') is read and
// dropped with the reply it annotates returned.
func ReadReply(br *bufio.Reader) (Reply, error) {
	line, err := readLine(br)
	if err != nil {
		return Reply{}, err
	}
	if line == "" {
		return Reply{}, errors.New("empty reply line")
	}
	r := Reply{Kind: line[0]}
	body := line[1:]
	switch r.Kind {
	case '+', '-', ',', '(':
		r.Str = body
	case '#':
		r.Str = body
		if body == "t" {
			r.Int = 1
		}
	case '_':
		r.Null = true
	case ':':
		if r.Int, err = strconv.ParseInt(body, 10, 64); err != nil {
			return Reply{}, fmt.Errorf("bad integer reply %q", line)
		}
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return Reply{}, fmt.Errorf("bad bulk length %q", line)
		}
		if n == -1 {
			r.Null = true
			break
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(br, data); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, err
		}
		if !bytes.HasSuffix(data, []byte("\r\n")) {
			return Reply{}, fmt.Errorf("bulk of %d bytes not followed by CRLF", n)
		}
		r.Str = string(data[:n])
		if r.Kind == '=' && len(r.Str) >= 4 {
			r.Str = r.Str[4:] // "txt:"
		}
	case '*', '~', '%', '>', '|':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return Reply{}, fmt.Errorf("bad aggregate length %q", line)
		}
		if n == -1 {
			r.Null = true
			break
		}
		if r.Kind == '%' || r.Kind == '|' {
			n *= 2
		}
		r.Arr = make([]Reply, n)
		for i := range r.Arr {
			if r.Arr[i], err = ReadReply(br); err != nil {
				return Reply{}, err
			}
		}
		if r.Kind == '|' {
			return ReadReply(br)
		}
	default:
		return Reply{}, fmt.Errorf("unexpected reply type in %q", line)
	}
	return r, nil
}
