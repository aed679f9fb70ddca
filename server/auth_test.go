package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/server"
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
	return withConfig(func(c *server.Config) { c.ACLFile = path })
}

// login connects to addr and authenticates (with AUTH's one- or
// two-argument form, as creds has one or two elements).
func login(t *testing.T, addr string, creds ...string) *respClient {
	t.Helper()
	c := mustClient(t, addr)
	c.MustReply(t, okReply(), append([]string{"AUTH"}, creds...)...)
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
	addr := leader(t, nodes).ClientAddr()

	c := mustClient(t, addr)
	noAuth := errReply("NOAUTH Authentication required.")
	wrongPass := errReply("WRONGPASS invalid username-password pair or user is disabled.")
	// Unknown commands and argument counts are reported before NOAUTH, as Redis does.
	c.MustReply(t, errReply("ERR unknown command 'NOSUCH', with args beginning with: 'x' "), "NOSUCH", "x")
	c.MustReply(t, errReply("ERR wrong number of arguments for 'get' command"), "GET")
	c.MustReply(t, noAuth, "GET", "k")
	c.MustReply(t, noAuth, "PING")
	c.MustReply(t, noAuth, "CLIENT", "LIST")
	c.MustReply(t, noAuth, "MULTI")
	c.MustReply(t, noAuth, "SUBSCRIBE", "ch")
	c.MustReply(t, noAuth, "UNDERSTUDY.FORWARDED")
	c.MustReply(t, errReply("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"), "HELLO", "3")
	c.MustReply(t, errReply("ERR wrong number of arguments for 'auth' command"), "AUTH")
	c.MustReply(t, errReply("ERR syntax error"), "AUTH", "a", "b", "c")
	c.MustReply(t, wrongPass, "AUTH", "nope")
	c.MustReply(t, wrongPass, "AUTH", "bob", "nope")
	c.MustReply(t, wrongPass, "AUTH", "nobody", "bobpw")
	c.MustReply(t, wrongPass, "AUTH", "dis", "dispw") // disabled: the same reply
	c.MustReply(t, wrongPass, "HELLO", "2", "AUTH", "bob", "nope")
	c.MustReply(t, noAuth, "GET", "k")

	c.MustReply(t, okReply(), "AUTH", "defpw")
	c.MustReply(t, bulkReply("default"), "ACL", "WHOAMI")
	c.MustReply(t, okReply(), "SET", "k", "v")
	c.MustReply(t, okReply(), "AUTH", "bob", "bobpw")
	c.MustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	// A failed AUTH leaves the connection as it was.
	c.MustReply(t, wrongPass, "AUTH", "default", "nope")
	c.MustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	mustContain(t, "CLIENT INFO", c.MustDo(t, "CLIENT", "INFO"), " user=bob ")
	c.MustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("bob"), bulkReply("default"), bulkReply("dis"), bulkReply("np"), bulkReply("quiet"), bulkReply("ro")}}, "ACL", "USERS")
	qh := sha256.Sum256([]byte("qpw"))
	list := c.MustDo(t, "ACL", "LIST")
	if want := "user quiet on #" + hex.EncodeToString(qh[:]) + " ~* resetchannels +@all"; len(list.Arr) != 6 || list.Arr[4].Str != want {
		t.Errorf("ACL LIST: %s; want 6 users, the fifth %q", list, want)
	}
	if r := c.MustDo(t, "ACL", "GETUSER", "ro"); len(r.Arr) != 12 || r.Arr[5].Str != "-@all" {
		t.Errorf("ACL GETUSER ro: %s", r)
	}
	c.MustReply(t, nilReply(), "ACL", "GETUSER", "nobody")
	c.MustReply(t, errReply("ERR wrong number of arguments for 'acl|whoami' command"), "ACL", "WHOAMI", "x")
	mustContain(t, "ACL SETUSER", c.MustDo(t, "ACL", "SETUSER", "eve", "on"), "not supported")
	if r := c.MustDo(t, "ACL", "GENPASS"); len(r.Str) != 64 {
		t.Errorf("ACL GENPASS: %s", r)
	}

	// HELLO AUTH authenticates and switches protocol at once (RESP2 here:
	// this client reads RESP2 only; go-redis covers RESP3).
	h := mustClient(t, addr)
	if r := h.MustDo(t, "HELLO", "2", "AUTH", "bob", "bobpw", "SETNAME", "app"); r.IsErr() || len(r.Arr) != 14 {
		t.Fatalf("HELLO 2 AUTH: %s", r)
	}
	h.MustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	h.MustReply(t, bulkReply("app"), "CLIENT", "GETNAME")

	// RESET: back to the default user, unauthenticated as it needs a password.
	h.MustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET")
	h.MustReply(t, noAuth, "GET", "k")
	h.MustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET") // allowed unauthenticated
	h.MustReply(t, okReply(), "AUTH", "default", "defpw")
	h.MustReply(t, nilReply(), "CLIENT", "GETNAME")
	h.MustReply(t, bulkReply("v"), "GET", "k")

	// A user without command permissions may authenticate and nothing more.
	r := login(t, addr, "ro", "ropw")
	r.MustReply(t, errReply("NOPERM User ro has no permissions to run the 'get' command"), "GET", "k")
	r.MustReply(t, errReply("NOPERM User ro has no permissions to run the 'acl|whoami' command"), "ACL", "WHOAMI")
	r.MustReply(t, errReply("NOPERM User ro has no permissions to run the 'understudy.forwarded' command"), "UNDERSTUDY.FORWARDED")

	// Without channel permissions: no PUBLISH or SUBSCRIBE, and a refused
	// command aborts a transaction, as in Redis.
	q := login(t, addr, "quiet", "qpw")
	noChannel := errReply("NOPERM No permissions to access a channel")
	q.MustReply(t, noChannel, "PUBLISH", "ch", "m")
	q.MustReply(t, noChannel, "SUBSCRIBE", "ch")
	q.MustReply(t, okReply(), "SET", "q", "1")
	q.MustReply(t, okReply(), "MULTI")
	q.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", "q", "2")
	q.MustReply(t, noChannel, "PUBLISH", "ch", "m")
	q.MustReply(t, errReply("EXECABORT Transaction discarded because of previous errors."), "EXEC")
	q.MustReply(t, bulkReply("1"), "GET", "q")

	// ACL LOG holds the refusals, newest first: the one inside MULTI, then
	// PUBLISH's and SUBSCRIBE's on the same channel counted as one, then
	// ro's commands.
	logged := c.MustDo(t, "ACL", "LOG")
	var entries []string
	for _, e := range logged.Arr {
		f := map[string]string{}
		for i := 0; i+1 < len(e.Arr); i += 2 {
			v := e.Arr[i+1].Str
			if e.Arr[i+1].Kind == ':' {
				v = strconv.FormatInt(e.Arr[i+1].Int, 10)
			}
			f[e.Arr[i].Str] = v
		}
		entries = append(entries, f["reason"]+" "+f["context"]+" "+f["object"]+" "+f["username"]+" "+f["count"])
	}
	want := []string{"channel multi ch quiet 1", "channel toplevel ch quiet 2",
		"command toplevel understudy.forwarded ro 1", "command toplevel acl|whoami ro 1", "command toplevel get ro 1"}
	if len(entries) < len(want) || strings.Join(entries[:len(want)], ", ") != strings.Join(want, ", ") {
		t.Errorf("ACL LOG: %q, want it to begin with %q", entries, want)
	}

	// CLIENT KILL USER closes that user's connections.
	c.MustReply(t, errReply("ERR No such user 'nobody'"), "CLIENT", "KILL", "USER", "nobody")
	c.MustReply(t, intReply(1), "CLIENT", "KILL", "USER", "quiet")
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
	c := mustClient(t, leader(t, nodes).ClientAddr())
	c.MustReply(t, errReply("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"), "AUTH", "x")
	c.MustReply(t, okReply(), "AUTH", "default", "anything") // nopass takes any password
	c.MustReply(t, errReply("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "bob", "x")
	c.MustReply(t, bulkReply("default"), "ACL", "WHOAMI")
	c.MustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("user default on nopass ~* &* +@all")}}, "ACL", "LIST")
	mustContain(t, "CLIENT LIST", c.MustDo(t, "CLIENT", "LIST"), " user=default ")
	c.MustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET")
	c.MustReply(t, okReply(), "SET", "k", "v")
}

