#!/usr/bin/env bash
# web-smoke.sh OUT PPROF - make test's check of make flamediff, make
# stageN web and make webdiff, each by what it shows (mk/web.mk).
#
#   flamediff 1 -> 2   its report names pcre2_compile_8 as gone; stage 1's
#                      picture is deep blue over a third of the row above
#                      hi_handle and more, stage 2's is not blue at all
#   web, stage 1       the viewer's flame graph holds hi_handle and
#                      pcre2_compile_8, and names every pcre2 function
#                      (none left as a bare "[libpcre2-8.so...]"); the
#                      source view shows hi_handle's lines, the
#                      disassembly its instructions; the heap's flame
#                      graph holds pcre2_match_8's allocations
#                      and, while it serves, a second one on its port or
#                      its unit is refused, saying why
#   webdiff 1 -> 2     the diff's flame graph: pcre2_compile_8 cost less
#
# Each check prints what it saw; the first that fails ends the run with
# status 1. Without pprof (no Go here), the viewer's checks say SKIPPED.
set -euo pipefail

out=${1:?usage: web-smoke.sh OUT PPROF}
pprof=${2:?pprof}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../bench/server.sh
. "$here/../bench/server.sh"      # wait_for_line
smoke=$out/web-smoke
rm -rf "$smoke" && mkdir -p "$smoke"

fail() {
    echo "FAIL: $*"
    exit 1
}

# ============================ flamediff =======================================

"$here/flamediff.py" instructions "$smoke/flamediff" "stage 1" "$out/stage1/instr/stacks.json" \
    "stage 2" "$out/stage2/instr/stacks.json" >"$smoke/flamediff.txt" \
    || { cat "$smoke/flamediff.txt"; fail "make flamediff OLD=1 NEW=2"; }
grep -Eq '^ +pcre2_compile_8 +[0-9,]+ -> +0 +gone$' "$smoke/flamediff.txt" \
    || { cat "$smoke/flamediff.txt"; fail "flamediff 1 -> 2 does not name pcre2_compile_8 as gone"; }
echo "flamediff 1 -> 2: $(grep -E '^ +pcre2_compile_8 ' "$smoke/flamediff.txt" | tr -s ' ' | sed 's/^ //')"
"$here/pictures.py" diff "$smoke/flamediff/old.png" 1 blue 30 || exit 1
"$here/pictures.py" diff "$smoke/flamediff/new.png" 1 blue 0 || exit 1

# ============================ The viewer ======================================

if [ ! -x "$pprof" ]; then
    echo "web: SKIPPED: no pprof was built here (make $pprof says why); the flame graphs stay"
    exit 0
fi

# free_port: a TCP port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve NAME UNIT-DIR [BASE-UNIT-DIR]: profiles/web.sh as make runs it, in
# the background, until pprof says it serves; sets port and server.
serve() {
    local name=$1
    shift
    port=$(free_port)
    WEB_SECONDS=0.5 WEB_HEAP_CALLS=1000 "$here/web.sh" "$pprof" 127.0.0.1 "$port" "$@" \
        >"$smoke/$name.txt" 2>&1 &
    server=$!
    wait_for_line "$smoke/$name.txt" "^Serving web UI on" "$server" 30 && return 0
    cat "$smoke/$name.txt"
    kill -0 "$server" 2>/dev/null || fail "$name: web.sh stopped"
    fail "$name: pprof did not serve within 30 s"
}

stop() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap stop EXIT

# page PATH: saves the viewer's page at PATH under $smoke, and sets
# page_file to it; fails, with what the server said, if there is none.
page() {
    page_file=$smoke/page-$(echo "$1" | tr -c 'a-z0-9' '-').html
    python3 - "http://127.0.0.1:$port$1" >"$page_file" <<'PYTHON' || fail "no page at http://127.0.0.1:$port$1"
import sys, urllib.error, urllib.request
try:
    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=60).read().decode())
