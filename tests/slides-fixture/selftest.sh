#!/usr/bin/env bash
# tests/slides-fixture/selftest.sh OUTDIR SKIPPED-FILE - prove that
# tests/slides_check.mjs can fail.
#
# Builds bad.md into OUTDIR with slides/build.py, as the real deck is
# built, and runs the check on it, which must exit with status 1 and name
# every slide's problem: a caption cut off at the bottom of the slide, a
# diff that runs off the slide and pushes the line under it off too, and
# a call graph shrunk past legibility. The title slide must pass. Skips,
# saying so, when Chromium, node or playwright-core is not installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
outdir=${1:?usage: selftest.sh OUTDIR SKIPPED-FILE}
skipped=${2:?skipped-file}
mkdir -p "$outdir" "$(dirname "$skipped")"
rm -f "$skipped"
. "$root/tests/slides_tools.sh"
if ! slides_tools "$root"; then
    echo "slides check self-test: SKIPPED, $missing"
    echo "slides-fixture: $missing" >"$skipped"
    exit 0
fi

REFERENCE_ONLY=1 "$root/slides/build.py" "$outdir" "$here/bad.md" >/dev/null
status=0
report=$(TMPDIR=$(chromium_tmpdir "$root") CHROMIUM=$browser timeout 120 node "$root/tests/slides_check.mjs" "$outdir/index.html" "$outdir") || status=$?
failed=0
fail() { echo "FAIL: slides check self-test: $1" >&2; failed=1; }
[ "$status" = 1 ] || fail "the check exited with status $status on the fixture, not 1"
# One pattern per deliberate fault (extended regular expressions).
for expected in \
    '^FAIL: slide 2 "A caption too long" .* at 1280x720: <p> "a deliberately overlong caption.* reaches [0-9]+ px past the bottom edge' \
    '^FAIL: slide 3 "An 80-line diff" .* at 1280x720: <pre> "--- a/counter.c" reaches [0-9]+ px past the bottom edge' \
    '^FAIL: slide 3 "An 80-line diff" .* at 1280x720: <p> "atomic_fetch_add.* reaches [0-9]+ px past the bottom edge' \
    '^FAIL: slide 4 "A call graph too small" .* at 1280x720: <img> img/stage1-cpu.png is drawn .*% of its natural' \
    '^slides check: 4 slides x 2 sizes, '; do
    grep -Eq -- "$expected" <<<"$report" || fail "no line matching: $expected"
done
if grep -q '^FAIL: slide 1 ' <<<"$report"; then fail "the title slide, which is fine, was reported"; fi
if [ "$failed" != 0 ]; then
    echo "the check said:" >&2
    echo "$report" >&2
    exit 1
fi
echo "slides check self-test: the check fails on the fixture deck as it should ($(grep -c '^FAIL' <<<"$report") problems on slides 2-4)"
