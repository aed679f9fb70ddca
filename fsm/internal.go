package fsm

// Internal commands are proposed only by the node itself (OpInternal); a
// client cannot name them because the RESP layer never emits that op.
//
//	expired k1 k2 ...            delete keys whose TTL has passed at the entry's time
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
	case eqFold(argv[0], "forget") && len(argv) == 2:
		delete(c.f.meta, string(argv[1]))
		return OK
	}
	return Err("ERR unknown internal command '" + string(argv[0]) + "'")
}
