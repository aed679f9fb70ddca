package resp

import (
	"sync"
	"time"
)

// CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE, node-local as in a
// Redis instance: commands from this node's clients (and, on the leader, the
// followers' relays, which carry their clients' commands) wait while the
// pause lasts; in WRITE mode only commands that may write do. CLIENT itself
// is never paused, so UNPAUSE gets through.

type pauser struct {
	mu    sync.Mutex
	until time.Time
	all   bool
	// wake is closed, and replaced, whenever the pause ends or changes.
	wake chan struct{}
}

// set starts (or extends) a pause, as Redis's pauseClients: a pause never
// shortens one already running, and ALL wins over WRITE while both last.
func (p *pauser) set(d time.Duration, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	until := time.Now().Add(d)
	if until.After(p.until) {
		p.until = until
	}
	p.all = p.all && time.Now().Before(p.until) || all
	p.signal()
	go func() {
		time.Sleep(d)
		p.mu.Lock()
		p.signal()
		p.mu.Unlock()
	}()
}

// unpause ends any pause.
func (p *pauser) unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.until = time.Time{}
	p.all = false
	p.signal()
}

func (p *pauser) signal() {
	if p.wake != nil {
		close(p.wake)
	}
	p.wake = make(chan struct{})
}

// wait blocks while a pause applies to a command (write: it may write);
// false if stop closed first (the command must not run).
func (p *pauser) wait(write bool, stop <-chan struct{}) bool {
	for {
		p.mu.Lock()
		now := time.Now()
		if !now.Before(p.until) || (!p.all && !write) {
			p.mu.Unlock()
			return true
		}
		if p.wake == nil {
			p.wake = make(chan struct{})
		}
		wake, left := p.wake, p.until.Sub(now)
		p.mu.Unlock()
		t := time.NewTimer(left)
		select {
		case <-wake:
		case <-t.C:
		case <-stop:
			t.Stop()
			return false
		}
		t.Stop()
	}
}