// TestAuth_ViaFollower: a follower authenticates its clients itself, and
// its relay connection to the leader carries the client's identity.
func TestAuth_ViaFollower(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	l := leader(t, nodes)
	f := followers(nodes, l)[0]

	c := mustClient(t, f.ClientAddr())
	c.MustReply(t, errReply("NOAUTH Authentication required."), "SET", "fk", "v")
	c.MustReply(t, errReply("NOAUTH Authentication required."), "MULTI")
	c.MustReply(t, errReply("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "dis", "dispw")
	c.MustReply(t, okReply(), "AUTH", "bob", "bobpw")
	c.MustReply(t, okReply(), "SET", "fk", "v") // forwarded
	c.MustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
	c.MustReply(t, bulkReply("v"), "GET", "fk")

	lc := login(t, l.ClientAddr(), "defpw")
	lc.MustReply(t, bulkReply("v"), "GET", "fk")
	// The relay connection the leader sees is bob's.
	mustContain(t, "leader's CLIENT LIST", lc.MustDo(t, "CLIENT", "LIST"), " user=bob ")

	// Another identity on the same client connection gets its own relay.
	c.MustReply(t, okReply(), "AUTH", "default", "defpw")
	c.MustReply(t, okReply(), "SET", "fk2", "w")
	lc.MustReply(t, bulkReply("w"), "GET", "fk2")

	// A user without a password, whatever password the client gives.
	for _, pw := range []string{"one", "two"} {
		np := login(t, f.ClientAddr(), "np", pw)
		np.MustReply(t, okReply(), "SET", "np-"+pw, "1")
		np.MustReply(t, bulkReply("np"), "ACL", "WHOAMI")
	}

	// Permissions are checked on the follower.
	r := login(t, f.ClientAddr(), "ro", "ropw")
	r.MustReply(t, errReply("NOPERM User ro has no permissions to run the 'set' command"), "SET", "fk", "x")
	q := login(t, f.ClientAddr(), "quiet", "qpw")
	q.MustReply(t, errReply("NOPERM No permissions to access a channel"), "PUBLISH", "ch", "m")

	// RESET inside a transaction forwarded to the leader discards it.
	c.MustReply(t, okReply(), "MULTI")
	c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", "never", "1")
	c.MustReply(t, reply{Kind: '+', Str: "RESET"}, "RESET")
	c.MustReply(t, errReply("NOAUTH Authentication required."), "GET", "never")
	c.MustReply(t, okReply(), "AUTH", "bob", "bobpw")
	c.MustReply(t, errReply("ERR EXEC without MULTI"), "EXEC")
	c.MustReply(t, nilReply(), "GET", "never")

	// AUTH inside a forwarded transaction is answered here and does not
	// disturb the transaction on the leader.
	c.MustReply(t, okReply(), "MULTI")
	c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", "tx", "1")
	c.MustReply(t, okReply(), "AUTH", "default", "defpw")
	c.MustReply(t, reply{Kind: '*', Arr: []reply{okReply()}}, "EXEC")
	c.MustReply(t, bulkReply("default"), "ACL", "WHOAMI")
	lc.MustReply(t, bulkReply("1"), "GET", "tx")
}

// TestAuth_LeaderChecksRelayedIdentity: the leader checks the identity a
// follower relays against its own users. Node n1's file has mallory
// enabled, the others' disabled: with n1 a follower, mallory authenticates
// on n1 but cannot write through it.
func TestAuth_LeaderChecksRelayedIdentity(t *testing.T) {
	dir := t.TempDir()
	on := writeFile(t, dir, "on.acl", testACL+"user mallory on >mpw ~* &* +@all\n")
	off := writeFile(t, dir, "off.acl", testACL+"user mallory off >mpw ~* &* +@all\n")
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) {
		c.ACLFile = off
		if c.ID == "n1" {
			c.ACLFile = on
		}
	}))
	l := leader(t, nodes)
	if l.ID == "n1" {
		if err := l.S.Node.Raft().LeadershipTransfer().Error(); err != nil {
			t.Fatalf("leadership transfer: %v", err)
		}
		waitFor(t, 10*time.Second, func() bool { return leader(t, nodes).ID != "n1" }, "n1 still leads")
		l = leader(t, nodes)
	}
	c := login(t, nodes[0].ClientAddr(), "mallory", "mpw")
	c.MustReply(t, errReply("WRONGPASS invalid username-password pair or user is disabled."), "SET", "m", "1")
	login(t, l.ClientAddr(), "defpw").MustReply(t, nilReply(), "GET", "m")
	// The follower itself still answers its local commands.
	c.MustReply(t, bulkReply("mallory"), "ACL", "WHOAMI")
}

