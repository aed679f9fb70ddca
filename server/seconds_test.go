package server_test

import (
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// Every --timeout reads a bare number as seconds and anything else as a
// duration; serve's (Redis's idle timeout) wants whole seconds.
func TestParseSeconds_NumberIsSecondsElseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "2": 2 * time.Second, "0.5": 500 * time.Millisecond, "300": 300 * time.Second,
		"2s": 2 * time.Second, "250ms": 250 * time.Millisecond, "5m": 5 * time.Minute, " 7 ": 7 * time.Second,
	} {
		got, err := server.ParseSeconds(in)
		if err != nil || got != want {
			t.Errorf("ParseSeconds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-2s", "abc", "1e400", "NaN"} {
		if d, err := server.ParseSeconds(in); err == nil {
			t.Errorf("ParseSeconds(%q) = %v, want an error", in, d)
		}
	}
	var d time.Duration
	s := server.Seconds{D: &d}
	for in, want := range map[string]time.Duration{"300": 300 * time.Second, "5m": 5 * time.Minute, "0": 0} {
		if err := s.Set(in); err != nil || d != want {
			t.Errorf("Seconds.Set(%q): %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"1.5", "250ms", "-1"} {
		if err := s.Set(in); err == nil {
			t.Errorf("Seconds.Set(%q) accepted: serve's --timeout is whole seconds", in)
		}
	}
	if s.Set("300") != nil || s.String() != "300" {
		t.Errorf("Seconds.String() = %q, want 300", s.String())
	}
}
