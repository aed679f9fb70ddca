package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/bench"
)

// loadgen report: the results directory's JSON and redis-benchmark outputs
// gathered into results.json and rendered as report.md (charts: chart.go).

var rbFile = regexp.MustCompile(`^redis-benchmark_([a-z-]+)_P([0-9]+)\.txt$`)

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "results directory")
	started := fs.String("started", time.Now().UTC().Format(time.RFC3339), "when the run started")
	mode := fs.String("mode", "full", "quick or full")
	host := fs.String("host", "", "a line about the machine")
	chart := fs.Bool("chart", true, "also draw chart.png and curve.png")
	stores := fs.String("stores", "", "the --log-store of each Understudy system: understudy=wal,understudy-alt=bolt")
	fs.Parse(args)
	r := bench.Results{Started: *started, Mode: *mode, Host: *host}
	for _, kv := range strings.Split(*stores, ",") {
		if sys, st, ok := strings.Cut(kv, "="); ok {
			if r.Stores == nil {
				r.Stores = map[string]string{}
			}
			r.Stores[sys] = st
		}
	}
	for name, v := range map[string]any{"throughput.json": &r.Throughput, "failover.json": &r.Failover, "scale.json": &r.Scale,
		"curve.json": &r.Curve} {
		if err := bench.ReadJSON(filepath.Join(*dir, name), v); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(*dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		m := rbFile.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		p, _ := strconv.Atoi(m[2])
		lines, errs := bench.ParseRedisBenchmark(string(b))
		r.RedisBench = append(r.RedisBench, bench.RedisBench{Target: m[1], Pipeline: p, Lines: lines, Errors: errs})
	}
	if err := bench.WriteJSON(filepath.Join(*dir, "results.json"), r); err != nil {
		return err
	}
	md := bench.Markdown(r)
	if *chart {
		if err := drawChart(r, filepath.Join(*dir, "chart.png")); err != nil {
			log.Printf("chart: %v (skipped)", err)
		} else {
			md += "\n![throughput by workload](chart.png)\n"
		}
		if err := drawCurve(r, filepath.Join(*dir, "curve.png")); err != nil {
			log.Printf("curve chart: %v (skipped)", err)
		} else {
			md += "\n![SET throughput by number of clients](curve.png)\n"
		}
	}
	if err := os.WriteFile(filepath.Join(*dir, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}
