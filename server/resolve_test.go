package server

import (
	"log/slog"
	"testing"
)

// An IP address, or a name that resolves, is waited for not at all.
func TestAwaitOwnName_ResolvableAtOnce(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:7381", "[::1]:7381", "localhost:7381", ""} {
		if err := awaitOwnName(addr, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("awaitOwnName(%q): %v", addr, err)
		}
	}
}