// TestAuth_RelayHandshakeIsNoBypass: claiming to be a follower's relay
// gives nothing without authenticating, and an authenticated relay cannot
// change identity afterwards (a follower pools it for one identity).
func TestAuth_RelayHandshakeIsNoBypass(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	addr := leader(t, nodes).ClientAddr()

	raw := sendRaw(t, addr, "*1\r\n$20\r\nUNDERSTUDY.FORWARDED\r\n*3\r\n$3\r\nSET\r\n$6\r\nbypass\r\n$1\r\n1\r\n*1\r\n$4\r\nQUIT\r\n")
	if want := "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n+OK\r\n"; raw != want {
		t.Errorf("relay handshake without AUTH: got %q, want %q", raw, want)
	}
	admin := login(t, addr, "defpw")
	admin.MustReply(t, nilReply(), "GET", "bypass")

	relay := login(t, addr, "bob", "bobpw")
	relay.MustReply(t, okReply(), "UNDERSTUDY.FORWARDED")
	refused := errReply("ERR AUTH, HELLO AUTH and RESET are not allowed on a follower's relay connection")
	relay.MustReply(t, refused, "AUTH", "default", "defpw")
	relay.MustReply(t, refused, "HELLO", "2", "AUTH", "default", "defpw")
	relay.MustReply(t, refused, "RESET")
	relay.MustReply(t, bulkReply("bob"), "ACL", "WHOAMI")
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
		{"UserRESP3Follower", redis.Options{Addr: f.ClientAddr(), Username: "bob", Password: "bobpw"}, "bob"},
		{"PasswordRESP2Follower", redis.Options{Addr: f.ClientAddr(), Password: "defpw", Protocol: 2}, "default"},
		{"UserRESP2Leader", redis.Options{Addr: l.ClientAddr(), Username: "bob", Password: "bobpw", Protocol: 2}, "bob"},
		{"PasswordRESP3Leader", redis.Options{Addr: l.ClientAddr(), Password: "defpw"}, "default"},
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
	bad := redis.NewClient(&redis.Options{Addr: f.ClientAddr(), Username: "bob", Password: "nope", MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v, want WRONGPASS", err)
	}
	none := redis.NewClient(&redis.Options{Addr: f.ClientAddr(), MaxRetries: -1})
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
	nodes := startCluster(t, 1, withConfig(func(c *server.Config) {
		c.RequirePassFile = passFile
		c.AdminTokenFile = tokenFile
	}))
	n := nodes[0]
	c := mustClient(t, leader(t, nodes).ClientAddr())
	c.MustReply(t, errReply("NOAUTH Authentication required."), "GET", "k")
	c.MustReply(t, okReply(), "AUTH", "filepw")
	if got := n.S.ConfigForTest().AdminToken; got != "tok" {
		t.Errorf("admin token from file: %q, want %q", got, "tok")
	}

	empty := writeFile(t, dir, "empty", "\n")
	acl := writeFile(t, dir, "bad.acl", "user a on >p ~* +get\n")
	dflt := writeFile(t, dir, "default.acl", "user default on >x ~* &* +@all\n")
	for _, tc := range []struct {
		name   string
		mutate func(*server.Config)
		want   string
	}{
		{"PassTwice", func(c *server.Config) { c.RequirePass, c.RequirePassFile = "a", passFile }, "--requirepass and --requirepass-file are exclusive"},
		{"TokenTwice", func(c *server.Config) { c.AdminToken, c.AdminTokenFile = "a", tokenFile }, "--admin-token and --admin-token-file are exclusive"},
		{"MissingFile", func(c *server.Config) { c.RequirePassFile = filepath.Join(dir, "nope") }, "--requirepass-file: open " + filepath.Join(dir, "nope")},
		{"EmptyFile", func(c *server.Config) { c.AdminTokenFile = empty }, "--admin-token-file " + empty + ": the file is empty"},
		{"MissingACL", func(c *server.Config) { c.ACLFile = filepath.Join(dir, "nope.acl") }, "--aclfile: open " + filepath.Join(dir, "nope.acl")},
		{"BadACL", func(c *server.Config) { c.ACLFile = acl }, acl + `:1: user "a": rule "+get" is not supported`},
		{"DefaultTwice", func(c *server.Config) { c.ACLFile, c.RequirePass = dflt, "y" }, "requirepass sets its password too"},
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
