#!/usr/bin/env bash
# tests/slides-fixture/build.sh OUTDIR [MARKDOWN] - build bad.md (or
# MARKDOWN) into OUTDIR/index.html exactly the way slides/build.py builds the
# deck (same pandoc variables, slides/style.html and slides/loaded.html,
# reveal.js and the picture img/stage1-cpu.png copied next to index.html),
# for tests/slides-fixture/selftest.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?usage: tests/slides-fixture/build.sh OUTDIR [MARKDOWN]}
markdown=$(realpath "${2:-$here/bad.md}")
reveal=$root/js/node_modules/reveal.js

if [ ! -f "$reveal/dist/reveal.js" ]; then
    echo "slides fixture: reveal.js is missing: run make js/node_modules/.installed" >&2
    exit 1
fi
command -v pandoc >/dev/null || { echo "slides fixture: pandoc is not installed; run: make deps" >&2; exit 1; }

mkdir -p "$out/img" "$out/reveal.js"
for part in dist plugin; do
    rm -rf "${out:?}/reveal.js/$part"
    cp -R "$reveal/$part" "$out/reveal.js/$part"
done
cp "$root/slides/reference/stage1-cpu.png" "$out/img/stage1-cpu.png"

# Keep in step with the pandoc command of slides/build.py.
pandoc --standalone --to revealjs --slide-level 2 \
    --variable revealjs-url=reveal.js --variable theme=white \
    --variable hash=true --variable width=1280 --variable height=800 \
    --variable viewDistance=100 --variable mobileViewDistance=100 \
    --include-in-header "$root/slides/style.html" \
    --include-after-body "$root/slides/loaded.html" \
    --output "$out/index.html" "$markdown"
echo "wrote $out/index.html"
