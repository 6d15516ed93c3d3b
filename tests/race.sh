#!/usr/bin/env bash
# race.sh NAME RACE RACE-NOTSAN - make stageN race: like go test -race.
#
# Runs RACE (tests/race.c under ThreadSanitizer: 4 threads call the
# handler at once) and gives its verdict for NAME (stage1, or the
# workspace). Where it reports a data race, RACE-NOTSAN, the same test
# without ThreadSanitizer, shows the harm the race does, for up to 20 s.
# Exit status: 0 without a race, 1 with one, or when the test could not
# run, 3 when ThreadSanitizer cannot start here (said so, in a SKIPPED
# line): a runtime that died is never read as a race.
set -uo pipefail

name=${1:?usage: race.sh NAME RACE RACE-NOTSAN}
race=${2:?race binary}
race_notsan=${3:?race-notsan binary}

# ThreadSanitizer maps its shadow memory at fixed addresses, and gcc's
# runtime dies at start, at random, on kernels that randomise mmap more
# than it expects (vm.mmap_rnd_bits = 32, Ubuntu's default since 24.04).
# With address randomisation off (setarch -R) it always starts. A
# container's default seccomp profile forbids that; then it runs as it is.
without_aslr=()
setarch "$(uname -m)" -R true 2>/dev/null && without_aslr=(setarch "$(uname -m)" -R)

echo "=== $name under ThreadSanitizer"
echo "    (4 threads call the handler at once)"
output=$(mktemp)
trap 'rm -f "$output"' EXIT
# died_at_start: whether the last try died in ThreadSanitizer's start-up
# (its FATAL line), not in the test.
died_at_start() {
    grep -q 'FATAL: ThreadSanitizer' "$output"
}
# Where randomisation cannot be turned off, a start is a lottery: try again.
tries=1
[ ${#without_aslr[@]} != 0 ] || tries=5
for _ in $(seq $tries); do
    status=0
    "${without_aslr[@]}" "$race" >"$output" 2>&1 || status=$?
    # A silent crash by a signal is worth another try as well.
    died_at_start || { [ $status -ge 128 ] && [ ! -s "$output" ]; } || break
done
# ThreadSanitizer's report, each line cut at 100 columns (its frames name
# the sanitizer's own source files in full); the whole of it is in
# $REPORT when that is set.
[ -z "${REPORT:-}" ] || cp "$output" "$REPORT"
awk 'length($0) > 100 { $0 = substr($0, 1, 97) "..." } { print }' "$output"
if [ -n "${REPORT:-}" ] && awk 'length($0) > 100 { found = 1 } END { exit !found }' "$output"; then
    echo "(lines cut at 100 columns; the whole report: $REPORT)"
fi

if died_at_start; then
    if [ ${#without_aslr[@]} = 0 ]; then
        echo "SKIPPED: $name race: ThreadSanitizer cannot start on this kernel (its mmap randomisation is" \
             "higher than it allows) and address randomisation cannot be turned off here: in a container," \
             "start it with --security-opt seccomp=unconfined; on the host: sudo sysctl vm.mmap_rnd_bits=28"
        exit 3
    fi
    echo "FAIL: $name: ThreadSanitizer could not run here (exit status $status), so this says nothing about a race."
    exit 1
fi
case $status in
0)  echo "PASS: no data race in $name" ;;
66) echo "FAIL: $name: ThreadSanitizer reported a data race (exit status 66)"
    echo "--- the harm it does: the same test built without ThreadSanitizer, repeated for up to 20 s"
    "$race_notsan" --until-wrong 20 || true
    exit 1 ;;
1)  echo "FAIL: $name: visitor numbers were wrong (exit status 1)"; exit 1 ;;
*)  echo "FAIL: $name: the race test could not run (exit status $status)"; exit 1 ;;
esac
