#!/usr/bin/env bash
# slides_test.sh DECK OUTDIR SKIPPED-FILE - check the built deck in headless Chromium.
#
# Runs tests/slides_check.mjs (playwright-core, from js/node_modules) on
# DECK: reveal.js must start and every <img> decode, and every slide, at
# 1280x720 and at 1920x1080, must keep its content inside the slide, draw
# nothing over anything else, show its pictures at a legible size and its
# code blocks whole. Saves a screenshot of every slide at both sizes into
# OUTDIR (slide-NN-TITLE-WxH.png). Fails, naming each slide and what is
# wrong with it, when anything is. Skips, saying so, when Chromium, node
# or playwright-core is not installed (`make deps` installs the first two,
# `make js/node_modules/.installed` the last).
set -euo pipefail

deck=$(realpath "${1:?usage: slides_test.sh DECK OUTDIR SKIPPED-FILE}")
outdir=${2:?outdir}
skipped=${3:?skipped-file}
root=$(cd "$(dirname "$0")/.." && pwd)
# SKIPPED-FILE tells make test's closing count that this test did not run, and why.
mkdir -p "$outdir" "$(dirname "$skipped")"
rm -f "$skipped"
. "$root/tests/slides_tools.sh"
if ! slides_tools "$root"; then
    echo "slides test: SKIPPED, $missing ($install)"
    echo "slides-test: $missing" >"$skipped"
    exit 0
fi

status=0
TMPDIR=$(chromium_tmpdir "$root") CHROMIUM=$browser timeout 180 node "$root/tests/slides_check.mjs" "$deck" "$outdir" || status=$?
if [ "$status" = 124 ]; then
    echo "FAIL: the slides check did not finish within 180 s" >&2
    exit 1
elif [ "$status" != 0 ]; then
    echo "FAIL: the slides check failed (status $status): see the lines above, and the screenshots in $outdir" >&2
    exit 1
fi
