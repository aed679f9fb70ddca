package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A minimal RESP2 client for the end-to-end tests that check raw replies;
// go-redis v9 (in go.mod) drives goredis_process_test.go. It behaves
// like a go-redis client with MaxRetries 0 and a pool of one connection:
// every error is returned to the caller, a broken connection is dropped and
// the next command dials again.

// respErr is an error reply from the server (-TRYAGAIN ..., -MOVED ...).
type respErr string

func (e respErr) Error() string { return string(e) }

// dialErr means no connection could be made: nothing was sent.
type dialErr struct{ err error }

func (e *dialErr) Error() string { return "dial: " + e.err.Error() }
func (e *dialErr) Unwrap() error { return e.err }

type respClient struct {
	addr    string
	timeout time.Duration // per command, like go-redis ReadTimeout/WriteTimeout
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
}

func newRESPClient(addr string) *respClient {
	return &respClient{addr: addr, timeout: 3 * time.Second}
}

func (c *respClient) Close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

func (c *respClient) connect() error {
	if c.nc != nil {
		return nil
	}
	nc, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
	if err != nil {
		return &dialErr{err}
	}
	c.nc, c.br, c.bw = nc, bufio.NewReader(nc), bufio.NewWriter(nc)
	return nil
}

// Do sends one command and returns its reply: string, int64, nil, []any, or
// a respErr as the error.
func (c *respClient) Do(args ...string) (any, error) {
	out, err := c.Pipeline([][]string{args})
	if err != nil {
		return nil, err
	}
	if e, ok := out[0].(respErr); ok {
		return nil, e
	}
	return out[0], nil
}

// Pipeline sends every command, then reads every reply; error replies are
// returned in place as respErr values. A transport error drops the
// connection and fails the whole pipeline.
func (c *respClient) Pipeline(cmds [][]string) ([]any, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	_ = c.nc.SetDeadline(time.Now().Add(c.timeout + time.Duration(len(cmds))*time.Millisecond))
	for _, args := range cmds {
		fmt.Fprintf(c.bw, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(c.bw, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if err := c.bw.Flush(); err != nil {
		c.Close()
		return nil, err
	}
	out := make([]any, len(cmds))
	for i := range cmds {
		v, err := readReply(c.br)
		if err != nil {
			c.Close()
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line != "" {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("protocol: line without CRLF: %q", line)
	}
	return line[:len(line)-2], nil
}

func readReply(br *bufio.Reader) (any, error) {
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, errors.New("protocol: empty line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respErr(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '_':
		return nil, nil
	case '$', '=':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("protocol: bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		s := string(buf[:n])
		if line[0] == '=' && len(s) >= 4 {
			s = s[4:] // "txt:"
		}
		return s, nil
	case '*', '~', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("protocol: array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		if line[0] == '%' {
			n *= 2
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readReply(br); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	return nil, fmt.Errorf("protocol: unexpected reply type %q", line)
}

// outcome classifies the result of one write, as docs/reliability.md records it.
type outcome int

const (
	outAck       outcome = iota // OK: the write happened
	outDefinite                 // TRYAGAIN, MOVED, dial error: it did not happen
	outUncertain                // UNCERTAIN, timeout, EOF, reset: it may have happened
	outOther                    // anything else: a reply the server should not give
)

func (o outcome) String() string {
	return [...]string{"acknowledged", "definite failure", "uncertain", "unexpected"}[o]
}

func classifyWrite(reply any, err error) outcome {
	if err == nil {
		if reply == "OK" {
			return outAck
		}
		return outOther
	}
	var re respErr
	var de *dialErr
	var ne net.Error
	switch {
	case errors.As(err, &re):
		switch {
		case strings.HasPrefix(string(re), "TRYAGAIN"), strings.HasPrefix(string(re), "MOVED"):
			return outDefinite
		case strings.HasPrefix(string(re), "UNCERTAIN"):
			return outUncertain
		}
		return outOther
	case errors.As(err, &de):
		return outDefinite
	case errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return outUncertain
	}
	return outOther
}
