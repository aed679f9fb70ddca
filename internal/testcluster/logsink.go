package testcluster

import (
	"strings"
	"sync"
)

// LogSink keeps the last lines the nodes logged, shown when a test fails.
type LogSink struct {
	mu    sync.Mutex
	max   int
	lines []string
}

// NewLogSink keeps the last max lines.
func NewLogSink(max int) *LogSink { return &LogSink{max: max} }

func (l *LogSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimRight(string(p), "\n"))
	if len(l.lines) > 2*l.max { // trim now and then, not on every line
		l.lines = append(l.lines[:0:0], l.lines[len(l.lines)-l.max:]...)
	}
	return len(p), nil
}

// String returns the kept lines.
func (l *LogSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-l.max):], "\n")
}
