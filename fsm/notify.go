package fsm

import "strconv"

// Keyspace notifications, as Redis's notify-keyspace-events. They come from
// applied entries, so every node produces the same events in the same order
// and hands them to its own subscribers (the publish hook), like PUBLISH:
// a subscriber on a follower hears a write made through the leader. The
// setting is replicated (config.go), so every node filters alike.

// Notification classes: the letters of notify-keyspace-events.
const (
	NotifyKeyspace = 'K' // __keyspace@<db>__:<key> channels
	NotifyKeyevent = 'E' // __keyevent@<db>__:<event> channels
	NotifyGeneric  = 'g' // DEL, EXPIRE, RENAME, ... on any type
	NotifyString   = '$'
	NotifyList     = 'l'
	NotifySet      = 's'
	NotifyHash     = 'h'
	NotifyZset     = 'z'
	NotifyExpired  = 'x' // a key deleted because its TTL passed
	NotifyEvicted  = 'e' // a key deleted by maxmemory-policy
	NotifyStream   = 't'
	NotifyKeyMiss  = 'm' // a read found no key (node-local: never replicated)
	NotifyNew      = 'n' // a key was created
	NotifyModule   = 'd' // module key types (none here; accepted as in Redis)
)

// notifyFlags is the parsed notify-keyspace-events: a bit per class letter.
type notifyFlags uint32

var notifyBits = map[byte]notifyFlags{
	NotifyKeyspace: 1 << 0, NotifyKeyevent: 1 << 1, NotifyGeneric: 1 << 2,
	NotifyString: 1 << 3, NotifyList: 1 << 4, NotifySet: 1 << 5, NotifyHash: 1 << 6,
	NotifyZset: 1 << 7, NotifyExpired: 1 << 8, NotifyEvicted: 1 << 9,
	NotifyStream: 1 << 10, NotifyKeyMiss: 1 << 11, NotifyNew: 1 << 12, NotifyModule: 1 << 13,
}

// notifyAll is the 'A' alias: g$lshzxetd (not m, not n), as in Redis 7.0.
const notifyAll = "g$lshzxetd"

// parseNotifyFlags parses a notify-keyspace-events value as Redis's
// keyspaceEventsStringToFlags does; ok is false for an unknown letter.
func parseNotifyFlags(s string) (f notifyFlags, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 'A' {
			for j := 0; j < len(notifyAll); j++ {
				f |= notifyBits[notifyAll[j]]
			}
			continue
		}
		bit, known := notifyBits[s[i]]
		if !known {
			return 0, false
		}
		f |= bit
	}
	return f, true
}

// String is the setting as CONFIG GET shows it (Redis 7.0's
// keyspaceEventsFlagsToString: 'A' for the whole set, else each class and
// n; then K, E, m). Under 'A' the n flag is kept but not shown, as there.
func (f notifyFlags) String() string {
	var out []byte
	all := notifyFlags(0)
	for j := 0; j < len(notifyAll); j++ {
		all |= notifyBits[notifyAll[j]]
	}
	if f&all == all {
		out = append(out, 'A')
	} else {
		for j := 0; j < len(notifyAll); j++ {
			if f&notifyBits[notifyAll[j]] != 0 {
				out = append(out, notifyAll[j])
			}
		}
		if f&notifyBits[NotifyNew] != 0 {
			out = append(out, NotifyNew)
		}
	}
	for _, c := range []byte{NotifyKeyspace, NotifyKeyevent, NotifyKeyMiss} {
		if f&notifyBits[c] != 0 {
			out = append(out, c)
		}
	}
	return string(out)
}

// notify publishes a keyspace event of class about key in the command's
// database, if notify-keyspace-events asks for it. Write commands call it
// with Redis's own event names, at the points Redis's notifyKeyspaceEvent
// calls are. Reads never publish (only keymiss would, and those are
// node-local in Redis too).
func (c *ctx) notify(class byte, event string, key string) {
	if !c.write {
		return
	}
	c.notifyDB(c.db, class, event, key)
}

// notifyDB is notify for a database other than the command's (MOVE, COPY).
func (c *ctx) notifyDB(db int, class byte, event string, key string) {
	c.f.event(db, class, event, key)
}

// event publishes a keyspace event in database db if the replicated
// notify-keyspace-events asks for its class. Only applied entries call it
// (commands through notify, the keyspace through put), so every node
// publishes the same events in the same order.
func (f *FSM) event(db int, class byte, event string, key string) {
	flags := f.conf.notify
	if flags&notifyBits[class] == 0 {
		return
	}
	dbs := strconv.Itoa(db)
	if flags&notifyBits[NotifyKeyspace] != 0 {
		f.published = append(f.published, Message{Channel: "__keyspace@" + dbs + "__:" + key, Payload: event})
	}
	if flags&notifyBits[NotifyKeyevent] != 0 {
		f.published = append(f.published, Message{Channel: "__keyevent@" + dbs + "__:" + event, Payload: key})
	}
}

// created is told by the keyspace of every key a write adds (Redis's dbAdd
// fires "new" there, before the command's own event). A key that replaces
// an expired one the command did not look up first was expired at that
// moment, as Redis's lookup would have found: "expired", then "new".
func (ks *keyspace) created(key string, replacedExpired bool) {
	if ks.f == nil || ks.f.conf.notify == 0 {
		return
	}
	if replacedExpired {
		ks.f.event(ks.num, NotifyExpired, "expired", key)
	}
	ks.f.event(ks.num, NotifyNew, "new", key)
}
