package resp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// Authentication, as Redis 6+ does it: a connection starts as the default
// user, authenticated only if that user needs no password; AUTH and HELLO's
// AUTH option switch users; until then everything but AUTH, HELLO, QUIT and
// RESET is answered -NOAUTH. Unknown commands and wrong argument counts are
// reported first, as Redis does.

// Replies with Redis's texts.
var (
	replyNoAuth    = fsm.Err("NOAUTH Authentication required.")
	replyWrongPass = fsm.Err("WRONGPASS invalid username-password pair or user is disabled.")
	replyHelloAuth = fsm.Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
	replyNoDefPass = fsm.Err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	replyNoChannel = fsm.Err("NOPERM No permissions to access a channel")
	// A relay connection keeps the identity it was opened with: the
	// follower pools it for that identity only (forward.go).
	replyRelayAuth = fsm.Err("ERR AUTH, HELLO AUTH and RESET are not allowed on a follower's relay connection")
)

// session is who a connection is. It is replaced whole, never changed.
type session struct {
	user          *User
	authenticated bool
	cred          credential
}

// credential is what the client authenticated with. A follower replays it
// when it opens its relay connection to the leader, so that the leader
// checks the password against its own users and runs the client's commands
// as that user (forward.go). It is zero for a client that never sent AUTH.
type credential struct {
	user, pass string
	// key (hex SHA-256 of user and pass) tells relay connections of
	// different identities apart, without passwords as map keys.
	key string
}

func newCredential(user, pass string) credential {
	h := sha256.Sum256([]byte(user + "\x00" + pass))
	return credential{user: user, pass: pass, key: hex.EncodeToString(h[:])}
}

// authState is a connection's identity. Only the reader goroutine changes
// it; CLIENT LIST reads it from others.
type authState struct {
	// full: authenticated as a user with every permission. dispatch checks
	// only this on its hot path.
	full atomic.Bool
	sess atomic.Pointer[session]
}

func (a *authState) set(s *session) {
	a.sess.Store(s)
	a.full.Store(s.authenticated && s.user.full())
}

func (a *authState) session() *session { return a.sess.Load() }

// userName is the connection's user, for CLIENT LIST and ACL WHOAMI.
func (a *authState) userName() string {
	if s := a.sess.Load(); s != nil {
		return s.user.name
	}
	return "default"
}

// login switches the connection to name if pass is right for it.
// A refusal is logged (ACL LOG) under via, the command as the client typed
// its name (AUTH, HELLO), as Redis logs it.
func (c *conn) login(via, name, pass []byte) bool {
	u, ok := c.srv.cfg.Users.authenticate(name, pass)
	if !ok {
		c.logACL("auth", string(via), string(name)) // acllog.go
		return false
	}
	if u.nopass {
		// Any password is right: relaying one would let a client open a
		// relay connection (and pool) per password it makes up.
		pass = nil
	}
	c.auth.set(&session{user: u, authenticated: true, cred: newCredential(string(name), string(pass))})
	return true
}

// cmdAuth is AUTH [username] password.
func cmdAuth(c *conn, argv [][]byte) fsm.Value {
	if len(argv) > 3 {
		return fsm.Err("ERR syntax error")
	}
	if c.forwarded.Load() {
		return replyRelayAuth
	}
	name, pass := []byte("default"), argv[1]
	if len(argv) == 2 {
		if c.srv.cfg.Users.def.nopass {
			return replyNoDefPass
		}
	} else {
		name, pass = argv[1], argv[2]
	}
	if !c.login(argv[0], name, pass) {
		return replyWrongPass
	}
	return fsm.OK
}

// helloAuth runs HELLO's AUTH option, if given, and then refuses HELLO on a
// connection that is still not authenticated, as Redis does. ok false: v is
// the reply and HELLO changes nothing else.
func (c *conn) helloAuth(via []byte, auth bool, name, pass []byte) (v fsm.Value, ok bool) {
	if auth {
		if c.forwarded.Load() {
			return replyRelayAuth, false
		}
		if !c.login(via, name, pass) {
			return replyWrongPass, false
		}
	}
	if !c.auth.session().authenticated {
		return replyHelloAuth, false
	}
	return fsm.Value{}, true
}

