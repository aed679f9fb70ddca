package bench

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ratio is a/b, or NaN when either side is missing (zero, negative or NaN):
// a missing measurement never turns into a PASS.
func Ratio(a, b float64) float64 {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.NaN()
	}
	return a / b
}

// Median of ds (the mean of the middle two for an even count); 0 when empty.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// MaxDuration of ds; 0 when empty.
func MaxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d > m {
			m = d
		}
	}
	return m
}

// Unavailability is the longest gap between consecutive acknowledgements that
// ends after kill, among acks (any order) up to end: normally the last ack
// before the kill to the first ack after it. Taking the longest such gap keeps
// a reply that was already on the wire at the kill from hiding the outage.
// ok is false when no ack came after the kill (not recovered by end).
func Unavailability(acks []time.Time, kill, end time.Time) (gap time.Duration, ok bool) {
	s := make([]time.Time, 0, len(acks))
	for _, a := range acks {
		if !a.After(end) {
			s = append(s, a)
		}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	// prev: the last ack at or before the kill (or the kill itself if none).
	prev := kill
	i := sort.Search(len(s), func(i int) bool { return s[i].After(kill) })
	if i > 0 {
		prev = s[i-1]
	}
	if i == len(s) {
		return 0, false
	}
	for ; i < len(s); i++ {
		if g := s[i].Sub(prev); g > gap {
			gap = g
		}
		prev = s[i]
	}
	return gap, true
}

// ErrorLog counts errors by text, keeping at most a few distinct texts. Safe
// for concurrent use.
type ErrorLog struct {
	mu     sync.Mutex
	total  int64
	counts map[string]int64
	order  []string
}

// maxDistinctErrors bounds the texts an ErrorLog keeps.
const maxDistinctErrors = 8

// Add records one error; digits inside the text are kept verbatim.
func (l *ErrorLog) Add(err error) {
	if err == nil {
		return
	}
	txt := strings.TrimSpace(err.Error())
	if len(txt) > 300 {
		txt = txt[:300] + "..."
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if l.counts == nil {
		l.counts = map[string]int64{}
	}
	if _, ok := l.counts[txt]; !ok {
		if len(l.order) >= maxDistinctErrors {
			txt = "(other errors)"
			if _, ok := l.counts[txt]; !ok {
				l.order = append(l.order, txt)
			}
		} else {
			l.order = append(l.order, txt)
		}
	}
	l.counts[txt]++
}

// Total is the number of errors added.
func (l *ErrorLog) Total() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Samples are the distinct texts in first-seen order with their counts.
func (l *ErrorLog) Samples() []ErrorCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ErrorCount, 0, len(l.order))
	for _, t := range l.order {
		out = append(out, ErrorCount{Text: t, Count: l.counts[t]})
	}
	return out
}

var (
	rbLine  = regexp.MustCompile(`^\s*([A-Za-z][^:]*):\s+(?:rps=[0-9.]+ \(overall: )?([0-9]+(?:\.[0-9]+)?) requests per second(?:, p50=([0-9.]+) msec)?`)
	rbError = regexp.MustCompile(`(?i)(^|\s)(error|err |wrongtype|tryagain|uncertain|unknown command|moved|unsupported)`)
)

// ParseRedisBenchmark reads the output of `redis-benchmark -q [-e]`: one
// "TEST: N requests per second, p50=X msec" line per test (progress lines
// separated by carriage returns are skipped); any other line that looks like
// an error is returned verbatim in errs.
func ParseRedisBenchmark(out string) (lines []RedisBenchLine, errs []string) {
	seenErr := map[string]bool{}
	for _, part := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if m := rbLine.FindStringSubmatch(part); m != nil {
			if strings.Contains(part, "overall:") {
				continue // a progress line
			}
			rps, _ := strconv.ParseFloat(m[2], 64)
			var p50 float64
			if m[3] != "" {
				p50, _ = strconv.ParseFloat(m[3], 64)
			}
			lines = append(lines, RedisBenchLine{Test: m[1], RPS: rps, P50: Ms(p50)})
			continue
		}
		if rbError.MatchString(part) && !seenErr[part] {
			seenErr[part] = true
			errs = append(errs, part)
		}
	}
	return lines, errs
}
