#!/usr/bin/env bash
# Regenerates proto/**/*.pb.go from proto/**/*.proto with buf, run through
# `go run` so no protoc or buf install is needed. The generated code is checked
# in: a build never needs this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
gofmt -l proto
