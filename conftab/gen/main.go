// Command gen captures the configuration reference of a running
// redis-server into conftab/reference.tsv (scripts/gen-config.sh starts a
// scratch server for it): every parameter CONFIG GET * lists, its default,
// whether CONFIG SET may change it, the kind of value it takes and its
// bounds, all learnt by asking the server (a bad value's error text names
// the kind and the bounds), and which names are aliases of one another (set
// one, see which others follow). Every change it makes is undone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "scratch redis-server (its settings are changed and restored)")
	out := flag.String("o", "conftab/reference.tsv", "output file")
	flag.Parse()
	if err := run(context.Background(), *addr, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// param is one line of the reference.
type param struct {
	name, canonical, access, kind, def, extra string
}

// noFlip are parameters whose value the alias probe must not change: the
// scratch server would stop listening where the probe talks to it.
var noFlip = map[string]bool{"port": true, "bind": true, "unixsocket": true, "tls-port": true}

var (
	reBetween = regexp.MustCompile(`argument must be between (-?\d+) and (-?\d+) inclusive`)
	reOneOf   = regexp.MustCompile(`argument\(s\) must be one of the following: (.*)$`)
)

func run(ctx context.Context, addr, out string) error {
	cl := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1})
	defer cl.Close()
	c := cl.Conn() // one connection: a probed requirepass must not lock out the next one
	defer c.Close()
	base, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		return fmt.Errorf("CONFIG GET *: %w", err)
	}
	names := make([]string, 0, len(base))
	for n := range base {
		names = append(names, n)
	}
	sort.Strings(names)
	set := func(n, v string) string {
		if err := c.ConfigSet(ctx, n, v).Err(); err != nil {
			return err.Error()
		}
		return "OK"
	}
	restore := func(n string) error {
		if r := set(n, base[n]); r != "OK" {
			return fmt.Errorf("restore %s to %q: %s", n, base[n], r)
		}
		return nil
	}
	var params []param
	for _, n := range names {
		p := param{name: n, canonical: n, access: "mutable", kind: "-", def: base[n], extra: "-"}
		switch r := set(n, base[n]); {
		case strings.Contains(r, "can't set immutable config"):
			p.access = "immutable"
		case strings.Contains(r, "can't set protected config"):
			p.access = "protected"
		case r != "OK":
			return fmt.Errorf("CONFIG SET %s to its own value: %s", n, r)
		}
		if p.access == "mutable" {
			if err := probeKind(&p, set, restore); err != nil {
				return err
			}
		}
		params = append(params, p)
	}
	// Aliases: change each parameter and see which others follow.
	byName := map[string]*param{}
	for i := range params {
		byName[params[i].name] = &params[i]
	}
	for i := range params {
		p := &params[i]
		v, ok := otherValue(p)
		if !ok || noFlip[p.name] {
			continue
		}
		if r := set(p.name, v); r != "OK" {
			continue // a value this server cannot take here (e.g. activedefrag)
		}
		now, err := c.ConfigGet(ctx, "*").Result()
		if err != nil {
			return err
		}
		for n, nv := range now {
			if n != p.name && nv != base[n] && byName[n] != nil {
				a, b := p, byName[n]
				if preferred(b.name, a.name) {
					a.canonical = b.name
				}
			}
		}
		if err := restore(p.name); err != nil {
			return err
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "# Redis's configuration parameters, captured from a running redis-server by")
	fmt.Fprintln(f, "# scripts/gen-config.sh (conftab/gen). Do not edit: regenerate.")
	fmt.Fprintln(f, "# name\tcanonical\taccess\tkind\tdefault\tbounds-or-values")
	for _, p := range params {
		def := p.def
		if p.name == "dir" || p.name == "port" || p.name == "bind" {
			def = "-" // the scratch server's own
		}
		fmt.Fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\n", p.name, p.canonical, p.access, p.kind, quote(def), p.extra)
	}
	return f.Close()
}

// quote writes an empty value as "" so that every line has six fields.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// preferred reports whether a is the name Redis 7.0 leads with and b its
// older alias (slave, ziplist and lua-time-limit are the deprecated words).
func preferred(a, b string) bool {
	old := func(s string) bool {
		return strings.Contains(s, "slave") || strings.Contains(s, "ziplist") || s == "lua-time-limit"
	}
	return !old(a) && old(b)
}

// probeKind learns the kind of value p takes from the error a bad value
// gets, and the bounds or allowed values from further errors.
func probeKind(p *param, set func(n, v string) string, restore func(string) error) error {
	r := set(p.name, "xyzzy")
	switch {
	case r == "OK":
		p.kind = "string"
		return restore(p.name)
	case strings.HasSuffix(r, "argument must be 'yes' or 'no'"):
		p.kind = "bool"
	case strings.HasSuffix(r, "argument couldn't be parsed into an integer"):
		p.kind = "int"
	case strings.HasSuffix(r, "argument must be a memory value"):
		p.kind = "memory"
	case strings.HasSuffix(r, "argument must be a memory or percent value"):
		p.kind = "percent"
	case reOneOf.MatchString(r):
		p.kind = "enum"
		p.extra = strings.ReplaceAll(reOneOf.FindStringSubmatch(r)[1], " ", "")
		if vals := strings.Split(p.extra, ","); len(vals) > 1 && set(p.name, vals[len(vals)-2]+" "+vals[len(vals)-1]) == "OK" {
			p.kind = "flags" // several values at once (shutdown-on-sig*)
			if err := restore(p.name); err != nil {
				return err
			}
		}
	default:
		p.kind = "special"
		return nil
	}
	if p.kind == "int" || p.kind == "memory" || p.kind == "percent" {
		lo, hi := "-9223372036854775808", "9223372036854775807"
		if p.kind != "int" {
			lo = "0"
		}
		min, max := "", ""
		for _, v := range []string{lo, hi} {
			r := set(p.name, v)
			if m := reBetween.FindStringSubmatch(r); m != nil {
				min, max = m[1], m[2]
				break
			}
			if r != "OK" {
				return fmt.Errorf("CONFIG SET %s %s: %s", p.name, v, r)
			}
			if err := restore(p.name); err != nil {
				return err
			}
		}
		if min == "" {
			min, max = lo, hi
			if p.kind == "memory" {
				max = "18446744073709551615"
			}
		}
		p.extra = min + ".." + max
	}
	return nil
}

// otherValue is a valid value of p other than its default.
func otherValue(p *param) (string, bool) {
	switch p.kind {
	case "bool":
		if p.def == "yes" {
			return "no", true
		}
		return "yes", true
	case "enum", "flags":
		for _, v := range strings.Split(p.extra, ",") {
			if v != p.def {
				return v, true
			}
		}
	case "int", "memory", "percent":
		d, err := strconv.ParseInt(strings.TrimSuffix(p.def, "%"), 10, 64)
		lo, hi, _ := strings.Cut(p.extra, "..")
		max, err2 := strconv.ParseInt(hi, 10, 64)
		min, _ := strconv.ParseInt(lo, 10, 64)
		if err != nil {
			return "", false
		}
		if errors.Is(err2, strconv.ErrRange) || d+1 <= max {
			return strconv.FormatInt(d+1, 10), true
		}
		if d-1 >= min {
			return strconv.FormatInt(d-1, 10), true
		}
	case "string":
		return "understudy-probe", true
	}
	return "", false
}
