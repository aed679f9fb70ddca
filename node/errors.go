package node

import (
	"errors"
	"fmt"
)

// Error classes. The RESP layer maps them once, at its boundary:
//
//   - Definite failures: the command was never proposed, so nothing happened
//     and a retry is safe: ErrNotLeader, ErrNoLeader, ErrQueueFull, ErrShutdown
//     (when returned before proposing).
//   - Indeterminate outcomes: the command was proposed and its fate is
//     unknown (leadership lost or the node stopped while waiting for commit);
//     it may yet be committed: ErrUncertain.
var (
	// ErrNotLeader means this node does not lead; nothing was proposed.
	ErrNotLeader = errors.New("not leader")
	// ErrNoLeader means no leader is known right now; nothing was proposed.
	ErrNoLeader = errors.New("no leader")
	// ErrNotReady means this node leads but has not yet applied an entry of
	// its own term, so it cannot answer reads safely yet; retry shortly.
	ErrNotReady = errors.New("leader not ready")
	// ErrQueueFull means the write queue is at its bound; nothing was proposed.
	ErrQueueFull = errors.New("write queue full")
	// ErrEntryTooLarge means one write would make a log entry larger than
	// Config.MaxEntryBytes; it was refused, nothing was proposed.
	ErrEntryTooLarge = errors.New("write too large")
	// ErrShutdown means the node is stopping.
	ErrShutdown = errors.New("node shutting down")
	// ErrUncertain means a proposed write may or may not have been committed.
	ErrUncertain = errors.New("outcome unknown")
)

// IsDefinite reports whether err guarantees that the command had no effect.
func IsDefinite(err error) bool {
	return err != nil && !errors.Is(err, ErrUncertain)
}

func uncertain(cause error) error {
	return fmt.Errorf("%w: %v", ErrUncertain, cause)
}
