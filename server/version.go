package server

import (
	"runtime/debug"

	"github.com/understudy/understudy/fsm"
)

// Version is this build's version, stamped at build time:
//
//	go build -ldflags "-X github.com/understudy/understudy/server.Version=v1.2.3" ./cmd/understudy
//
// scripts/cluster.sh, scripts/image.sh and scripts/rolling-upgrade.sh stamp
// `git describe --always --dirty`. Read it through BuildVersion.
var Version string

// FormatLevel is the highest cluster level this build applies (fsm.MaxLevel:
// the newest entry, snapshot and backup formats it reads and writes),
// reported next to the version in the admin Status (format_level) so the
// leader can raise the cluster level once every member has it (level.go).
const FormatLevel = uint32(fsm.MaxLevel)

// BuildVersion is the version a node reports (understudy --version, INFO
// server's understudy_version, the admin Status, understudy_build_info):
// Version when the build stamped it, else "dev-" and the commit Go recorded
// in the binary (a plain go build in a git checkout; "-dirty" when the tree
// had changes), else "dev".
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if rev == "" {
		return "dev"
	}
	return "dev-" + rev + dirty
}
