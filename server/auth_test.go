package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testACL has a user of each kind the tests need.
const testACL = `# test users
user default on >defpw ~* &* +@all
user bob on >bobpw ~* &* +@all
user dis off >dispw ~* &* +@all
user ro on >ropw ~* &* -@all
user quiet on >qpw ~* resetchannels +@all
user np on nopass ~* &* +@all
`

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func withACL(t *testing.T, acl string) clusterOption {
	path := writeFile(t, t.TempDir(), "users.acl", acl)
	return withConfig(func(c *Config) { c.ACLFile = path })
}

// login connects to addr and authenticates (with AUTH's one- or
// two-argument form, as creds has one or two elements).
func login(t *testing.T, addr string, creds ...string) *respClient {
	t.Helper()
	c := mustClient(t, addr)
	c.mustReply(t, okReply(), append([]string{"AUTH"}, creds...)...)
	return c
}

func mustContain(t *testing.T, what string, r reply, want string) {
	t.Helper()
	if !strings.Contains(r.Str, want) {
		t.Errorf("%s: %s does not contain %q", what, r, want)
	}
}

// TestAuth_RedisSemantics checks AUTH, HELLO AUTH, ACL, RESET and the
// refusals byte for byte against Redis 7's texts, on the leader.
func TestAuth_RedisSemantics(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	addr := leader(t, nodes).clientAddr()

	c := mustClient(t, addr)
	noAuth := errReply("NOAUTH Authentication required.")
	wrongPass := errReply("WRONGPASS invalid username-password pair or user is disabled.")
	// Unknown commands and argument counts are reported before NOAUTH, as Redis does.
	c.mustReply(t, errReply("ERR unknown command 'NOSUCH', with args beginning with: 'x' "), "NOSUCH", "x")
	c.mustReply(t, errReply("ERR wrong number of arguments for 'get' command"), "GET")
	c.mustReply(t, noAuth, "GET", "k")
	c.mustReply(t, noAuth, "PING")
	c.mustReply(t, noAuth, "CLIENT", "LIST")
	c.mustReply(t, noAuth, "MULTI")
	c.mustReply(t, noAuth, "SUBSCRIBE", "ch")
	c.mustReply(t, noAuth, "UNDERSTUDY.FORWARDED")
	c.mustReply(t, errReply("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"), "HELLO", "3")
	c.mustReply(t, errReply("ERR wrong number of arguments for 'auth' command"), "AUTH")
	c.mustReply(t, errReply("ERR syntax error"), "AUTH", "a", "b", "c")
	c.mustReply(t, wrongPass, "AUTH", "nope")
	c.mustReply(t, wrongPass, "AUTH", "bob", "nope")
	c.mustReply(t, wrongPass, "AUTH", "nobody", "bobpw")
	c.mustReply(t, wrongPass, "AUTH", "dis", "dispw") // disabled: the same reply
	c.mustReply(t, wrongPass, "HELLO", "2", "AUTH", "bob", "nope")
	c.mustReply(t, noAuth, "GET", "k")

	c.mustReply(t, okReply(), "AUTH", "defpw")
	c.mustReply(t, bulkReply("default"), "ACL", "WHOAMI")
	c.mustReply(t, okReply(), "SET", "k", "v")
	c.mustReply(t, okReply(), "AUTH", "bob", "bobpw")
	c.mustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	// A failed AUTH leaves the connection as it was.
	c.mustReply(t, wrongPass, "AUTH", "default", "nope")
	c.mustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	mustContain(t, "CLIENT INFO", c.mustDo(t, "CLIENT", "INFO"), " user=bob ")
	c.mustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("bob"), bulkReply("default"), bulkReply("dis"), bulkReply("np"), bulkReply("quiet"), bulkReply("ro")}}, "ACL", "USERS")
	qh := sha256.Sum256([]byte("qpw"))
	list := c.mustDo(t, "ACL", "LIST")
	if want := "user quiet on #" + hex.EncodeToString(qh[:]) + " ~* resetchannels +@all"; len(list.Arr) != 6 || list.Arr[4].Str != want {
		t.Errorf("ACL LIST: %s; want 6 users, the fifth %q", list, want)
	}
	if r := c.mustDo(t, "ACL", "GETUSER", "ro"); len(r.Arr) != 12 || r.Arr[5].Str != "-@all" {
		t.Errorf("ACL GETUSER ro: %s", r)
	}
	c.mustReply(t, nilReply(), "ACL", "GETUSER", "nobody")
	c.mustReply(t, errReply("ERR wrong number of arguments for 'acl|whoami' command"), "ACL", "WHOAMI", "x")
	mustContain(t, "ACL SETUSER", c.mustDo(t, "ACL", "SETUSER", "eve", "on"), "not supported")
	if r := c.mustDo(t, "ACL", "GENPASS"); len(r.Str) != 64 {
		t.Errorf("ACL GENPASS: %s", r)
	}

	// HELLO AUTH authenticates and switches protocol at once (RESP2 here:
	// this client reads RESP2 only; go-redis covers RESP3).
	h := mustClient(t, addr)
	if r := h.mustDo(t, "HELLO", "2", "AUTH", "bob", "bobpw", "SETNAME", "app"); r.isErr() || len(r.Arr) != 14 {
		t.Fatalf("HELLO 2 AUTH: %s", r)
	}
	h.mustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	h.mustReply(t, bulkReply("app"), "CLIENT", "GETNAME")

	// RESET: back to the default user, unauthenticated as it needs a password.
	h.mustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET")
	h.mustReply(t, noAuth, "GET", "k")
	h.mustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET") // allowed unauthenticated
	h.mustReply(t, okReply(), "AUTH", "default", "defpw")
	h.mustReply(t, nilReply(), "CLIENT", "GETNAME")
	h.mustReply(t, bulkReply("v"), "GET", "k")

	// A user without command permissions may authenticate and nothing more.
	r := login(t, addr, "ro", "ropw")
	r.mustReply(t, errReply("NOPERM User ro has no permissions to run the 'get' command"), "GET", "k")
	r.mustReply(t, errReply("NOPERM User ro has no permissions to run the 'acl|whoami' command"), "ACL", "WHOAMI")
	r.mustReply(t, errReply("NOPERM User ro has no permissions to run the 'understudy.forwarded' command"), "UNDERSTUDY.FORWARDED")

	// Without channel permissions: no PUBLISH or SUBSCRIBE, and a refused
	// command aborts a transaction, as in Redis.
	q := login(t, addr, "quiet", "qpw")
	noChannel := errReply("NOPERM No permissions to access a channel")
	q.mustReply(t, noChannel, "PUBLISH", "ch", "m")
	q.mustReply(t, noChannel, "SUBSCRIBE", "ch")
	q.mustReply(t, okReply(), "SET", "q", "1")
	q.mustReply(t, okReply(), "MULTI")
	q.mustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", "q", "2")
	q.mustReply(t, noChannel, "PUBLISH", "ch", "m")
	q.mustReply(t, errReply("EXECABORT Transaction discarded because of previous errors."), "EXEC")
	q.mustReply(t, bulkReply("1"), "GET", "q")

	// CLIENT KILL USER closes that user's connections.
	c.mustReply(t, errReply("ERR No such user 'nobody'"), "CLIENT", "KILL", "USER", "nobody")
	c.mustReply(t, intReply(1), "CLIENT", "KILL", "USER", "quiet")
	if _, err := q.Do("PING"); err == nil {
		t.Error("quiet's connection survived CLIENT KILL USER quiet")
	}

	// QUIT needs no authentication.
	if got := sendRaw(t, addr, "QUIT\r\n"); got != "+OK\r\n" {
		t.Errorf("QUIT unauthenticated: %q", got)
	}
}

