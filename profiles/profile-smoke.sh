#!/usr/bin/env bash
# profile-smoke.sh OUT LAST - every profile kind once, briefly, inside make test.
#
# Into OUT/profile-smoke/: the CPU and heap profiles of stage 1, the
# contention profiles of stage 4 and of the challenge (whose waits are
# too short for pprof's seconds), the heap and server profiles of the
# last stage (LAST), each checked for the function its lesson is about,
# and every picture checked by its pixels (profiles/pictures.py), so
# that a broken pipeline fails; the contention profiler against a program
# that makes an exact number of contended lock calls; and a profile too
# short to sample, which must fail with a clear message. Where
# google-pprof cannot be installed (Ubuntu 26.04), writes
# OUT/skipped/profile-smoke.txt and exits 0.
set -euo pipefail

out=${1:?usage: profile-smoke.sh OUT LAST}
last=${2:?last stage}
smoke=$out/profile-smoke
log=$smoke.log
rm -rf "$smoke" "$out/skipped/profile-smoke.txt"
mkdir -p "$smoke"
: >"$log"

if ! command -v google-pprof >/dev/null; then
    mkdir -p "$out/skipped"
    echo "profile-smoke: google-pprof is not installed (this system has no google-perftools package)" \
        >"$out/skipped/profile-smoke.txt"
    echo "profile smoke run: SKIPPED: $(cat "$out/skipped/profile-smoke.txt")"
    exit 0
fi

# profile KIND BINARY DIR [VAR=VALUE...]: one profile, its chatter in the log.
profile() {
    local kind=$1 binary=$2 dir=$3
    shift 3
    env "$@" profiles/profile.sh "$kind" "$binary" "$smoke/$dir" >>"$log" 2>&1 \
        || { cat "$log"; echo "FAIL: the $kind profile of $binary"; exit 1; }
}
# expect_in FILE PATTERN WHAT: fail unless FILE contains PATTERN.
expect_in() {
    grep -q -- "$2" "$1" 2>/dev/null || { echo "FAIL: $3: '$2' not in $1"; exit 1; }
}

profile cpu "$out/stage1/bench-cpu" cpu BENCHTIME=0.5s
expect_in "$smoke/cpu/cpu-top-cum.txt" pcre2_compile "stage 1 CPU profile"
profile mem "$out/stage1/bench-heap" mem BENCHTIME=5000x
expect_in "$smoke/mem/mem-top.txt" pcre2_match "stage 1 allocation profile"
expect_in "$smoke/mem/mem-top.txt" '^hi_handle allocated .*: [1-9][0-9]\{4\}\.[0-9] B per call' \
    "stage 1 allocation profile"
profile mem "$out/stage$last/bench-heap" mem-none BENCHTIME=5000x
expect_in "$smoke/mem-none/mem-top.txt" '^nothing allocated per request' "stage $last allocation profile"
profile block "$out/stage4/bench-cpu" block BENCHTIME=0.3s CONTENTION_LIB="$out/profiles/libcontention.so"
expect_in "$smoke/block/block-top.txt" color_is_valid "stage 4 contention profile"
expect_in "$smoke/block/block-locks.txt" '^  shared_match_lock (stages/' "stage 4's lock, by its name"
# Contention needs both threads on a CPU at once: on a machine that other
# processes keep busy, a short run can have none. Up to three runs.
for _ in 1 2 3; do
    profile block "$out/challenge-given/bench-cpu" block-challenge BENCHTIME=0.3s \
        CONTENTION_LIB="$out/profiles/libcontention.so"
    grep -q '^no mutex contention recorded' "$smoke/block-challenge/block-top.txt" || break
done
expect_in "$smoke/block-challenge/block-locks.txt" '^  stats (challenge/hi.c' \
    "a contention profile whose waits are under 10 ms, its lock by name"
profile server "$out/stage$last/server-cpu" server DURATION=2s
expect_in "$smoke/server/server-top-cum.txt" handle_request "stage $last server profile"
pictures=0
for png in cpu/cpu mem/mem mem-none/mem block/block server/server cpu/cpu-slide mem/mem-slide \
           block/block-slide block-challenge/block block-challenge/block-slide; do
    profiles/pictures.py graph "$smoke/$png.png" >>"$log" || { tail -n 1 "$log"; exit 1; }
    pictures=$((pictures + 1))
done

# The contention profiler counts exactly: a program that makes 200
# contended lock calls (and as many uncontended) must be seen to make 200.
CONTENTION_PROFILE="$smoke/exact.prof" LD_PRELOAD="$out/profiles/libcontention.so" \
    "$out/profiles/contention-test" 200 >"$smoke/exact.txt" 2>&1 || { cat "$smoke/exact.txt"; exit 1; }
expect_in "$smoke/exact.txt" '^contention: 200 contended lock calls at 1 stack' \
    "the contention profiler, on a program that makes exactly 200 contended lock calls"
profiles/locknames.py "$smoke/exact.prof.locks" "$out/profiles/contention-test" >"$smoke/exact-locks.txt"
expect_in "$smoke/exact-locks.txt" '^  round_lock (profiles/contention_test.c:[0-9]*): 200 contended calls' \
    "the contention profiler's lock, by name and count"

if BENCHTIME=1x CPUPROFILE_FREQUENCY=1 profiles/profile.sh cpu "$out/stage1/bench-cpu" "$smoke/empty" \
       >"$smoke/empty.log" 2>&1; then
    cat "$smoke/empty.log"
    echo "FAIL: a CPU profile without samples did not fail"
    exit 1
fi
expect_in "$smoke/empty.log" "has no samples" "a CPU profile without samples"
echo "profile smoke run: 7 profiles, each showing what its lesson is about, $pictures pictures"
echo "  checked by their pixels; the lock profiler exact on 200 contended calls, naming the lock;"
echo "  a run too short to sample fails with a clear message"
