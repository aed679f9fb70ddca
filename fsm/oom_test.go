package fsm_test

import (
	"testing"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// TestDenyOOM: a node over its memory limit refuses exactly the commands
// Redis 7.0 flags "denyoom" (writes that may grow memory), never a read, and
// never a command that only removes data, so an operator can free memory.
func TestDenyOOM(t *testing.T) {
	for _, name := range []string{"set", "append", "hset", "lpush", "sadd", "zadd", "zunionstore", "copy"} {
		if c := fsm.Lookup([]byte(name)); c == nil || !c.DenyOOM() {
			t.Errorf("%s: DenyOOM() false, want true", name)
		}
	}
	for _, name := range []string{"get", "del", "unlink", "flushall", "expire", "getdel", "lpop", "srem", "zrem", "publish", "move", "swapdb", fsm.BPopCommand, fsm.ExecCommand} {
		if c := fsm.Lookup([]byte(name)); c == nil || c.DenyOOM() {
			t.Errorf("%s: DenyOOM() true, want false", name)
		}
	}
	for _, c := range fsm.Commands() {
		if c.DenyOOM() != c.Has(cmdtab.DenyOOM) || (c.DenyOOM() && !c.IsWrite()) {
			t.Errorf("%s: DenyOOM() %v, Redis's denyoom flag %v, write %v", c.Name, c.DenyOOM(), c.Has(cmdtab.DenyOOM), c.IsWrite())
		}
	}
}