// TestAuth_NoPasswordConfigured: without users every connection is the
// default user, and AUTH answers as Redis does then.
func TestAuth_NoPasswordConfigured(t *testing.T) {
	nodes := startCluster(t, 1)
	c := mustClient(t, leader(t, nodes).clientAddr())
	c.mustReply(t, errReply("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"), "AUTH", "x")
	c.mustReply(t, okReply(), "AUTH", "default", "anything") // nopass takes any password
	c.mustReply(t, errReply("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "bob", "x")
	c.mustReply(t, bulkReply("default"), "ACL", "WHOAMI")
	c.mustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("user default on nopass ~* &* +@all")}}, "ACL", "LIST")
	mustContain(t, "CLIENT LIST", c.mustDo(t, "CLIENT", "LIST"), " user=default ")
	c.mustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET")
	c.mustReply(t, okReply(), "SET", "k", "v")
}

// TestAuth_ViaFollower: a follower authenticates its clients itself, and
// its relay connection to the leader carries the client's identity.
func TestAuth_ViaFollower(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	l := leader(t, nodes)
	f := followers(nodes, l)[0]

	c := mustClient(t, f.clientAddr())
	c.mustReply(t, errReply("NOAUTH Authentication required."), "SET", "fk", "v")
	c.mustReply(t, errReply("NOAUTH Authentication required."), "MULTI")
	c.mustReply(t, errReply("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "dis", "dispw")
	c.mustReply(t, okReply(), "AUTH", "bob", "bobpw")
	c.mustReply(t, okReply(), "SET", "fk", "v") // forwarded
	c.mustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	c.mustReply(t, bulkReply("v"), "GET", "fk")

	lc := login(t, l.clientAddr(), "defpw")
	lc.mustReply(t, bulkReply("v"), "GET", "fk")
	// The relay connection the leader sees is bob's.
	mustContain(t, "leader's CLIENT LIST", lc.mustDo(t, "CLIENT", "LIST"), " user=bob ")

	// Another identity on the same client connection gets its own relay.
	c.mustReply(t, okReply(), "AUTH", "default", "defpw")
	c.mustReply(t, okReply(), "SET", "fk2", "w")
	lc.mustReply(t, bulkReply("w"), "GET", "fk2")

	// A user without a password, whatever password the client gives.
	for _, pw := range []string{"one", "two"} {
		np := login(t, f.clientAddr(), "np", pw)
		np.mustReply(t, okReply(), "SET", "np-"+pw, "1")
		np.mustReply(t, bulkReply("np"), "ACL", "WHOAMI")
	}

	// Permissions are checked on the follower.
	r := login(t, f.clientAddr(), "ro", "ropw")
	r.mustReply(t, errReply("NOPERM User ro has no permissions to run the 'set' command"), "SET", "fk", "x")
	q := login(t, f.clientAddr(), "quiet", "qpw")
	q.mustReply(t, errReply("NOPERM No permissions to access a channel"), "PUBLISH", "ch", "m")

	// RESET inside a transaction forwarded to the leader discards it.
	c.mustReply(t, okReply(), "MULTI")
	c.mustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", "never", "1")
	c.mustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET")
	c.mustReply(t, errReply("NOAUTH Authentication required."), "GET", "never")
	c.mustReply(t, okReply(), "AUTH", "bob", "bobpw")
	c.mustReply(t, errReply("ERR EXEC without MULTI"), "EXEC")
	c.mustReply(t, nilReply(), "GET", "never")

	// AUTH inside a forwarded transaction is answered here and does not
	// disturb the transaction on the leader.
	c.mustReply(t, okReply(), "MULTI")
	c.mustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", "tx", "1")
	c.mustReply(t, okReply(), "AUTH", "default", "defpw")
	c.mustReply(t, reply{Kind: '*', Arr: []reply{okReply()}}, "EXEC")
	c.mustReply(t, bulkReply("default"), "ACL", "WHOAMI")
	lc.mustReply(t, bulkReply("1"), "GET", "tx")
}

// TestAuth_LeaderChecksRelayedIdentity: the leader checks the identity a
// follower relays against its own users. Node n1's file has mallory
// enabled, the others' disabled: with n1 a follower, mallory authenticates
// on n1 but cannot write through it.
func TestAuth_LeaderChecksRelayedIdentity(t *testing.T) {
	dir := t.TempDir()
	on := writeFile(t, dir, "on.acl", testACL+"user mallory on >mpw ~* &* +@all\n")
	off := writeFile(t, dir, "off.acl", testACL+"user mallory off >mpw ~* &* +@all\n")
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *Config) {
		c.ACLFile = off
		if c.ID == "n1" {
			c.ACLFile = on
		}
	}))
	l := leader(t, nodes)
	if l.id == "n1" {
		if err := l.s.Node.Raft().LeadershipTransfer().Error(); err != nil {
			t.Fatalf("leadership transfer: %v", err)
		}
		waitFor(t, 10*time.Second, func() bool { return leader(t, nodes).id != "n1" }, "n1 still leads")
		l = leader(t, nodes)
	}
	c := login(t, nodes[0].clientAddr(), "mallory", "mpw")
	c.mustReply(t, errReply("WRONGPASS invalid username-password pair or user is disabled."), "SET", "m", "1")
	login(t, l.clientAddr(), "defpw").mustReply(t, nilReply(), "GET", "m")
	// The follower itself still answers its local commands.
	c.mustReply(t, bulkReply("mallory"), "ACL", "WHOAMI")
}

