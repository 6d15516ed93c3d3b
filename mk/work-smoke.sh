#!/usr/bin/env bash
# work-smoke.sh DIR "BINARIES" - the workspace flow, as an attendee types
# it, in a workspace and out/ of its own under DIR (make work-smoke, part
# of make test):
#
#   1. make work FROM=2 says what it checks the copy as (stage 3);
#   2. the unchanged copy fails stage 3's race checks, with a message
#      that names the expectation that broke;
#   3. with stage 3's change applied, make work test passes, make work
#      cmp compares it with stages 2 and 3, and make work flame draws its
#      flame graph (checked by its pixels);
#   4. make work FROM=3 then keeps that changed hi.c aside, and says where.
#
# Only the race test case runs (CK_RUN_CASE=race): it is what stage 3
# changes. (Every exercise's check, each stage against its reference and
# other changes, is mk/exercise-check.sh's.) BINARIES are the
# workspace's files to compile first, on every CPU at once. MAKE is the
# make to run (the Makefile passes its own).
set -euo pipefail

dir=${1:?usage: work-smoke.sh DIR "BINARIES"}
read -ra binaries <<<"${2:?binaries}"
make=${MAKE:-make}
STAGES_FILE=stages/stages.txt
. stages/stages.sh
stage3=stages/$(stage_folder 3)/hi.c

# in_workspace ARGS...: make ARGS, on the smoke run's own workspace and out/.
in_workspace() {
    CK_RUN_CASE=race "$make" --no-print-directory OUT="$dir/out" WORK="$dir/work" "$@"
}
# build: the workspace's binaries and stage 2's instruction count, in parallel.
build() {
    in_workspace -j"$(nproc)" BUILD_IN_PARALLEL=1 "${binaries[@]/#/$dir/out/work/}" \
        "$dir/out/stage2/instr/instr.json" >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
}
# fail LOG MESSAGE: shows what make printed, then why that is wrong.
fail() { cat "$1"; echo "FAIL: $2"; exit 1; }

rm -rf "$dir" && mkdir -p "$dir"
in_workspace work FROM=2 >"$dir/new.log" 2>&1 || fail "$dir/new.log" "make work FROM=2 failed"
grep -q 'checks your copy as stage 3' "$dir/new.log" || fail "$dir/new.log" "make work did not say what it checks"

build
! in_workspace work test >"$dir/unchanged.log" 2>&1 \
    || fail "$dir/unchanged.log" "an unchanged copy of stage 2 passed stage 3's checks"
broke=$(grep -o 'stage 3 expects no data race' "$dir/unchanged.log" | head -1) \
    || fail "$dir/unchanged.log" "the failure does not say which expectation broke"

cp "$stage3" "$dir/work/hi.c"
build
in_workspace work test >"$dir/solved.log" 2>&1 \
    || fail "$dir/solved.log" "stage 3's change, applied in the workspace, did not pass"

# Its comparison with stage 2 and stage 3, briefly: every column there.
COUNT=2 BENCHTIME=100x in_workspace work cmp >"$dir/cmp.log" 2>&1 || fail "$dir/cmp.log" "make work cmp failed"
grep -q '^instructions per request: stage 2 .*, your work .*, stage 3 ' "$dir/cmp.log" \
    && grep -q 'your work' "$dir/cmp.log" | head -1 \
    || fail "$dir/cmp.log" "make work cmp did not compare the work with stage 2 and stage 3"

# The workspace's own flame graph, a picture with its frames in it
# (where perf may sample here).
status=0
BENCHTIME=0.3s in_workspace work flame >"$dir/flame.log" 2>&1 || status=$?
flame=$dir/out/work/perf/flame
if [ $status = 0 ]; then
    profiles/pictures.py flame "$flame/flame.png" "$(cat "$flame/flame-focus.depth")" >"$dir/picture.log" \
        || fail "$dir/picture.log" "make work flame drew no flame graph worth the name"
elif grep -q '^make flame: SKIPPED: ' "$dir/flame.log"; then
    flamed="perf may not sample here, so no flame graph"   # make's own status is 2
else
    fail "$dir/flame.log" "make work flame failed"
fi

in_workspace work FROM=3 >"$dir/again.log" 2>&1 || fail "$dir/again.log" "make work FROM=3 failed"
grep -q "kept as $dir/work/hi.from2.c" "$dir/again.log" && cmp -s "$stage3" "$dir/work/hi.from2.c" \
    || fail "$dir/again.log" "make work FROM=3 did not keep the changed hi.c aside as hi.from2.c"
echo "workspace: unchanged copy fails ($broke); stage 3's change passes;"
echo "  ${flamed:-its flame graph is drawn}; a new copy keeps the changed one aside"