except urllib.error.HTTPError as error:
    sys.exit(f"{sys.argv[1]}: {error.code}: {error.read().decode(errors='replace').strip()[:300]}")
except OSError as error:
    sys.exit(f"{sys.argv[1]}: {error}")
PYTHON
}

# flame_values PAGE: the flame graph's frames in a page of /ui/flamegraph,
# as "NAME VALUE" lines, each function once with its largest value.
flame_values() {
    python3 - "$1" <<'PYTHON'
import json, re, sys
text = open(sys.argv[1]).read()
found = re.search(r"var data = (\{.*\});", text)
if not found:
    sys.exit(f"{sys.argv[1]}: no flame graph data in the page")
values = {}
def walk(node):
    value = node["v"]
    if node["n"] not in values or abs(value) > abs(values[node["n"]]):
        values[node["n"]] = value
    for child in node.get("c") or []:
        walk(child)
walk(json.loads(found[1]))
for name, value in values.items():
    print(name, value)
PYTHON
}

serve web "$out/stage1"
# Refused in one line each, while it serves: its port, and its unit.
refused() {
    local want=$1 said
    shift
    said=$("$@" 2>&1) && fail "web.sh $*: started, want it refused ($want)"
    grep -q "$want" <<<"$said" || fail "web.sh $*: said '$said', want '$want'"
}
refused "port $port is in use" "$here/web.sh" "$pprof" 127.0.0.1 "$port" "$out/stage2"
refused "another make web is recording or serving" env WEB_RECORD_ONLY=1 "$here/web.sh" "$pprof" \
    127.0.0.1 "$(free_port)" "$out/stage1"
echo "web stage 1: a second make web is refused, on its port and on its unit"
page /ui/flamegraph
frames=$(flame_values "$page_file")
for name in hi_handle pcre2_compile_8 pcre2_match_8; do
    grep -q "^$name [1-9]" <<<"$frames" || fail "stage 1's flame graph has no $name with a cost"
done
grep -q '^libpcre2-8:0x[0-9a-f]* [1-9]' <<<"$frames" \
    || fail "stage 1's flame graph names none of pcre2's own (static) functions"
! grep -q '^\[libpcre2' <<<"$frames" || fail "stage 1's flame graph leaves a bare [libpcre2...] frame"
echo "web stage 1: flame graph of $(wc -l <<<"$frames") functions," \
     "$(grep -c '^libpcre2-8:0x' <<<"$frames") of pcre2's static ones named by address"
page "/ui/source?f=hi_handle"
grep -q "COLOR_PATTERN" "$page_file" || fail "the source view shows no line of stage 1's hi_handle"
page "/ui/disasm?f=hi_handle"
instructions=$(grep -Ec '^ +[0-9.a-zµ]+ +[0-9.a-zµ]+ +[0-9a-f]+: ' "$page_file" || true)
[ "$instructions" -ge 20 ] \
    || fail "the disassembly of hi_handle shows $instructions instructions, want 20 or more"
echo "web stage 1: source lines of hi_handle, and $instructions of its instructions"
page "/ui/flamegraph?si=alloc_space"
heap=$(flame_values "$page_file")
grep -q "^pcre2_match_8 [1-9]" <<<"$heap" || fail "stage 1's heap flame graph has no pcre2_match_8"
echo "web stage 1: the heap's flame graph: pcre2_match_8 allocates" \
     "$(awk '$1 == "pcre2_match_8" { printf "%.0f", $2 / 1e6 }' <<<"$heap") bytes per call"
stop

serve webdiff "$out/stage2" "$out/stage1"
page /ui/flamegraph
diff=$(flame_values "$page_file")
grep -q "^pcre2_compile_8 -[1-9]" <<<"$diff" \
    || fail "the diff 1 -> 2 does not show pcre2_compile_8 costing less: $(grep pcre2_compile <<<"$diff")"
echo "webdiff 1 -> 2: pcre2_compile_8 $(awk '$1 == "pcre2_compile_8" { printf "%+.0f", $2 / 1e6 }' \
     <<<"$diff") ns per call"
