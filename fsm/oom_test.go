package fsm_test

import (
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// TestDenyOOM pins which commands a node over its memory limit refuses: the
// writes Redis 7 flags "denyoom", and never a read or a command that only
// removes data, so an operator can always free memory.
func TestDenyOOM(t *testing.T) {
	deny := strings.Fields("set getset mset msetnx setnx setex psetex append incr decr incrby decrby incrbyfloat setrange" +
		" hset hmset hsetnx hincrby hincrbyfloat" +
		" lpush rpush lpushx rpushx lset linsert lmove rpoplpush" +
		" sadd sinterstore sunionstore sdiffstore" +
		" zadd zincrby zunionstore zinterstore")
	allow := strings.Fields("get del unlink flushdb flushall expire pexpire expireat pexpireat persist rename renamenx getdel getex" +
		" hdel lpop rpop lrem ltrim spop srem smove zrem zpopmin zpopmax zremrangebyscore zremrangebyrank zremrangebylex" +
		" publish lrange " + fsm.BPopCommand + " " + fsm.ExecCommand)
	denied := map[string]bool{}
	for _, name := range deny {
		denied[name] = true
	}
	for _, name := range append(deny, allow...) {
		c := fsm.Lookup([]byte(name))
		if c == nil {
			t.Errorf("Lookup(%q) = nil", name)
			continue
		}
		if c.DenyOOM() != denied[name] {
			t.Errorf("%s: DenyOOM() = %v, want %v", name, c.DenyOOM(), denied[name])
		}
	}
	// Every write is classified here, so a new command has to be placed.
	for _, c := range fsm.Commands() {
		if c.IsWrite() && !denied[c.Name] && !strings.Contains(" "+strings.Join(allow, " ")+" ", " "+c.Name+" ") {
			t.Errorf("write command %s is in neither list: does it grow memory?", c.Name)
		}
	}
}
