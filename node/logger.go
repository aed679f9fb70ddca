package node

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newRaftLogger adapts hashicorp/raft's hclog output into our slog sink, so
// there is one log stream with one format. hclog writes JSON lines; each is
// re-emitted as one slog record with component=raft.
func newRaftLogger(l *slog.Logger, name string) hclog.Logger {
	level := hclog.Info
	switch {
	case l.Enabled(context.Background(), slog.LevelDebug):
		level = hclog.Debug
	case !l.Enabled(context.Background(), slog.LevelInfo):
		level = hclog.Warn
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      level,
		JSONFormat: true,
		Output:     &slogWriter{l: l.With("component", name)},
	})
}

type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte{'\n'}) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			w.l.Info(string(line))
			continue
		}
		lvl := slog.LevelInfo
		switch m["@level"] {
		case "trace", "debug":
			lvl = slog.LevelDebug
		case "warn":
			lvl = slog.LevelWarn
		case "error":
			lvl = slog.LevelError
		}
		msg, _ := m["@message"].(string)
		attrs := make([]any, 0, 2*len(m))
		for k, v := range m {
			if k == "@level" || k == "@message" || k == "@timestamp" || k == "@module" {
				continue
			}
			attrs = append(attrs, k, v)
		}
		w.l.Log(context.Background(), lvl, msg, attrs...)
	}
	return len(p), nil
}
