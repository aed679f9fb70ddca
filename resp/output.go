package resp

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/understudy/understudy/fsm"
)

// Output limits. A connection's writer goroutine writes each reply as it
// completes, and the bounded slot queue (MaxPipeline) stops reading a client
// that pipelines without reading, so what a client that stops reading can
// hold is (a) replies already computed, up to MaxPipeline of them, however
// large, and (b) pub/sub messages, which arrive whether or not it asks.
//
//   - (a) is bounded in time: with WriteTimeout set, every 64 KiB of reply
//     must be taken by the client within WriteTimeout, or the connection is
//     closed. A slow but reading client is never cut; one that stopped
//     reading is cut after WriteTimeout.
//   - (b) is bounded in bytes, as Redis's "client-output-buffer-limit pubsub
//     32mb 8mb 60": messages waiting for the writer may not exceed Hard
//     bytes, nor stay above Soft bytes for SoftFor; past either the
//     subscriber is disconnected. (And never more than maxPendingPushes
//     messages.)
//
// Either way the connection is closed, logged once, and counted in INFO's
// client_output_buffer_limit_disconnections.

// outputChunk is the most written to the socket under one deadline.
const outputChunk = 64 << 10

// clientOutput is the connection as the reply writer sees it when the write
// timeout is on.
type clientOutput struct {
	c        *conn
	timeout  time.Duration
	deadline time.Time // the write deadline last set
}

func (o *clientOutput) Write(p []byte) (int, error) {
	nc := o.c.nc
	done := 0
	for done < len(p) {
		end := min(len(p), done+outputChunk)
		// Moving the deadline costs a timer update: skip it while the one
		// set still leaves most of the timeout.
		if d := time.Now().Add(o.timeout); d.Sub(o.deadline) > o.timeout/8 {
			_ = nc.SetWriteDeadline(d)
			o.deadline = d
		}
		n, err := nc.Write(p[done:end])
		done += n
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				o.c.cutForLimit("client stopped reading its replies", "write_timeout", o.timeout)
			}
			return done, err
		}
	}
	return done, nil
}

// output is what the connection's Writer writes to.
func (c *conn) output() io.Writer {
	if t := c.srv.cfg.Clients.WriteTimeout; t > 0 {
		return &clientOutput{c: c, timeout: t}
	}
	return c.nc
}

// cutForLimit closes c for exceeding an output limit, logging it once.
func (c *conn) cutForLimit(why string, args ...any) {
	if !c.lim.cut.CompareAndSwap(false, true) {
		return
	}
	c.srv.lim.outputDisconnects.Add(1)
	c.srv.log.Warn("disconnecting client: "+why, append([]any{"client", remote(c.nc), "id", c.id}, args...)...)
	abort(c.nc)
}

// abort closes nc with a reset, dropping what the kernel still holds for
// it. A plain close would leave that (up to the socket's send buffer) queued
// for a client that does not read, and a kernel that gives up on such an
// orphaned socket drops it silently, so the client might never learn it was
// disconnected; a reset frees the memory now and tells the client at once.
func abort(nc net.Conn) {
	raw := nc
	if tc, ok := nc.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	nc.Close()
}

// pushSize estimates what a queued pub/sub message holds.
func pushSize(v fsm.Value) int64 {
	n := int64(32)
	for _, e := range v.Arr {
		n += int64(len(e.Str)) + 16
	}
	return n
}

// reservePush accounts for a message about to be queued for c; it reports
// false, having disconnected c, if that breaks the pub/sub output limit.
func (c *conn) reservePush(v fsm.Value) bool {
	lim := *c.srv.lim.pubsub.Load()
	l := &c.lim
	held := l.pushBytes.Add(pushSize(v))
	if lim.Hard > 0 && held > lim.Hard {
		c.cutForLimit("pub/sub output buffer over its hard limit", "pending_bytes", held, "hard_limit", lim.Hard)
		return false
	}
	if lim.Soft <= 0 || held <= lim.Soft {
		l.overSoft.Store(0)
		return true
	}
	now := time.Now().UnixNano()
	since := l.overSoft.Load()
	if since == 0 {
		l.overSoft.CompareAndSwap(0, now)
		return true
	}
	if time.Duration(now-since) >= lim.SoftFor {
		c.cutForLimit("pub/sub output buffer over its soft limit for too long", "pending_bytes", held, "soft_limit", lim.Soft, "for", lim.SoftFor)
		return false
	}
	return true
}

// pushWritten releases what a written message held.
func (c *conn) pushWritten(v fsm.Value) {
	if c.lim.pushBytes.Add(-pushSize(v)) <= c.srv.lim.pubsub.Load().Soft {
		c.lim.overSoft.Store(0)
	}
}
