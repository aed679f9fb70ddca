package resp

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// ACL answers the read-only subcommands from the users loaded at start-up.
// Users cannot be changed at run time (SETUSER, DELUSER, LOAD, SAVE): every
// node reads the same --aclfile, and a change made on one node alone would
// give the cluster's nodes different users.
func cmdACL(c *conn, argv [][]byte) fsm.Value {
	users := c.srv.cfg.Users
	sub := strings.ToLower(string(argv[1]))
	want := map[string]int{"whoami": 2, "users": 2, "list": 2, "getuser": 3, "help": 2}
	if n, ok := want[sub]; ok && len(argv) != n {
		return fsm.ErrArity("acl|" + sub)
	}
	switch sub {
	case "whoami":
		return fsm.BulkString(c.auth.userName())
	case "users":
		out := make([]fsm.Value, len(users.names))
		for i, name := range users.names {
			out[i] = fsm.BulkString(name)
		}
		return fsm.Array(out)
	case "list":
		out := make([]fsm.Value, len(users.names))
		for i, name := range users.names {
			out[i] = fsm.BulkString(users.byName[name].describe())
		}
		return fsm.Array(out)
	case "getuser":
		u, ok := users.byName[string(argv[2])]
		if !ok {
			return fsm.Null
		}
		return getUser(u)
	case "genpass":
		return genPass(argv)
	case "help":
		return aclHelp()
	case "cat":
		return aclCat(argv[1], argv[2:])
	case "dryrun":
		return users.dryRun(argv)
	case "log":
		return c.srv.aclLogCmd(argv)
	case "setuser", "deluser", "load", "save":
		return fsm.Err("ERR ACL " + strings.ToUpper(sub) + " is not supported: users are fixed at start-up (--requirepass, --aclfile)")
	}
	return fsm.Err("ERR unknown subcommand '" + oneLine(string(argv[1])) + "'. Try ACL HELP.")
}

// aclCat is ACL CAT [category]: Redis 7.0's categories, or the commands
// served here (a container's subcommands as "name|sub") in one.
func aclCat(sub []byte, args [][]byte) fsm.Value {
	out := []fsm.Value{}
	if len(args) == 0 {
		for _, c := range cmdtab.Categories {
			out = append(out, fsm.BulkString(c))
		}
		return fsm.Array(out)
	}
	if len(args) > 1 {
		return fsm.Err("ERR unknown subcommand or wrong number of arguments for '" + oneLine(string(sub)) + "'. Try ACL HELP.")
	}
	bit := cmdtab.CatBit(strings.ToLower(string(args[0])))
	if bit == 0 {
		return fsm.Err("ERR Unknown category '" + oneLine(string(args[0])) + "'")
	}
	for _, c := range visibleCommands() {
		if c.ACL&bit != 0 {
			out = append(out, fsm.BulkString(c.Name))
		}
		subs := make([]*cmdtab.Spec, 0, len(c.Subs))
		for _, s := range c.Subs {
			subs = append(subs, s)
		}
		sortSpecs(subs)
		for _, s := range subs {
			if s.ACL&bit != 0 {
				out = append(out, fsm.BulkString(s.Name))
			}
		}
	}
	return fsm.Array(out)
}

// dryRun is ACL DRYRUN user command [arg ...]: whether the user may run
// the command, by the same rules the connection's gate applies (authGate:
// every command or none; channels for the pub/sub commands), answered in
// Redis's words: OK, or a bulk string saying what is denied.
func (s *Users) dryRun(argv [][]byte) fsm.Value {
	if len(argv) < 4 {
		return fsm.ErrArity("acl|dryrun")
	}
	u, ok := s.byName[string(argv[2])]
	if !ok {
		return fsm.Err("ERR User '" + oneLine(string(argv[2])) + "' not found")
	}
	cargv := argv[3:]
	cmd := lookupCommand(cargv[0])
	if cmd == nil || cmd.hidden {
		return fsm.Err("ERR Command '" + oneLine(string(cargv[0])) + "' not found")
	}
	spec := cmd.Spec
	if len(cmd.Subs) > 0 && len(cargv) > 1 {
		if spec = cmd.Subs[strings.ToLower(string(cargv[1]))]; spec == nil {
			return fsm.Err("ERR Command '" + oneLine(string(cargv[0])) + "' not found")
		}
	}
	if !spec.CheckArity(len(cargv)) {
		return fsm.ErrArity(spec.Name)
	}
	if !u.allCommands {
		return fsm.BulkString("This user has no permissions to run the '" + spec.Name + "' command")
	}
	if ch := cmdtab.Channels(spec, len(cargv)); !u.allChannels && len(ch) > 0 {
		return fsm.BulkString("This user has no permissions to access the '" + string(cargv[ch[0]]) + "' channel")
	}
	return fsm.OK
}

// getUser is ACL GETUSER's map, laid out as Redis 7 lays it out.
func getUser(u *User) fsm.Value {
	flags := make([]fsm.Value, 0, 3)
	for _, f := range u.flags() {
		flags = append(flags, fsm.BulkString(f))
	}
	pw := make([]fsm.Value, len(u.hashes))
	for i, h := range u.hashes {
		pw[i] = fsm.BulkString(hex.EncodeToString(h[:]))
	}
	cmds, keys, chans := "-@all", "", ""
	if u.allCommands {
		cmds = "+@all"
	}
	if u.allKeys {
		keys = "~*"
	}
	if u.allChannels {
		chans = "&*"
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
		fsm.BulkString("flags"), {Kind: fsm.KindSet, Arr: flags},
		fsm.BulkString("passwords"), fsm.Array(pw),
		fsm.BulkString("commands"), fsm.BulkString(cmds),
		fsm.BulkString("keys"), fsm.BulkString(keys),
		fsm.BulkString("channels"), fsm.BulkString(chans),
		fsm.BulkString("selectors"), fsm.Array([]fsm.Value{}),
	}}
}

// genPass is ACL GENPASS [bits]: random hex, 256 bits unless told.
func genPass(argv [][]byte) fsm.Value {
	bits := int64(256)
	switch len(argv) {
	case 2:
	case 3:
		n, err := strconv.ParseInt(string(argv[2]), 10, 64)
		if err != nil || n <= 0 || n > 4096 {
			return fsm.Err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
		}
		bits = n
	default:
		return fsm.ErrArity("acl|genpass")
	}
	chars := (bits + 3) / 4
	buf := make([]byte, (chars+1)/2)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	return fsm.BulkString(hex.EncodeToString(buf)[:chars])
}

func aclHelp() fsm.Value {
	lines := []string{
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Prints this help.",
		"Users are fixed at start-up (--requirepass, --aclfile): SETUSER, DELUSER, LOAD and SAVE are not supported.",
	}
	return fsm.SimpleLines(lines)
}
