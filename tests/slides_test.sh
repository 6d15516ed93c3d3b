#!/usr/bin/env bash
# slides_test.sh DECK OUTDIR SKIPPED-FILE - open the built deck in headless Chromium.
#
# Passes when reveal.js started and every <img> decoded (the deck's
# loaded.html records both on <body>), and saves screenshots of the title,
# a call graph and the comparison table into OUTDIR. Skips, saying so,
# when Chromium is not installed (`make deps` installs it).
set -euo pipefail

deck=$(realpath "${1:?usage: slides_test.sh DECK OUTDIR SKIPPED-FILE}")
outdir=${2:?outdir}
skipped=${3:?skipped-file}
browser=$(command -v chromium || command -v chromium-browser || true)
# SKIPPED-FILE tells make test's closing count that this test did not run, and why.
mkdir -p "$outdir" "$(dirname "$skipped")"
rm -f "$skipped"
if [ -z "$browser" ]; then
    echo "slides test: SKIPPED, Chromium is not installed (make deps installs it where it can)"
    echo "slides-test: Chromium is not installed" >"$skipped"
    exit 0
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The machine has no network: these flags stop Chromium's own background
# connections (updates, sync, field trials) from failing at every start.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile"
       --window-size=1280,800)

# A Chromium that fails or hangs leaves dom empty; the checks below say so.
dom=$(timeout 60 "$browser" "${flags[@]}" --virtual-time-budget=8000 --dump-dom \
      "file://$deck" 2>/dev/null || true)
images=$(sed -n 's/.*data-images="\([0-9]*\/[0-9]*\)".*/\1/p' <<<"$dom" | head -1)
reveal=$(sed -n 's/.*data-reveal="\([a-z-]*\)".*/\1/p' <<<"$dom" | head -1)
slides=$(grep -o '<section' <<<"$dom" | wc -l || true)
echo "slides test: $slides sections, images decoded $images, reveal.js $reveal"
if [ -z "$images" ] || [ "${images%/*}" != "${images#*/}" ] || [ "${images#*/}" = 0 ]; then
    echo "FAIL: not every image loaded ($images)" >&2
    exit 1
fi
[ "$reveal" = ready ] || { echo "FAIL: reveal.js did not start ($reveal)" >&2; exit 1; }

# Slide ids are pandoc's, from the headings in slides/slides.md.
for shot in title:title-slide callgraph:make-stage1-profile table:all-five-stages-side-by-side; do
    name=${shot%%:*}
    rm -f "$outdir/slide-$name.png"   # an old screenshot must not pass for a new one
    timeout 60 "$browser" "${flags[@]}" --virtual-time-budget=3000 \
        --screenshot="$outdir/slide-$name.png" "file://$deck#/${shot#*:}" >/dev/null 2>&1 \
        || echo "slides test: Chromium exited with status $? on the $name slide" >&2
    [ -s "$outdir/slide-$name.png" ] || { echo "FAIL: no screenshot of the $name slide" >&2; exit 1; }
    echo "slides test: screenshot $outdir/slide-$name.png"
done
