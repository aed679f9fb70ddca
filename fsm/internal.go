package fsm

import "fmt"

// Internal commands are proposed only by the node itself (OpInternal); a
// client cannot name them because the RESP layer never emits that op.
//
//	expired k1 k2 ...            delete keys whose TTL has passed at the entry's time
//	level N DATABASES [SECRET]   raise the cluster level to N (never lowered),
//	                             fixing the number of databases and the first
//	                             relay secret at level 2
//	config-set name value ...    set replicated CONFIG parameters (config.go)
//	relay-secret HEX             a new relay secret (relay.go)
//	evict key version ...        delete keys the leader chose for maxmemory, if
//	                             unchanged since (evict.go; level 2)
//	meta id client-addr admin-addr [peer-client-addr peer-admin-addr]
//	                             record where node id serves clients and admins
//	                             (and, if given, where other nodes reach it)
func runInternal(c *ctx, argv [][]byte) Value {
	switch {
	case eqFold(argv[0], "expired"):
		var n int64
		for _, k := range argv[1:] {
			if it, ok := c.ks.raw(string(k)); ok && isExpired(it.exp, c.now) {
				c.ks.del(it.key)
				c.notify(NotifyExpired, "expired", it.key)
				c.f.expired.Add(1)
				n++
			}
		}
		return Int(n)
	case eqFold(argv[0], "meta") && (len(argv) == 4 || len(argv) == 6):
		m := NodeMeta{ClientAddr: string(argv[2]), AdminAddr: string(argv[3])}
		if len(argv) == 6 {
			m.PeerClientAddr, m.PeerAdminAddr = string(argv[4]), string(argv[5])
		}
		c.f.meta[string(argv[1])] = m
		return OK
	case eqFold(argv[0], "level") && (len(argv) == 3 || len(argv) == 4):
		n, ok1 := parseInt(argv[1])
		dbs, ok2 := parseInt(argv[2])
		if !ok1 || !ok2 || n < int64(Level1) || n > int64(MaxLevel) || dbs < 1 || dbs > MaxDatabases {
			// A level above MaxLevel never gets here: Apply stops the node
			// first (fsm.go), since skipping it would let replicas diverge.
			return Err("ERR bad level command")
		}
		if Level(n) > c.f.level {
			// Reaching level 2 brings the relay secret with it, so every
			// node has one from the moment the bare relay handshake stops
			// being accepted (a secret kept from before, as after a restore
			// of an older backup, becomes the previous one).
			if len(argv) == 4 && c.f.level < Level2 && Level(n) >= Level2 && len(argv[3]) >= 32 {
				c.f.relay = relaySecret{cur: string(argv[3]), prev: c.f.relay.cur}
			}
			c.f.level = Level(n)
			if c.f.databases == 0 {
				c.f.databases = int(dbs)
			}
		}
		return OK
	case eqFold(argv[0], "relay-secret"):
		return cmdRelaySecret(c, argv)
	case eqFold(argv[0], "evict"):
		return runEvict(c, argv)
	case eqFold(argv[0], "config-set"):
		return cmdConfigSet(c, argv)
	case eqFold(argv[0], "forget") && len(argv) == 2:
		delete(c.f.meta, string(argv[1]))
		return OK
	}
	return Err("ERR unknown internal command '" + string(argv[0]) + "'")
}

// checkLevel refuses an entry that raises the cluster level beyond what this
// build applies: applying the rest of the log without it would let this
// node diverge, so the node stops instead, naming the level it needs.
func (e *Entry) checkLevel() error {
	for _, c := range e.Cmds {
		if c.Op != OpInternal || len(c.Argv) != 3 || !eqFold(c.Argv[0], "level") {
			continue
		}
		if n, ok := parseInt(c.Argv[1]); ok && n > int64(MaxLevel) {
			return fmt.Errorf("the cluster moved to level %d, %w (this build applies levels up to %d): downgrades are refused; run a build at least as new", n, ErrNewerFormat, MaxLevel)
		}
	}
	return nil
}

// CheckEntry decodes a stored entry and checks that this build can apply it:
// the start-up check runs it over the log, so that a node never starts on a
// log a newer build wrote (errors.Is(err, ErrNewerFormat)) and never applies
// half of it.
func CheckEntry(b []byte) error {
	e, err := DecodeEntry(b)
	if err != nil {
		return err
	}
	return e.checkLevel()
}
