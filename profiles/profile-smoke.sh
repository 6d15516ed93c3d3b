#!/usr/bin/env bash
# profile-smoke.sh OUT LAST - every profile kind once, briefly, inside make test.
#
# Into OUT/profile-smoke/: the CPU and heap profiles of stage 1, the
# contention profile of stage 4, the heap and server profiles of the last
# stage (LAST), each checked for the function its lesson is about, so that
# a broken pipeline fails; and a profile too short to sample, which must
# fail with a clear message. Where google-pprof cannot be installed
# (Ubuntu 26.04), writes OUT/skipped/profile-smoke.txt and exits 0.
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
profile server "$out/stage$last/server-cpu" server DURATION=2s
expect_in "$smoke/server/server-top-cum.txt" handle_request "stage $last server profile"
for png in cpu/cpu mem/mem block/block server/server cpu/cpu-slide block/block-slide; do
    file "$smoke/$png.png" | grep -q 'PNG image' || { echo "FAIL: no PNG at $smoke/$png.png"; exit 1; }
done

if BENCHTIME=1x CPUPROFILE_FREQUENCY=1 profiles/profile.sh cpu "$out/stage1/bench-cpu" "$smoke/empty" \
       >"$smoke/empty.log" 2>&1; then
    cat "$smoke/empty.log"
    echo "FAIL: a CPU profile without samples did not fail"
    exit 1
fi
expect_in "$smoke/empty.log" "has no samples" "a CPU profile without samples"
echo "profile smoke run: 5 profiles drawn, each showing what its lesson is about;" \
     "a run too short to sample fails with a clear message"
