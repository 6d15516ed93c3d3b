#!/usr/bin/env bash
# offline-smoke.sh OUT "DEPS-GROUPS" - the workbook with the network cut
# (make offline-smoke, part of make test).
#
# In a network namespace of its own, with only loopback up: the Debian
# packages are checked (mk/deps.sh must not reach for apt), the slides'
# JavaScript is installed from npm's cache alone, the deck is built, a
# benchmark runs and the live server takes a second of load. Anything
# that needed the network fails it. Where no namespace can be made (no
# root and no user namespaces), it says so and leaves OUT/skipped/
# offline-smoke.txt for make test's closing count. IN_CONTAINER (set by
# the Makefile when it runs in one) adds the container's own remedy.
set -euo pipefail

out=${1:?usage: offline-smoke.sh OUT "DEPS-GROUPS"}
groups=${2:?deps groups}
dir=$out/offline
rm -rf "$dir" "$out/skipped/offline-smoke.txt" && mkdir -p "$dir/js"

# The namespace: as root, or as a user through a user namespace.
if unshare -n true 2>/dev/null; then netns=(unshare -n)
elif unshare -rn true 2>/dev/null; then netns=(unshare -rn)
else netns=(); fi
if [ ${#netns[@]} = 0 ] || ! command -v ip >/dev/null; then
    why="cannot make a network namespace here (unshare -n needs root or user namespaces"
    [ -z "${IN_CONTAINER:-}" ] || why+="; start the container with --security-opt seccomp=unconfined"
    mkdir -p "$out/skipped"
    echo "offline-smoke: $why)" >"$out/skipped/offline-smoke.txt"
    echo "offline: SKIPPED: $(cat "$out/skipped/offline-smoke.txt")"
    exit 0
fi

cp js/package.json js/package-lock.json "$dir/js/"
start=$(date +%s.%N)
# shellcheck disable=SC2016  # expanded by the inner shell, with its exports
OUT=$out DIR=$dir GROUPS_NEEDED=$groups "${netns[@]}" bash -c '
    set -eo pipefail
    ip link set lo up
    if ip -o link show up | grep -v " lo:"; then echo "the network is not cut: links up besides lo" >&2; exit 1; fi
    mk/deps.sh $GROUPS_NEEDED
    (cd "$DIR/js" && npm ci --offline --no-audit --no-fund --no-update-notifier >npm.log 2>&1)
    REFERENCE_ONLY=1 slides/build.py "$DIR/slides" >/dev/null
    BENCH="^BenchmarkHi$" BENCHTIME=100x "$OUT/stage1/bench" >/dev/null
    DURATION=1s bench/load.sh "$OUT/stage1/server" | tail -n 1' >"$dir/log.txt" 2>&1 \
    || { cat "$dir/log.txt" "$dir/js/npm.log" 2>/dev/null || true; echo "FAIL: something needed the network"; exit 1; }
echo "offline: packages checked, JavaScript installed from npm's cache, deck built, a benchmark"
echo "  and a live server run, in $(awk -v start="$start" -v end="$(date +%s.%N)" \
     'BEGIN { printf "%.1f", end - start }') s with no network"
