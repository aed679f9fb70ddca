package script

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Flags are a script's or function's flags (the shebang's flags=, or
// register_function's flags table).
type Flags uint32

// The flags, in the order Redis lists them.
const (
	FlagNoWrites Flags = 1 << iota
	FlagAllowOOM
	FlagAllowStale
	FlagNoCluster
	FlagAllowCrossSlotKeys
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagNoWrites, "no-writes"},
	{FlagAllowOOM, "allow-oom"},
	{FlagAllowStale, "allow-stale"},
	{FlagNoCluster, "no-cluster"},
	{FlagAllowCrossSlotKeys, "allow-cross-slot-keys"},
}

// Names lists the flags set in f, in Redis's order (FUNCTION LIST).
func (f Flags) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

func flagByName(s string) (Flags, bool) {
	for _, fn := range flagNames {
		if fn.name == s {
			return fn.f, true
		}
	}
	return 0, false
}

// Script is a compiled EVAL script. It is immutable.
type Script struct {
	SHA  string // lower-case hex SHA1 of Body
	Body []byte
	// Shebang is whether the body starts with "#!lua": only then do Flags
	// apply; a script without one runs in Redis's EVAL compatibility mode
	// (it may write, and is judged by the commands it calls).
	Shebang bool
	Flags   Flags
	proto   *lua.FunctionProto
}

// CompileError is a script that does not compile; Error is Redis's whole
// error text, code included.
type CompileError struct{ Msg string }

func (e *CompileError) Error() string { return e.Msg }

func compileErr(format string, args ...any) error {
	return &CompileError{Msg: fmt.Sprintf(format, args...)}
}

// Compile compiles an EVAL body as Redis 7.0's luaCreateFunction does: the
// shebang is parsed, then the body (its shebang line left empty) is loaded
// as chunk "@user_script", whose function each run calls, so errors name
// user_script and the body's own line numbers, and a syntax error at the
// end is "near '<eof>'".
func Compile(body []byte) (*Script, error) {
	s := &Script{SHA: SHA1Hex(body), Body: body}
	src := string(body)
	if strings.HasPrefix(src, "#!") {
		s.Shebang = true
		i := strings.IndexByte(src, '\n')
		if i < 0 {
			return nil, compileErr("ERR Invalid script shebang")
		}
		parts := strings.Fields(src[:i])
		if len(parts) == 0 {
			return nil, compileErr("ERR Invalid script shebang")
		}
		if parts[0] != "#!lua" {
			return nil, compileErr("ERR Unexpected engine in script shebang: %s", parts[0])
		}
		for _, p := range parts[1:] {
			list, ok := strings.CutPrefix(p, "flags=")
			if !ok {
				return nil, compileErr("ERR Unknown lua shebang option: %s", p)
			}
			for _, name := range strings.Split(list, ",") {
				if name == "" && list == "" {
					continue
				}
				f, ok := flagByName(name)
				if !ok {
					return nil, compileErr("ERR Unexpected flag in script shebang: %s", name)
				}
				s.Flags |= f
			}
		}
	}
	proto, err := compileChunk(chunkSource(src), "user_script")
	if err != nil {
		return nil, compileErr("ERR Error compiling script (new function): %s", err)
	}
	s.proto = proto
	return s, nil
}

// compileChunk parses and compiles src, turning gopher-lua's syntax errors
// into Lua 5.1's shape: "<chunk>:<line>: <message> near '<token>'".
func compileChunk(src, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) {
			tok, line := perr.Token, perr.Pos.Line
			if tok == "" || line < 0 {
				// gopher-lua reports an error at the end of the input at
				// line -1 with the last token; Lua names the end and its
				// line.
				tok, line = "<eof>", strings.Count(src, "\n")+1
			}
			msg := perr.Message
			if msg == "syntax error" {
				msg = "unexpected symbol" // gopher-lua's parser has one message; this is Lua's usual one
			}
			return nil, fmt.Errorf("%s:%d: %s near '%s'", name, line, msg, tok)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		if cerr, ok := err.(*lua.CompileError); ok {
			return nil, fmt.Errorf("%s:%d: %s", name, cerr.Line, cerr.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return proto, nil
}
