package main

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/understudy/understudy/internal/testcluster"
)

// The end-to-end tests that check raw replies use the one test harness's
// RESP client (internal/testcluster) through this adapter, which gives
// replies as plain values; go-redis v9 drives goredis_process_test.go. It
// behaves like a go-redis client with MaxRetries 0 and a pool of one
// connection: every error is returned to the caller, a broken connection is
// dropped and the next command dials again.

// respErr is an error reply from the server (-TRYAGAIN ..., -MOVED ...).
type respErr = testcluster.RespError

// dialErr means no connection could be made: nothing was sent.
type dialErr = testcluster.DialError

type respClient struct{ *testcluster.Client }

func newRESPClient(addr string) *respClient {
	c := testcluster.NewClient(addr)
	c.Timeout = 3 * time.Second
	return &respClient{c}
}

// Do sends one command and returns its reply: string, int64, nil, []any, or
// a respErr as the error.
func (c *respClient) Do(args ...string) (any, error) {
	r, err := c.Client.Do(args...)
	if err != nil {
		return nil, err
	}
	if r.IsErr() {
		return nil, respErr(r.Str)
	}
	return r.Value(), nil
}

// Pipeline sends every command, then reads every reply; error replies are
// returned in place as respErr values. A transport error drops the
// connection and fails the whole pipeline.
func (c *respClient) Pipeline(cmds [][]string) ([]any, error) {
	rs, err := c.Client.Pipeline(cmds)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.Value()
	}
	return out, nil
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
