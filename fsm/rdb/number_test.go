package rdb

import (
	"math"
	"testing"
)

// The expectations are glibc's (sscanf "%lg" and strtod), which Redis uses.
func TestScanDoubleLikeGlibc(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		want float64
		used int // strtod's
	}{
		{"0xI0", false, 0, 1}, {"0x", false, 0, 1}, {"0x1", true, 1, 3}, {"0x.8", true, 0.5, 4},
		{"0x.", true, 0, 1}, {"0xg", false, 0, 1}, {"1e", true, 1, 1}, {"1e+", true, 1, 1},
		{"1e+x", true, 1, 1}, {"-", false, 0, 0}, {"+", false, 0, 0}, {".", false, 0, 0},
		{".5", true, 0.5, 2}, {"5.", true, 5, 2}, {"inf", true, math.Inf(1), 3},
		{"infx", true, math.Inf(1), 3}, {"infinity", true, math.Inf(1), 8}, {"infinit", false, 0, 3},
		{" 2", true, 2, 2}, {"\t3", true, 3, 2}, {"1.5abc", true, 1.5, 3},
		{"1e400", true, math.Inf(1), 5}, {"1e-400", true, 0, 6}, {"0x1p", true, 1, 3},
		{"0x1p+", true, 1, 3}, {"0x1p3", true, 8, 5}, {"00x1", true, 0, 2}, {"1,5", true, 1, 1},
		{"--1", false, 0, 0}, {"+-1", false, 0, 0}, {"0x1.8p1x", true, 3, 7}, {"  ", false, 0, 0},
		{"", false, 0, 0}, {"1e5.5", true, 100000, 3}, {"i", false, 0, 0}, {"in", false, 0, 0},
		{"n", false, 0, 0}, {"na", false, 0, 0}, {"0X10", true, 16, 4}, {"1E2", true, 100, 3},
		{"0x1P2", true, 4, 5}, {"+.e1", false, 0, 0}, {".e1", false, 0, 0}, {"1.e2", true, 100, 4},
		{"0.", true, 0, 2}, {"-.5", true, -0.5, 3}, {"0x1.", true, 1, 4}, {"0x.p1", true, 0, 1},
		{"0x1e2", true, 482, 5}, {"1_0", true, 1, 1}, {"-inf", true, math.Inf(-1), 4},
		{"7\x008", true, 7, 1},
	}
	for _, c := range cases {
		v, ok := scanDouble(c.in)
		if ok != c.ok || ok && v != c.want {
			t.Errorf("scanDouble(%q) = %v, %v; want %v, %v", c.in, v, ok, c.want, c.ok)
		}
		if sv, used := strtod(c.in); used != c.used || c.ok && sv != c.want {
			t.Errorf("strtod(%q) = %v, %d; want %v, %d", c.in, sv, used, c.want, c.used)
		}
	}
	for _, in := range []string{"nan", "nan(abc)", "-nan", "nan("} {
		if v, ok := scanDouble(in); !ok || !math.IsNaN(v) {
			t.Errorf("scanDouble(%q) = %v, %v; want NaN", in, v, ok)
		}
	}
	if _, used := strtod("nan(abc)"); used != 8 {
		t.Errorf("strtod(nan(abc)) read %d bytes, want 8", used)
	}
	if _, used := strtod("nan(a-b)"); used != 3 {
		t.Errorf("strtod(nan(a-b)) read %d bytes, want 3", used)
	}
}
