package fsm

// noGrow lists the write commands that cannot grow memory: they delete,
// pop, shrink or only change metadata, so a node over its memory limit still
// runs them and an operator can free space. The others correspond to Redis's
// "denyoom" flag. PUBLISH is here too: Redis does not refuse it under
// maxmemory, and a message is not kept once delivered. EXEC is checked per
// queued command, when it is queued, as Redis does.
var noGrow = map[string]bool{
	"del": true, "unlink": true, "flushdb": true, "flushall": true,
	"expire": true, "pexpire": true, "expireat": true, "pexpireat": true, "persist": true,
	"rename": true, "renamenx": true,
	"getdel": true, "getex": true,
	"hdel": true,
	"lpop": true, "rpop": true, "lrem": true, "ltrim": true, BPopCommand: true,
	"spop": true, "srem": true, "smove": true,
	"zrem": true, "zpopmin": true, "zpopmax": true,
	"zremrangebyscore": true, "zremrangebyrank": true, "zremrangebylex": true,
	"publish": true, ExecCommand: true,
}

// DenyOOM reports whether the command may grow memory, so that a node above
// its memory limit refuses it (Redis's "denyoom" command flag): every write
// except those in noGrow.
func (c *Command) DenyOOM() bool { return c.IsWrite() && !noGrow[c.Name] }
