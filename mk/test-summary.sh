#!/usr/bin/env bash
# test-summary.sh OUT "UNITS" "EXTRAS" - make test's closing lines, as go test's.
#
# UNITS are the suites that ran (stage1 ... stage6, and the challenge's),
# each with its measurement: a stage's lesson, or the challenge's problems;
# EXTRAS the smoke runs. Counts the suites' checks from OUT/UNIT/checks.txt
# (Check's "100%: Checks: N, Failures: F, Errors: E"), one pass per lesson
# and per smoke run, and what could not run here: a smoke run that left
# OUT/skipped/EXTRA.txt, or a suite whose race tests left
# OUT/skipped/UNIT-race.txt, or a challenge measurement that left
# OUT/skipped/UNIT-problems.txt (each says why, in one line). Prints
#   make test: 918 checks in 8 suites, 8 measurements (lessons, problems), 17 smoke runs
#   test: 943 passed (918 + 8 + 17), 0 failed[, N skipped]
# and exits 1 when a check failed: the first line's numbers add up to
# the second's.
set -euo pipefail

out=${1:?usage: test-summary.sh OUT "UNITS" "EXTRAS"}
read -ra units <<<"${2:-}"
read -ra extras <<<"${3:-}"

# plural N WORD: "1 suite", "6 suites".
plural() { if [ "$1" = 1 ]; then echo "$1 $2"; else echo "$1 ${2}s"; fi; }

checks=0 failed=0
for unit in "${units[@]}"; do
    counted=$(awk '/Checks:/ { gsub(/[^0-9 ]/, " "); print $2, $3 + $4 }' "$out/$unit/checks.txt" 2>/dev/null || true)
    # A suite that left no count did not pass.
    set -- ${counted:-0 1}
    checks=$((checks + $1)) failed=$((failed + $2))
done
skipped_extras=() skipped_units=()
for extra in "${extras[@]}"; do
    [ ! -e "$out/skipped/$extra.txt" ] || skipped_extras+=("$out/skipped/$extra.txt")
done
for unit in "${units[@]}"; do
    for kind in race problems; do
        [ ! -e "$out/skipped/$unit-$kind.txt" ] || skipped_units+=("$out/skipped/$unit-$kind.txt")
    done
done
skipped=$(( ${#skipped_extras[@]} + ${#skipped_units[@]} ))

echo "make test: $(plural "$checks" check) in $(plural ${#units[@]} suite)," \
     "$(plural ${#units[@]} measurement) (lessons, problems), $(plural ${#extras[@]} "smoke run")"
if [ $skipped != 0 ]; then
    cat "${skipped_extras[@]}" "${skipped_units[@]}" | sed 's/^/  skipped: /'
fi
# A skipped smoke run did not pass; skipped race tests are not among the checks.
passed=$(( checks - failed + ${#units[@]} + ${#extras[@]} - ${#skipped_extras[@]} ))
echo "test: $passed passed ($((checks - failed)) + ${#units[@]} + $(( ${#extras[@]} - ${#skipped_extras[@]} ))),"\
     "$failed failed$([ $skipped = 0 ] || echo ", $skipped skipped")"
[ $failed = 0 ]
