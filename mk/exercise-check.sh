#!/usr/bin/env bash
# exercise-check.sh OUT "UNITS" "BINARIES" - make test's proof that every
# exercise passes as its guide says (the units of mk/exercises.mk):
#
#   exerciseN-unchanged  stage N's hi.c must fail exercise N's check, with
#                        a message naming what broke: the copy as made
#                        never passes by accident;
#   exerciseN-NAME       a change of stage N must pass it: the suite's
#                        handler, live and race cases, and the lesson.
#
# The reference change of exercise N is stage N+1's hi.c, which make
# stageN+1 test checks the same way; the last stage's has a unit of its
# own (exerciseL-reference). BINARIES are what each unit's test needs,
# compiled first on every CPU at once. MAKE is the make to run.
set -euo pipefail

out=${1:?usage: exercise-check.sh OUT "UNITS" "BINARIES"}
read -ra units <<<"${2:?units}"
read -ra binaries <<<"${3:?binaries}"
make=${MAKE:-make}
logs=$out/exercise-check
rm -rf "$logs" && mkdir -p "$logs"

# in_make ARGS...: make ARGS, quietly, its directory changes unsaid.
in_make() { "$make" --no-print-directory "$@"; }

# Every unit's binaries, and every stage's instruction count, at once.
targets=()
stages=()
for unit in "${units[@]}"; do
    targets+=("${binaries[@]/#/$out/$unit/}")
    from=${unit#exercise} from=${from%%-*}
    [[ " ${stages[*]} " == *" $from "* ]] || stages+=("$from")
done
for from in "${stages[@]}"; do
    targets+=("$out/stage$from/instr/instr.json")
done
in_make -j"$(nproc)" BUILD_IN_PARALLEL=1 QUIET_BUILD=1 "${targets[@]}" >"$logs/build.log" 2>&1 \
    || { cat "$logs/build.log"; exit 1; }

# reason LOG: what a failed check says broke, in a few words: the claim
# a lesson wanted (its "  wants ...;" line), the allocations a benchmark
# made, or the first words of a suite's failure message (Check's
# "file:line:F:case:test:0: message").
reason() {
    local line
    line=$(grep -m1 -E '^(  wants |--- FAIL: |[^ :]+:[0-9]+:[EF]:)' "$1" || true)
    case $line in
    "  wants "*) line=${line#  wants } && echo "${line%;}" ;;
    "--- FAIL: "*) line=${line#--- FAIL: *: } && echo "${line%%, want*}, want 0" ;;
    ?*) line=$(sed -E 's/^[^:]+:[0-9]+:[EF]:[^:]*:[^:]*:[0-9]+: //' <<<"$line") && echo "${line%% (*}" ;;
    esac
}

failed=0 unchanged=0 passed=0
for unit in "${units[@]}"; do
    from=${unit#exercise} from=${from%%-*} kind=${unit#exercise*-}
    log=$logs/$unit.log
    if [ "$kind" = unchanged ]; then
        # What exercise N adds is in its lesson, or where it adds
        # race-free (stage 2 to 3), in the race case: either must fail,
        # and say why.
        status=0
        in_make "$unit-lesson" >"$log" 2>&1 || status=1
        if stages/stages.py adds "$from" | grep -qx race-free; then
            CK_RUN_CASE=race in_make "$unit-suite" >>"$log" 2>&1 || status=1
        fi
        why=$(reason "$log")
        if [ $status = 0 ] || [ -z "$why" ]; then
            cat "$log"
            echo "FAIL: exercise $from passes on stage $from's hi.c as copied, or fails without saying why"
            failed=$((failed + 1))
        else
            echo "exercise $from, as copied: fails, as it must: $why"
            unchanged=$((unchanged + 1))
        fi
        continue
    fi
    if CK_INCLUDE_TAGS="handler live race" in_make "$unit-test" >"$log" 2>&1; then
        ratio=$(sed -n 's/.* (\([0-9.]*x\))$/\1/p' "$log" | tail -1)
        # Not named here: make test's output comes before the exercises.
        label="another answer"
        [ "$kind" != reference ] || label="the reference answer"
        echo "exercise $from, $label: passes (${ratio:-?} stage $from's instructions per request)"
        passed=$((passed + 1))
    else
        cat "$log"
        echo "FAIL: exercise $from: $unit, a correct change, fails the exercise's check: $(reason "$log")"
        failed=$((failed + 1))
    fi
done
echo "exercises: $unchanged fail as copied; $passed changes pass (the other references:" \
     "each next stage's own test)"
[ $failed = 0 ]
