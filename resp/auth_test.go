package resp

import (
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// The expected ACL LIST lines were produced by redis-server 7.0 from the same
// rules (ACL SETUSER), so ParseACL and describe read and write Redis's
// format.
func TestParseACL_RedisFormat(t *testing.T) {
	const (
		hashA     = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" // sha256("a")
		hashX     = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" // sha256("x")
		hashBobpw = "e8f318657ce39ec4edeecbbee28fd72dea2261d8a6b2155ce4977393e0ea721b" // sha256("bobpw")
	)
	for _, tc := range []struct{ line, want string }{
		{"user bob on >bobpw ~* resetchannels +@all", "user bob on #" + hashBobpw + " ~* resetchannels +@all"},
		{"user np on nopass ~* &* +@all", "user np on nopass ~* &* +@all"},
		{"user k", "user k off resetchannels -@all"},
		{"user k2 on >a nopass", "user k2 on nopass resetchannels -@all"},
		{"user k3 on nopass >a", "user k3 on #" + hashA + " resetchannels -@all"},
		{"user k5 on >a allkeys allchannels allcommands", "user k5 on #" + hashA + " ~* &* +@all"},
		{"user k6 on >a >a >b <b reset", "user k6 off sanitize-payload resetchannels -@all"},
		{"user k7 on >a resetpass", "user k7 on resetchannels -@all"},
		{"user k8 on >x >a", "user k8 on #" + hashX + " #" + hashA + " resetchannels -@all"},
		{"user k9 on #" + hashA + " #" + hashX + " !" + hashA + " ~* &* +@all", "user k9 on #" + hashX + " ~* &* +@all"},
		{"user k10 on >a ~* &* +@all resetkeys nocommands", "user k10 on #" + hashA + " &* -@all"},
		{"  user   spaced   on   nopass  ~*  &*  +@all  ", "user spaced on nopass ~* &* +@all"},
		{"user sp on nopass skip-sanitize-payload ~* &* +@all", "user sp on nopass skip-sanitize-payload ~* &* +@all"},
	} {
		users, err := ParseACL(strings.NewReader(tc.line), "t.acl")
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if len(users) != 1 {
			t.Errorf("%q: %d users", tc.line, len(users))
			continue
		}
		if got := users[0].describe(); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}

func TestParseACL_CommentsAndBlankLines(t *testing.T) {
	users, err := ParseACL(strings.NewReader("# users\n\nuser a on nopass ~* &* +@all\r\n   \n# user b\nuser c off\n"), "t.acl")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Name() != "a" || users[1].Name() != "c" {
		t.Fatalf("got %v", users)
	}
}

// Rules outside the all-or-nothing subset are refused at load, naming the
// file, the line and the rule, never silently widened to "everything".
func TestParseACL_Refused(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"user a on >p ~* &* +get", `t.acl:1: user "a": rule "+get" is not supported`},
		{"user a on >p ~app:* &* -@all", `rule "~app:*" is not supported`},
		{"user a on >p %R~* -@all", `rule "%R~*" is not supported`},
		{"user a on >p ~* &* +@all -@dangerous", `rule "-@dangerous"`},
		{"user a on >p ~* &* +@all (~x* +get)", `rule "(~x*"`},
		{"user a on >p &* +@all", `t.acl:1: user "a": +@all without ~*`},
		{"user a on #ABCDEF", "exactly 64 characters and contain only lowercase hexadecimal"},
		{"user a on #" + strings.Repeat("A", 64), "lowercase hexadecimal"},
		{"user a on #" + strings.Repeat("g", 64), "lowercase hexadecimal"},
		{"user a on\nuser b on\nuser a off", `t.acl:3: duplicate user "a"`},
		{"\n\nusers a on", `t.acl:3: a line must be "user <name> [rule ...]"`},
		{"user", `t.acl:1: a line must be`},
		{"user a\x00b on", "null characters"},
	} {
		_, err := ParseACL(strings.NewReader(tc.text), "t.acl")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}

func TestNewUsers_DefaultUser(t *testing.T) {
	t.Run("NoPassword", func(t *testing.T) {
		s, err := NewUsers("", nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.RequiresAuth() {
			t.Error("no password configured, yet authentication required")
		}
		if got := s.def.describe(); got != "user default on nopass ~* &* +@all" {
			t.Errorf("default user: %s", got)
		}
		// nopass accepts any password, as in Redis.
		if _, ok := s.authenticate([]byte("default"), []byte("anything")); !ok {
			t.Error("default user without password refused a password")
		}
	})
	t.Run("RequirePass", func(t *testing.T) {
		s, err := NewUsers("secret", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !s.RequiresAuth() {
			t.Error("requirepass set, yet no authentication required")
		}
		const want = "user default on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all"
		if got := s.def.describe(); got != want {
			t.Errorf("default user: %s, want %s", got, want)
		}
		if _, ok := s.authenticate([]byte("default"), []byte("secret")); !ok {
			t.Error("right password refused")
		}
		if _, ok := s.authenticate([]byte("default"), []byte("Secret")); ok {
			t.Error("wrong password accepted")
		}
	})
	t.Run("RequirePassAndFileDefault", func(t *testing.T) {
		users, _ := ParseACL(strings.NewReader("user default on >x ~* &* +@all"), "t.acl")
		if _, err := NewUsers("secret", users); err == nil || !strings.Contains(err.Error(), "requirepass") {
			t.Errorf("got %v, want an error about both setting the default user", err)
		}
	})
	t.Run("FileUsers", func(t *testing.T) {
		users, err := ParseACL(strings.NewReader(
			"user default off\nuser bob on >bobpw ~* &* +@all\nuser dis off >dispw ~* &* +@all\nuser np on nopass ~* &* +@all\nuser none on >nonepw ~* &* -@all\n"), "t.acl")
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewUsers("", users)
		if err != nil {
			t.Fatal(err)
		}
		if !s.RequiresAuth() {
			t.Error("default user disabled, yet no authentication required")
		}
		if strings.Join(s.names, ",") != "bob,default,dis,none,np" {
			t.Errorf("names %v", s.names)
		}
		for _, tc := range []struct {
			user, pass string
			ok         bool
		}{
			{"bob", "bobpw", true}, {"bob", "bobpw ", false}, {"bob", "", false},
			{"dis", "dispw", false}, // disabled
			{"np", "", true}, {"np", "whatever", true},
			{"none", "nonepw", true}, {"nobody", "x", false},
			{"default", "", false}, // disabled, although it has no password
		} {
			u, ok := s.authenticate([]byte(tc.user), []byte(tc.pass))
			if ok != tc.ok || (ok && u.Name() != tc.user) {
				t.Errorf("authenticate(%q, %q) = %v, %v; want %v", tc.user, tc.pass, u, ok, tc.ok)
			}
		}
		if !s.byName["bob"].full() || s.byName["none"].full() {
			t.Error("full(): bob has every permission, none has none")
		}
	})
}

// ACL DRYRUN answers by the rules the connection's gate applies, in Redis
// 7.0's words (compared with redis-server in compat's script for the
// default user; users with fewer permissions exist only from --aclfile).
func TestACLDryRun_AsTheGateDecides(t *testing.T) {
	parsed, err := ParseACL(strings.NewReader("user full on nopass ~* &* +@all\nuser nochan on nopass ~* resetchannels +@all\nuser none on nopass -@all\n"), "t.acl")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewUsers("", parsed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"full", "set", "k", "v"}, "+OK"},
		{[]string{"full", "subscribe", "a", "b"}, "+OK"},
		{[]string{"nochan", "set", "k", "v"}, "+OK"},
		{[]string{"nochan", "publish", "ch", "x"}, "$This user has no permissions to access the 'ch' channel"},
		{[]string{"nochan", "subscribe", "a", "b"}, "$This user has no permissions to access the 'a' channel"},
		{[]string{"none", "get", "k"}, "$This user has no permissions to run the 'get' command"},
		{[]string{"none", "config", "get", "x"}, "$This user has no permissions to run the 'config|get' command"},
		{[]string{"none", "get"}, "-ERR wrong number of arguments for 'get' command"},
		{[]string{"none", "config", "nosuch"}, "-ERR Command 'config' not found"},
		{[]string{"nobody", "get", "k"}, "-ERR User 'nobody' not found"},
	} {
		argv := [][]byte{[]byte("acl"), []byte("dryrun")}
		for _, a := range tc.args {
			argv = append(argv, []byte(a))
		}
		v := s.dryRun(argv)
		got := string(v.Str)
		switch v.Kind {
		case fsm.KindError:
			got = "-" + got
		case fsm.KindSimple:
			got = "+" + got
		default:
			got = "$" + got
		}
		if got != tc.want {
			t.Errorf("ACL DRYRUN %v: %q, want %q", tc.args, got, tc.want)
		}
	}
}