// TestAuth_RelayHandshakeIsNoBypass: claiming to be a follower's relay
// gives nothing without authenticating, and an authenticated relay cannot
// change identity afterwards (a follower pools it for one identity).
func TestAuth_RelayHandshakeIsNoBypass(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	addr := leader(t, nodes).clientAddr()

	raw := sendRaw(t, addr, "*1\r\n$20\r\nUNDERSTUDY.FORWARDED\r\n*3\r\n$3\r\nSET\r\n$6\r\nbypass\r\n$1\r\n1\r\n*1\r\n$4\r\nQUIT\r\n")
	if want := "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n+OK\r\n"; raw != want {
		t.Errorf("relay handshake without AUTH: got %q, want %q", raw, want)
	}
	admin := login(t, addr, "defpw")
	admin.mustReply(t, nilReply(), "GET", "bypass")

	relay := login(t, addr, "bob", "bobpw")
	relay.mustReply(t, okReply(), "UNDERSTUDY.FORWARDED")
	refused := errReply("ERR AUTH, HELLO AUTH and RESET are not allowed on a follower's relay connection")
	relay.mustReply(t, refused, "AUTH", "default", "defpw")
	relay.mustReply(t, refused, "HELLO", "2", "AUTH", "default", "defpw")
	relay.mustReply(t, refused, "RESET")
	relay.mustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
}

