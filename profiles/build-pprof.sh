#!/usr/bin/env bash
# build-pprof.sh SOURCE OUTPUT - google/pprof, built from Debian's source
# package (golang-github-google-pprof-dev, in SOURCE) with Debian's Go.
#
# Why this pprof: it reads the gperftools profiles the workbook writes,
# serves a flame graph, top, call graph, source and disassembly in the
# browser, and compares two profiles (-diff_base). `go tool pprof` is the
# same program with Go's own object tools: they name nothing in Debian's
# stripped libraries (not even the exported functions) and disassemble
# in Go's assembler syntax; this one runs binutils' objdump, nm and
# addr2line.
#
# Offline: GOPATH mode, with the packaged sources only (GOPROXY=off,
# GOTOOLCHAIN=local), the build cache under out/. Exits 3, saying
# SKIPPED, where this system has no Go or no pprof source (neither is in
# every distribution: make deps-web installs them where they are).
set -euo pipefail

source_dir=${1:?usage: build-pprof.sh SOURCE OUTPUT}
output=${2:?output}
if ! command -v go >/dev/null || [ ! -f "$source_dir/driver/driver.go" ]; then
    echo "web: SKIPPED: no Go toolchain or no pprof source here (Debian packages golang-go and" >&2
    echo "  golang-github-google-pprof-dev; make deps-web installs them where the package lists have them)." >&2
    echo "  The pictures need neither: make stageN flame, make stageN profile, make flamediff" >&2
    exit 3
fi
mkdir -p "$(dirname "$output")"
cache=$(cd "$(dirname "$output")" && pwd)/go-cache
gopath=${source_dir%/src/github.com/google/pprof}
echo "web: building pprof from $source_dir ($(go version | awk '{ print $3 }'))"
if ! env GO111MODULE=off GOPATH="$gopath" GOCACHE="$cache" GOPROXY=off GOTOOLCHAIN=local GOFLAGS= \
        go build -trimpath -o "$output.new" github.com/google/pprof 2>"$output.log"; then
    cat "$output.log" >&2
    echo "web: go build of pprof failed (above)" >&2
    rm -f "$output.new"
    exit 1
fi
mv "$output.new" "$output"
rm -f "$output.log"
