package resp

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Users and their passwords, in the subset of Redis's ACL file syntax that
// Understudy supports:
//
//	user <name> [rule ...]
//
// with the rules on, off, nopass, resetpass, reset, >password, <password,
// #sha256hex, !sha256hex, and permissions that are all or nothing: ~* or
// allkeys (resetkeys), &* or allchannels (resetchannels), +@all or
// allcommands (-@all, nocommands). sanitize-payload and
// skip-sanitize-payload are accepted and ignored (there is no RESTORE). Any
// other rule — a command list such as +get, a key pattern such as ~app:*, a
// selector — is refused when the file is loaded rather than ignored, so a
// restriction is never believed to hold when it does not. Blank lines and
// lines starting with '#' are skipped (Redis itself accepts no comments).
//
// Passwords are kept only as SHA-256 hashes, as Redis does, and compared in
// constant time.

// User is one account. It never changes once loaded.
type User struct {
	name    string
	enabled bool
	nopass  bool
	payload string // "", "sanitize-payload" or "skip-sanitize-payload": shown, not enforced
	hashes  [][sha256.Size]byte
	// All-or-nothing permissions.
	allKeys, allChannels, allCommands bool
}

// Name is the user's name.
func (u *User) Name() string { return u.name }

// full reports whether u may run every command on every key and channel:
// connections of such a user skip the permission checks.
func (u *User) full() bool { return u.allCommands && u.allKeys && u.allChannels }

func (u *User) checkPassword(pass []byte) bool {
	if u.nopass {
		return true
	}
	h := sha256.Sum256(pass)
	ok := 0
	for i := range u.hashes {
		ok |= subtle.ConstantTimeCompare(h[:], u.hashes[i][:])
	}
	return ok == 1
}

func (u *User) addHash(h [sha256.Size]byte) {
	u.nopass = false
	for _, old := range u.hashes {
		if old == h {
			return
		}
	}
	u.hashes = append(u.hashes, h)
}

func (u *User) removeHash(h [sha256.Size]byte) {
	out := u.hashes[:0]
	for _, old := range u.hashes {
		if old != h {
			out = append(out, old)
		}
	}
	u.hashes = out
}

// errRule is the message for a rule outside the supported subset.
const errRule = "is not supported (Understudy users have all permissions or none: ~* &* +@all; " +
	"rules: on off nopass resetpass reset >pass <pass #sha256 !sha256 ~* allkeys resetkeys &* allchannels resetchannels +@all allcommands -@all nocommands)"

// apply changes u by one rule, as ACL SETUSER would.
func (u *User) apply(rule string) error {
	switch rule {
	case "on":
		u.enabled = true
	case "off":
		u.enabled = false
	case "nopass":
		u.nopass, u.hashes = true, nil
	case "resetpass":
		u.nopass, u.hashes = false, nil
	case "reset":
		*u = User{name: u.name, payload: "sanitize-payload"}
	case "sanitize-payload", "skip-sanitize-payload":
		u.payload = rule
	case "~*", "allkeys":
		u.allKeys = true
	case "resetkeys":
		u.allKeys = false
	case "&*", "allchannels":
		u.allChannels = true
	case "resetchannels":
		u.allChannels = false
	case "+@all", "allcommands":
		u.allCommands = true
	case "-@all", "nocommands":
		u.allCommands = false
	default:
		switch rule[0] {
		case '>':
			u.addHash(sha256.Sum256([]byte(rule[1:])))
		case '<':
			u.removeHash(sha256.Sum256([]byte(rule[1:])))
		case '#', '!':
			h, err := parseHash(rule[1:])
			if err != nil {
				return fmt.Errorf("rule %q: %w", rule, err)
			}
			if rule[0] == '#' {
				u.addHash(h)
			} else {
				u.removeHash(h)
			}
		default:
			return fmt.Errorf("rule %q %s", rule, errRule)
		}
	}
	return nil
}

// parseHash accepts what Redis accepts: exactly 64 lower-case hex digits.
func parseHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	if len(s) != 2*sha256.Size || strings.ToLower(s) != s {
		return h, errors.New("the password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errors.New("the password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	}
	return h, nil
}