// TestAuth_GoRedis: go-redis with Username/Password (HELLO 3 AUTH) and with
// Password alone, on the leader and through a follower.
func TestAuth_GoRedis(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	l := leader(t, nodes)
	f := followers(nodes, l)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name     string
		opt      redis.Options
		wantUser string
	}{
		{"UserRESP3Follower", redis.Options{Addr: f.clientAddr(), Username: "bob", Password: "bobpw"}, "bob"},
		{"PasswordRESP2Follower", redis.Options{Addr: f.clientAddr(), Password: "defpw", Protocol: 2}, "default"},
		{"UserRESP2Leader", redis.Options{Addr: l.clientAddr(), Username: "bob", Password: "bobpw", Protocol: 2}, "bob"},
		{"PasswordRESP3Leader", redis.Options{Addr: l.clientAddr(), Password: "defpw"}, "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			opt.MaxRetries = 3
			rdb := redis.NewClient(&opt)
			defer rdb.Close()
			if err := rdb.Set(ctx, "gr-"+tc.name, tc.wantUser, 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if got, err := rdb.Get(ctx, "gr-"+tc.name).Result(); err != nil || got != tc.wantUser {
				t.Errorf("GET: %q, %v", got, err)
			}
			if got, err := rdb.Do(ctx, "ACL", "WHOAMI").Text(); err != nil || got != tc.wantUser {
				t.Errorf("ACL WHOAMI: %q, %v; want %s", got, err, tc.wantUser)
			}
		})
	}
	bad := redis.NewClient(&redis.Options{Addr: f.clientAddr(), Username: "bob", Password: "nope", MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v, want WRONGPASS", err)
	}
	none := redis.NewClient(&redis.Options{Addr: f.clientAddr(), MaxRetries: -1})
	defer none.Close()
	if err := none.Get(ctx, "x").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("no password: %v, want NOAUTH", err)
	}
}

// TestAuth_SecretsFromFiles: --requirepass-file and --admin-token-file
// (trailing newline trimmed), and the refusals of bad secret settings.
func TestAuth_SecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	passFile := writeFile(t, dir, "pass", "filepw\n")
	tokenFile := writeFile(t, dir, "token", "tok\r\n")
	nodes := startCluster(t, 1, withConfig(func(c *Config) {
		c.RequirePassFile = passFile
		c.AdminTokenFile = tokenFile
	}))
	n := nodes[0]
	c := mustClient(t, leader(t, nodes).clientAddr())
	c.mustReply(t, errReply("NOAUTH Authentication required."), "GET", "k")
	c.mustReply(t, okReply(), "AUTH", "filepw")
	if got := n.s.cfg.AdminToken; got != "tok" {
		t.Errorf("admin token from file: %q, want %q", got, "tok")
	}

	empty := writeFile(t, dir, "empty", "\n")
	acl := writeFile(t, dir, "bad.acl", "user a on >p ~* +get\n")
	dflt := writeFile(t, dir, "default.acl", "user default on >x ~* &* +@all\n")
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"PassTwice", func(c *Config) { c.RequirePass, c.RequirePassFile = "a", passFile }, "--requirepass and --requirepass-file are exclusive"},
		{"TokenTwice", func(c *Config) { c.AdminToken, c.AdminTokenFile = "a", tokenFile }, "--admin-token and --admin-token-file are exclusive"},
		{"MissingFile", func(c *Config) { c.RequirePassFile = filepath.Join(dir, "nope") }, "--requirepass-file: open " + filepath.Join(dir, "nope")},
		{"EmptyFile", func(c *Config) { c.AdminTokenFile = empty }, "--admin-token-file " + empty + ": the file is empty"},
		{"MissingACL", func(c *Config) { c.ACLFile = filepath.Join(dir, "nope.acl") }, "--aclfile: open " + filepath.Join(dir, "nope.acl")},
		{"BadACL", func(c *Config) { c.ACLFile = acl }, acl + `:1: user "a": rule "+get" is not supported`},
		{"DefaultTwice", func(c *Config) { c.ACLFile, c.RequirePass = dflt, "y" }, "requirepass sets its password too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("x")
			cfg.InMemory, cfg.DataDir = true, ""
			tc.mutate(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
