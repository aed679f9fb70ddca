package server

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/resp"
)

// Limits: the Config fields that bound clients, memory and the write queue,
// their validation and the flag types they need.

// ByteSize is a number of bytes. As a flag it reads Redis's memory units:
// 100mb, 1gb, 512k (k, m, g are powers of 1000; kb, mb, gb of 1024).
type ByteSize int64

// Set parses v as Redis does its memory settings.
func (b *ByteSize) Set(v string) error {
	n, err := resp.ParseMemory(v)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// String prints the size in bytes.
func (b *ByteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Type names the flag's value in help output.
func (*ByteSize) Type() string { return "bytes" }

// Seconds adapts a duration to a flag in whole seconds, as Redis's
// `timeout` is given: "300". Like every --timeout of the binary it also
// takes a Go duration ("5m", "90s"); here it must be whole seconds.
type Seconds struct{ D *time.Duration }

// Set parses whole seconds ("300") or a duration of whole seconds ("5m").
func (s Seconds) Set(v string) error {
	d, err := ParseSeconds(v)
	if err != nil || d%time.Second != 0 || d > time.Duration(1<<31)*time.Second {
		return fmt.Errorf("%q: want whole seconds, as a number (300) or a duration (5m); 0: never", v)
	}
	*s.D = d
	return nil
}

// ParseSeconds reads a bare number as seconds ("5", "0.5") and anything else
// as a Go duration ("5s", "250ms"): the one reading of every --timeout flag,
// so `serve --timeout 300` and `status --timeout 2s` both mean what they say.
// Negative values are refused.
func ParseSeconds(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("%q: want seconds (5) or a duration (5s, 250ms)", v)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: negative", v)
	}
	return d, nil
}

// String prints the duration in whole seconds.
func (s Seconds) String() string {
	if s.D == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*s.D/time.Second), 10)
}

// Type names the flag's value in help output.
func (Seconds) Type() string { return "seconds" }

// defaultPubSubLimit is Redis's "client-output-buffer-limit pubsub 32mb 8mb 60".
var defaultPubSubLimit = resp.OutputLimit{Hard: 32 << 20, Soft: 8 << 20, SoftFor: 60 * time.Second}

func (c *Config) validateLimits() error {
	var errs []error
	if c.MaxClients < 1 {
		errs = append(errs, fmt.Errorf("--maxclients %d: must be at least 1", c.MaxClients))
	}
	if c.Timeout < 0 || c.ClientWriteTimeout < 0 {
		errs = append(errs, errors.New("--timeout and --client-write-timeout must not be negative"))
	}
	if c.MaxMemory < 0 {
		errs = append(errs, errors.New("--maxmemory must not be negative"))
	}
	if p := c.PubSubOutputLimit; p.Hard < 0 || p.Soft < 0 || p.SoftFor < 0 {
		errs = append(errs, errors.New("--client-output-buffer-limit must not be negative"))
	}
	if c.MaxQueue < 1 {
		errs = append(errs, fmt.Errorf("--max-queue %d: must be at least 1", c.MaxQueue))
	}
	return errors.Join(errs...)
}

// clientLimits is the RESP server's view of the limits.
func (c *Config) clientLimits() resp.ClientLimits {
	return resp.ClientLimits{
		MaxClients:   c.MaxClients,
		IdleTimeout:  c.Timeout,
		WriteTimeout: c.ClientWriteTimeout,
		PubSub:       c.PubSubOutputLimit,
		MaxMemory:    int64(c.MaxMemory),
	}
}