// describe is u in ACL LIST form, field for field as Redis 7 writes it.
func (u *User) describe() string {
	var b strings.Builder
	b.WriteString("user ")
	b.WriteString(u.name)
	for _, f := range u.flags() {
		b.WriteString(" " + f)
	}
	for _, h := range u.hashes {
		b.WriteString(" #" + hex.EncodeToString(h[:]))
	}
	if u.allKeys {
		b.WriteString(" ~*")
	}
	if u.allChannels {
		b.WriteString(" &*")
	} else {
		b.WriteString(" resetchannels")
	}
	if u.allCommands {
		b.WriteString(" +@all")
	} else {
		b.WriteString(" -@all")
	}
	return b.String()
}

func (u *User) flags() []string {
	f := []string{"off"}
	if u.enabled {
		f[0] = "on"
	}
	if u.nopass {
		f = append(f, "nopass")
	}
	if u.payload != "" {
		f = append(f, u.payload)
	}
	return f
}

// ParseACL reads users in ACL file syntax (see the package comment above);
// source names the input in errors ("file:line: ...").
func ParseACL(r io.Reader, source string) ([]*User, error) {
	var users []*User
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if fields[0] != "user" || len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: a line must be \"user <name> [rule ...]\"", source, n)
		}
		name := fields[1]
		if strings.ContainsRune(name, 0) {
			return nil, fmt.Errorf("%s:%d: usernames can't contain null characters", source, n)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s:%d: duplicate user %q", source, n, name)
		}
		seen[name] = true
		// A new user starts as Redis creates one: off, no password, no
		// permissions.
		u := &User{name: name}
		for _, rule := range fields[2:] {
			if err := u.apply(rule); err != nil {
				return nil, fmt.Errorf("%s:%d: user %q: %w", source, n, name, err)
			}
		}
		if u.allCommands && !u.allKeys {
			return nil, fmt.Errorf("%s:%d: user %q: +@all without ~* %s", source, n, name, errRule)
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return users, nil
}

// Users is the set of accounts a server accepts, fixed at start-up.
type Users struct {
	byName map[string]*User
	names  []string // sorted, for ACL USERS and ACL LIST
	def    *User
	// anon is the session every connection starts with: the default user,
	// authenticated only if it needs no password (and is enabled).
	anon *session
	// dummy is compared against for unknown users, so that a name that
	// does not exist takes as long to refuse as a wrong password.
	dummy User
}

// NewUsers builds the user set. requirepass, if not empty, is the default
// user's password (Redis's requirepass); users come from ParseACL. Without
// either, the default user needs no password, as in Redis, and every
// connection is authenticated as it.
func NewUsers(requirepass string, users []*User) (*Users, error) {
	s := &Users{byName: map[string]*User{}}
	for _, u := range users {
		s.byName[u.name] = u
	}
	_, inFile := s.byName["default"]
	switch {
	case inFile && requirepass != "":
		return nil, errors.New("the ACL file defines user \"default\" and requirepass sets its password too: use one of them")
	case !inFile:
		// Redis's default user: everything, no password unless requirepass.
		d := &User{name: "default", enabled: true, nopass: true, allKeys: true, allChannels: true, allCommands: true}
		if requirepass != "" {
			d.nopass = false
			d.addHash(sha256.Sum256([]byte(requirepass)))
		}
		s.byName["default"] = d
	}
	s.def = s.byName["default"]
	for name := range s.byName {
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	s.anon = &session{user: s.def, authenticated: s.def.enabled && s.def.nopass}
	s.dummy.hashes = [][sha256.Size]byte{sha256.Sum256([]byte("understudy: no such user"))}
	return s, nil
}

// RequiresAuth reports whether a new connection must authenticate.
func (s *Users) RequiresAuth() bool { return !s.anon.authenticated }

// authenticate checks a name and password; a disabled user is refused like
// a wrong password, with the same reply.
func (s *Users) authenticate(name, pass []byte) (*User, bool) {
	u, ok := s.byName[string(name)]
	if !ok {
		s.dummy.checkPassword(pass)
		return nil, false
	}
	if !u.checkPassword(pass) || !u.enabled {
		return nil, false
	}
	return u, true
}

func defaultUsers() *Users {
	s, _ := NewUsers("", nil) // cannot fail without users
	return s
}
