// Command testsummary reads `go test -json` and prints what plain `go test`
// would (each package's ok/FAIL line, the output of failed tests), then
// refuses skipped tests that are not on the allow-list: under CI a test
// that skips must say why in scripts/skip-allowed.txt, so a missing tool or
// an unset variable can never turn a suite off silently.
//
//	go test -json ./... | go run ./scripts/testsummary -allow scripts/skip-allowed.txt [-strict]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	allowFile := flag.String("allow", "scripts/skip-allowed.txt", "tests allowed to skip: lines `package TestName reason`")
	strict := flag.Bool("strict", os.Getenv("CI") == "true", "fail on a skip not on the allow-list (default under CI=true)")
	flag.Parse()
	allowed, err := readAllow(*allowFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	code := summarize(os.Stdin, os.Stdout, allowed, *strict)
	os.Exit(code)
}

// readAllow reads `package TestName reason...` lines ('#' comments).
func readAllow(path string) (map[string]string, error) {
	out := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("%s: %q: want `package TestName reason`", path, line)
		}
		out[f[0]+" "+f[1]] = strings.Join(f[2:], " ")
	}
	return out, sc.Err()
}

func summarize(in io.Reader, out io.Writer, allowed map[string]string, strict bool) int {
	dec := json.NewDecoder(in)
	outputs := map[string][]string{} // package/test -> output lines
	var skipped, failedTests []string
	failed := false
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(out, "testsummary: reading go test -json:", err)
			return 1
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if e.Test == "" {
				// Package-level output: build failures, panics, ok/FAIL lines.
				if strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
					strings.HasPrefix(e.Output, "?") || strings.HasPrefix(e.Output, "---") ||
					strings.Contains(e.Output, "[build failed]") || strings.HasPrefix(e.Output, "#") ||
					strings.HasPrefix(e.Output, "panic") {
					fmt.Fprint(out, e.Output)
				} else {
					outputs[key] = append(outputs[key], e.Output)
				}
				continue
			}
			outputs[key] = append(outputs[key], e.Output)
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, key)
			}
		case "fail":
			failed = true
			if e.Test != "" {
				failedTests = append(failedTests, key)
				for _, l := range outputs[key] {
					fmt.Fprint(out, l)
				}
			} else {
				for _, l := range outputs[key] {
					fmt.Fprint(out, l)
				}
			}
			delete(outputs, key)
		case "pass":
			delete(outputs, key)
		}
	}
	sort.Strings(skipped)
	var refused []string
	for _, k := range skipped {
		pkg, test, _ := strings.Cut(k, " ")
		top, _, _ := strings.Cut(test, "/")
		if _, ok := allowed[pkg+" "+top]; ok {
			continue
		}
		if _, ok := allowed[shortPkg(pkg)+" "+top]; ok {
			continue
		}
		refused = append(refused, k)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(out, "%d tests skipped", len(skipped))
		if len(refused) > 0 {
			fmt.Fprintf(out, ", %d not on the allow-list", len(refused))
		}
		fmt.Fprintln(out)
	}
	for _, k := range refused {
		fmt.Fprintln(out, "  skipped:", k, skipReason(outputs[k]))
	}
	if strict && len(refused) > 0 {
		fmt.Fprintln(out, "FAIL: tests skipped that scripts/skip-allowed.txt does not allow (a missing tool or setting turned them off)")
		return 1
	}
	if failed {
		// The failing tests again, last, where a reader of a long CI log looks.
		if len(failedTests) > 0 {
			fmt.Fprintf(out, "%d tests failed:\n", len(failedTests))
			for _, k := range failedTests {
				fmt.Fprintln(out, "  failed:", k)
			}
		}
		return 1
	}
	return 0
}

// shortPkg drops the module path: "fsm/rdb" for ".../understudy/fsm/rdb".
func shortPkg(pkg string) string {
	const mod = "github.com/understudy/understudy/"
	return strings.TrimPrefix(pkg, mod)
}

// skipReason is the last line a skipped test printed.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "===") {
			return "(" + l + ")"
		}
	}
	return ""
}
