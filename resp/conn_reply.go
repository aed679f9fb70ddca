package resp

import (
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
)

// The replies a connection owes, in request order: the slots the reader
// pushes, the ordering of commands across classes, and the write loop.

// class orders commands on one connection. Commands of one class pipeline
// freely; before a command of another class is started, the previous one must
// have completed, so that a read never overtakes an earlier write on the same
// connection (or the reverse) while they travel different paths.
type class uint8

const (
	classLocal class = iota
	classWrite
	classRead
	classForward
)

// slot is one reply owed to the client, in request order.
type slot struct {
	val   fsm.Value
	fut   *node.Future  // reply from the node
	done  chan struct{} // closed when a forwarded reply (raw or err) is in
	raw   []byte
	err   error
	write bool
	quit  bool // close the connection after this reply
	// post rewrites the node's reply before it is written (EXEC splices
	// node-local replies into the transaction's array).
	post func(fsm.Value) fsm.Value
	// block extends the wait for a forwarded reply (blocking commands).
	block time.Duration
	// silent: CLIENT REPLY OFF or SKIP: the reply is computed, not sent.
	silent  bool
	cmdMeta // command stats and slow log (cmdstats.go)
}

func (s *slot) wait() {
	switch {
	case s.fut != nil:
		<-s.fut.Done()
	case s.done != nil:
		<-s.done
	}
}

func (c *conn) push(s *slot) {
	if c.replyOff || c.skipThis {
		s.silent = true
	}
	c.stamp(s)
	c.lim.owed.Add(1)
	c.slots <- s
}

// order waits, when the class changes, for the previous command to finish.
func (c *conn) order(cl class, s *slot) {
	if c.last != nil && c.lastClass != cl && cl != classLocal && c.lastClass != classLocal {
		c.flushUpstream()
		c.last.wait()
	}
	if cl != classLocal {
		c.last, c.lastClass = s, cl
	}
}

func (c *conn) writeLoop(done chan<- struct{}) {
	defer close(done)
	broken := false
	for {
		var s *slot
		select {
		case <-c.pushReady:
			c.pushMu.Lock()
			q := c.pushes
			c.pushes = nil
			c.pushMu.Unlock()
			var err error
			for _, v := range q {
				if !broken && err == nil {
					c.wr.SetProto(int(c.proto.Load()))
					err = c.wr.WriteValue(v)
				}
				c.pushWritten(v)
			}
			if !broken && err == nil && len(c.slots) == 0 {
				err = c.wr.Flush()
			}
			if !broken && err != nil {
				broken = true
				c.nc.Close()
			}
			continue
		case sl, ok := <-c.slots:
			if !ok {
				if !broken {
					_ = c.wr.Flush()
				}
				return
			}
			s = sl
		}
		if broken {
			continue
		}
		s.wait()
		c.wr.SetProto(int(c.proto.Load()))
		var err error
		var out fsm.Value // what was written, for the stats (raw: relayed as is)
		var raw []byte
		switch {
		case s.fut != nil:
			v, ferr := s.fut.Result()
			if ferr != nil {
				v = c.srv.errorReply(ferr, s.write)
			} else if s.post != nil {
				v = s.post(v)
			}
			out = v
			err = c.writeReply(s, v)
		case s.done != nil:
			switch {
			case s.err != nil:
				out = c.srv.errorReply(s.err, s.write)
				err = c.writeReply(s, out)
			case s.post != nil && len(s.raw) > 0 && s.raw[0] != '-':
				out = s.post(fsm.Value{})
				err = c.writeReply(s, out)
			default:
				raw = s.raw
				err = c.writeRawReply(s, s.raw)
			}
		default:
			out = s.val
			err = c.writeReply(s, s.val)
		}
		c.finish(s, out, raw)
		if err == nil && (len(c.slots) == 0 || s.quit) {
			err = c.wr.Flush()
		}
		if err != nil || s.quit {
			broken = true
			// Unblock the reader: it may be waiting to push more slots.
			c.nc.Close()
		}
		c.lim.owed.Add(-1)
	}
}

// writeReply writes a reply, unless CLIENT REPLY silenced it.
func (c *conn) writeReply(s *slot, v fsm.Value) error {
	if s.silent {
		return nil
	}
	return c.wr.WriteValue(v)
}

func (c *conn) writeRawReply(s *slot, raw []byte) error {
	if s.silent {
		return nil
	}
	return c.wr.WriteRaw(raw)
}