// authGate runs before routing for a connection that is not authenticated
// as a user with every permission, for one whose transaction is forwarded to
// the leader, and for the commands allowed before authentication (AUTH,
// HELLO, QUIT, RESET: Redis's no_auth flag). It reports whether it answered
// the command. Unknown commands and wrong argument counts (cmd nil) are left
// to dispatch: Redis refuses them before it looks at who the client is.
func (c *conn) authGate(cmd *command, spec *cmdtab.Spec, argv [][]byte) bool {
	if cmd == nil {
		return false
	}
	if cmd.Has(cmdtab.NoAuth) {
		// Inside a transaction forwarded to the leader this connection
		// answers them: forwarded, AUTH and HELLO would try to change the
		// relay's identity. RESET is never queued, as in Redis.
		if cmd.route == routeLocal && !cmd.quits && (c.fwdTx || cmd.immediate) {
			c.push(&slot{val: cmd.local(c, cloneArgs(argv))})
			return true
		}
		return false
	}
	sess := c.auth.session()
	var v fsm.Value
	switch {
	case sess.authenticated && sess.user.allCommands:
		if sess.user.allChannels || cmdtab.Channels(spec, len(argv)) == nil || c.fwdTx {
			// Inside a forwarded transaction the leader, which knows the
			// same user, refuses it and aborts the transaction.
			return false
		}
		v = replyNoChannel
		c.logACL("channel", string(argv[cmdtab.Channels(spec, len(argv))[0]]), sess.user.name)
	case !sess.authenticated:
		v = replyNoAuth
	default:
		v = fsm.Err("NOPERM User " + sess.user.name + " has no permissions to run the '" + spec.Name + "' command")
		c.logACL("command", spec.Name, sess.user.name)
	}
	if c.tx.active {
		c.tx.dirty = true // as Redis: a refused command aborts the transaction
	}
	c.reject()
	c.push(&slot{val: v})
	return true
}

// resetCmd is RESET: the connection returns to the state of a new one —
// no transaction, subscriptions, name, READONLY or RESP3, and the default
// user (unauthenticated if it needs a password).
func (c *conn) resetCmd(argv [][]byte) fsm.Value {
	if c.forwarded.Load() {
		return replyRelayAuth
	}
	// The leader connection may hold a transaction or WATCHes of this
	// client's: close it rather than pool it.
	c.dropUpstream()
	c.tx.reset()
	c.fwdTx, c.txLost = false, false
	c.unsubscribeAll()
	c.subs = subState{}
	if c.monitoring {
		c.monitoring = false
		c.srv.monitors.remove(c)
	}
	c.readonly.Store(false)
	c.name.Store(nil)
	c.proto.Store(2)
	c.auth.set(c.srv.cfg.Users.anon)
	return fsm.Simple("RESET")
}

// dropUpstream closes this client's leader connection once every reply it
// owes has arrived.
func (c *conn) dropUpstream() {
	if c.up == nil {
		return
	}
	c.up.flush()
	if c.last != nil && c.lastClass == classForward {
		c.last.wait()
	}
	c.up.close()
	c.up, c.upTx = nil, false
}

// leaderRefusedError: the leader refused the client's identity when the
// relay connection was opened (it does not know the user, has it disabled,
// or knows another password). The leader's reply goes to the client as it
// is: unlike TRYAGAIN, retrying cannot help.
type leaderRefusedError struct {
	addr  string
	reply []byte
}

func (e *leaderRefusedError) Error() string {
	return "leader " + e.addr + " refused the client's identity: " + strings.TrimSpace(string(e.reply))
}

// authRefusal reports whether a reply refuses who the client is.
func authRefusal(raw []byte) bool {
	for _, p := range []string{"-NOAUTH ", "-WRONGPASS ", "-NOPERM "} {
		if bytes.HasPrefix(raw, []byte(p)) {
			return true
		}
	}
	return false
}

func refusedReply(err error) ([]byte, bool) {
	var e *leaderRefusedError
	if errors.As(err, &e) {
		return e.reply, true
	}
	return nil, false
}
