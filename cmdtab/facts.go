package cmdtab

import "bytes"

// Facts about commands that Redis keeps in its C code rather than in its
// command table. They are Redis's behaviour, so they live here beside the
// reference, not in the layers that use them.

// Channels returns the positions of the channel (or pattern) arguments of a
// command that needs channel permissions (ACL &pattern), as Redis's
// getChannelsFromCommand finds them; nil for any other command.
func Channels(s *Spec, argc int) []int {
	var first, last int
	switch s.Name {
	case "publish", "spublish":
		first, last = 1, 1
	case "subscribe", "ssubscribe", "psubscribe":
		first, last = 1, argc-1
	default:
		return nil
	}
	var out []int
	for i := first; i <= last && i < argc; i++ {
		out = append(out, i)
	}
	return out
}

// AllowedInSubscribe reports whether a RESP2 connection in subscribe mode
// may run the command (Redis's processCommand lets only these through).
func AllowedInSubscribe(s *Spec) bool {
	switch s.Name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
		"psubscribe", "punsubscribe", "quit", "reset":
		return true
	}
	return false
}

// Secret reports whether a command's arguments may hold a password, so
// they must not be shown (Redis redacts them in the slow log and MONITOR:
// AUTH, HELLO's AUTH, MIGRATE's AUTH/AUTH2, ACL SETUSER's passwords,
// CONFIG SET of masterauth and requirepass).
func Secret(s *Spec) bool {
	switch s.Name {
	case "auth", "hello", "migrate", "acl|setuser", "config|set":
		return true
	}
	return false
}

// Container reports whether the command has subcommands (CONFIG, CLIENT...).
func (s *Spec) Container() bool { return len(s.Subs) > 0 }

// keyFinder returns Redis's command-specific key finder (its getkeys_proc)
// for the commands whose key specifications are incomplete or whose flags
// vary, nil for the others.
func keyFinder(s *Spec) func(argv [][]byte) ([]KeyPos, bool) {
	switch s.Name {
	case "sort", "sort_ro":
		return sortKeys
	case "migrate":
		return migrateKeys
	case "georadius", "georadiusbymember":
		return georadiusKeys
	case "xread", "xreadgroup":
		return func(argv [][]byte) ([]KeyPos, bool) { return xreadKeys(argv, s.Name == "xreadgroup") }
	case "set":
		return setKeys
	}
	return nil
}

func eqFold(b []byte, s string) bool { return bytes.EqualFold(b, []byte(s)) }

// sortKeys is sortGetKeys: the sorted key, and the last STORE destination.
func sortKeys(argv [][]byte) ([]KeyPos, bool) {
	keys := []KeyPos{{Pos: 1, Flags: KeyRO | KeyAccess}}
	store := 0
	for i := 2; i < len(argv); i++ {
		switch {
		case eqFold(argv[i], "limit"):
			i += 2
		case eqFold(argv[i], "get"), eqFold(argv[i], "by"):
			i++
		case eqFold(argv[i], "store") && i+1 < len(argv):
			store = i + 1
		}
	}
	if store > 0 {
		keys = append(keys, KeyPos{Pos: store, Flags: KeyOW | KeyUpdate})
	}
	return keys, true
}

// migrateKeys is migrateGetKeys: argv[3], or every key after KEYS.
func migrateKeys(argv [][]byte) ([]KeyPos, bool) {
	first, num := 3, 1
	if len(argv) > 6 {
		for i := 6; i < len(argv); i++ {
			if eqFold(argv[i], "keys") {
				if len(argv[3]) > 0 {
					return nil, false
				}
				first, num = i+1, len(argv)-i-1
				break
			}
			switch {
			case eqFold(argv[i], "auth"):
				i++
			case eqFold(argv[i], "auth2"):
				i += 2
			}
		}
	}
	var keys []KeyPos
	for i := first; i < first+num; i++ {
		keys = append(keys, KeyPos{Pos: i, Flags: KeyRW | KeyAccess | KeyDelete})
	}
	return keys, true
}

// georadiusKeys is georadiusGetKeys: the key, and the last STORE/STOREDIST.
func georadiusKeys(argv [][]byte) ([]KeyPos, bool) {
	keys := []KeyPos{{Pos: 1, Flags: KeyRO | KeyAccess}}
	stored := 0
	for i := 5; i < len(argv); i++ {
		if (eqFold(argv[i], "store") || eqFold(argv[i], "storedist")) && i+1 < len(argv) {
			stored = i + 1
			i++
		}
	}
	if stored > 0 {
		keys = append(keys, KeyPos{Pos: stored, Flags: KeyOW | KeyUpdate})
	}
	return keys, true
}

// xreadKeys is xreadGetKeys: the first half of the arguments after STREAMS.
func xreadKeys(argv [][]byte, group bool) ([]KeyPos, bool) {
	streams := 0
	for i := 1; i < len(argv); i++ {
		if eqFold(argv[i], "block") || eqFold(argv[i], "count") {
			i++
		} else if group && eqFold(argv[i], "group") {
			i += 2
		} else if eqFold(argv[i], "noack") {
			continue
		} else if eqFold(argv[i], "streams") {
			streams = i
			break
		} else {
			return nil, false
		}
	}
	n := len(argv) - streams - 1
	if streams == 0 || n == 0 || n%2 != 0 {
		return nil, false
	}
	flags := KeyRO | KeyAccess
	if group {
		flags = KeyRW | KeyAccess | KeyUpdate
	}
	var keys []KeyPos
	for i := streams + 1; i < streams+1+n/2; i++ {
		keys = append(keys, KeyPos{Pos: i, Flags: flags})
	}
	return keys, true
}

// setKeys is setGetKeys: the key, RW access update with GET, else OW update.
func setKeys(argv [][]byte) ([]KeyPos, bool) {
	flags := KeyOW | KeyUpdate
	for _, a := range argv[3:] {
		if eqFold(a, "get") {
			flags = KeyRW | KeyAccess | KeyUpdate
			break
		}
	}
	return []KeyPos{{Pos: 1, Flags: flags}}, true
}
