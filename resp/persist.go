package resp

import (
	"strings"
	"sync"
	"time"

	"github.com/understudy/understudy/fsm"
)

// SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE act on the node that receives
// them, as on one Redis instance (a replica saves itself). The Raft log is
// the append-only file (every write is on a majority's disks before it is
// acknowledged) and Raft's snapshot is the RDB file: saving takes a snapshot,
// which also compacts the log, so BGREWRITEAOF takes one too. LASTSAVE and
// INFO persistence's rdb_last_save_time are the last time this node's
// snapshot was taken by one of them, or the node's start.

// saver is one node's saving state.
type saver struct {
	mu        sync.Mutex
	running   bool  // a background save is under way
	scheduled bool  // BGSAVE SCHEDULE asked for another one after it
	last      int64 // unix seconds of the last successful save
	saves     int64 // successful saves (INFO rdb_saves)
	failed    bool  // the last save failed (INFO rdb_last_bgsave_status)
}

func (s *Server) lastSave() (last, saves int64, failed bool) {
	s.saver.mu.Lock()
	defer s.saver.mu.Unlock()
	if s.saver.last == 0 {
		return s.start.Unix(), s.saver.saves, s.saver.failed
	}
	return s.saver.last, s.saver.saves, s.saver.failed
}

// snapshot takes a snapshot now and records the outcome. Nothing new to
// snapshot counts as saved: the latest snapshot holds everything applied.
func (s *Server) snapshot() error {
	_, _, err := s.node.Snapshot()
	s.saver.mu.Lock()
	defer s.saver.mu.Unlock()
	s.saver.failed = err != nil
	if err != nil {
		s.log.Warn("save", "err", err)
		return err
	}
	s.saver.last = time.Now().Unix()
	s.saver.saves++
	return nil
}

// background starts a snapshot in the background unless one is running.
func (s *Server) background() bool {
	s.saver.mu.Lock()
	defer s.saver.mu.Unlock()
	if s.saver.running {
		return false
	}
	s.saver.running = true
	go func() {
		for {
			_ = s.snapshot()
			s.saver.mu.Lock()
			again := s.saver.scheduled
			s.saver.scheduled = false
			s.saver.running = again
			s.saver.mu.Unlock()
			if !again {
				return
			}
		}
	}()
	return true
}

func cmdSave(c *conn, _ [][]byte) fsm.Value {
	c.srv.saver.mu.Lock()
	running := c.srv.saver.running
	c.srv.saver.mu.Unlock()
	if running {
		return fsm.Err("ERR Background save already in progress")
	}
	if err := c.srv.snapshot(); err != nil {
		return fsm.Err("ERR " + err.Error())
	}
	return fsm.OK
}

func cmdBgsave(c *conn, argv [][]byte) fsm.Value {
	schedule := false
	switch {
	case len(argv) == 2 && strings.EqualFold(string(argv[1]), "schedule"):
		schedule = true
	case len(argv) > 1:
		return fsm.Err("ERR syntax error")
	}
	if c.srv.background() {
		return fsm.Simple("Background saving started")
	}
	if !schedule {
		return fsm.Err("ERR Background save already in progress")
	}
	c.srv.saver.mu.Lock()
	c.srv.saver.scheduled = true
	c.srv.saver.mu.Unlock()
	return fsm.Simple("Background saving scheduled")
}

func cmdBgrewriteaof(c *conn, _ [][]byte) fsm.Value {
	if c.srv.background() {
		return fsm.Simple("Background append only file rewriting started")
	}
	c.srv.saver.mu.Lock()
	c.srv.saver.scheduled = true
	c.srv.saver.mu.Unlock()
	return fsm.Simple("Background append only file rewriting scheduled")
}

func cmdLastsave(c *conn, _ [][]byte) fsm.Value {
	last, _, _ := c.srv.lastSave()
	return fsm.Int(last)
}
