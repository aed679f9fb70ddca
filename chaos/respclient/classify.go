package respclient

import (
	"errors"
	"strings"
)

// Outcome is what the client knows about a request's effect.
type Outcome string

// The three outcomes of docs/reliability.md: a write with an unknown outcome may or
// may not have taken effect, and is checked as such.
const (
	OK      Outcome = "ok"      // a success reply
	Failed  Outcome = "fail"    // definitely not executed: error reply, or never sent
	Unknown Outcome = "unknown" // sent, outcome not known: timeout, EOF, UNCERTAIN
)

// Classify maps a reply or an error from Do to an Outcome. An error reply is
// a definite failure (the server promises TRYAGAIN and MOVED were not
// executed, and any other error reply claims the command failed: the checker
// holds it to that) except UNCERTAIN, which says the write may have happened.
// A failure to connect is definite (nothing was sent); any other I/O error
// after the request was written is unknown.
func Classify(r Reply, err error) Outcome {
	if err != nil {
		var de *DialError
		if errors.As(err, &de) {
			return Failed
		}
		return Unknown
	}
	if r.Kind == Error {
		if IsUncertain(r) {
			return Unknown
		}
		return Failed
	}
	return OK
}

// IsUncertain reports an UNCERTAIN error reply.
func IsUncertain(r Reply) bool { return r.Kind == Error && strings.HasPrefix(r.Str, "UNCERTAIN") }

// IsUnknownCommand reports Redis's reply to a command the server lacks.
func IsUnknownCommand(r Reply) bool {
	return r.Kind == Error && strings.HasPrefix(r.Str, "ERR unknown command")
}

// ErrorClass is the first word of an error reply (TRYAGAIN, MOVED, ERR, ...),
// or a short description of an I/O error, for counting failures by cause.
func ErrorClass(r Reply, err error) string {
	if err != nil {
		var de *DialError
		switch {
		case errors.As(err, &de):
			return "dial error"
		case strings.Contains(err.Error(), "timeout"):
			return "timeout"
		case strings.Contains(err.Error(), "EOF"):
			return "EOF"
		case strings.Contains(err.Error(), "reset"):
			return "connection reset"
		}
		return "I/O error"
	}
	if r.Kind != Error {
		return ""
	}
	w, _, _ := strings.Cut(r.Str, " ")
	if w == "ERR" {
		// Keep a little more of generic errors so that they can be told apart.
		msg := r.Str
		if len(msg) > 40 {
			msg = msg[:40] + "..."
		}
		return msg
	}
	return w
}
