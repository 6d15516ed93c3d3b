#!/usr/bin/env bash
# pgo.sh OUTDIR LABEL SOURCE... - gcc's profile-guided optimization of the
# benchmarks, against the usual build (make stageN pgo).
#
#   1. compile every file with -fprofile-generate and train it: BenchmarkHi
#      on a mix of queries, mostly short valid colors (the same path as
#      color=red, what a server mostly sees) and a few invalid ones, none of
#      them color=red itself, then every benchmark, each for a fixed number
#      of calls (a count, not a time: the same profile, so the same build,
#      from every run);
#   2. compile every file again with -fprofile-use, to the same object
#      paths, which is how gcc finds each file's profile;
#   3. count the new build's instructions and time it against the old one,
#      on color=red; then count both builds on two shapes of query the
#      training never saw, a 64-byte color and an invalid one: the gain
#      holds for the input the profile was trained on, and may not beyond.
#
# The environment gives the compiler and its flags as the Makefile has
# them: CC, CFLAGS, LIBS (each a list of words, none quoted); OLD_BENCH and OLD_INSTR are
# the usual build's benchmark binary and instruction count directory, and
# OLD_LABEL its name (its optimization flags, -O2).
set -euo pipefail

outdir=${1:?usage: pgo.sh OUTDIR LABEL SOURCE...}
label=${2:?label}
shift 2
sources=("$@")
read -ra cflags <<<"${CFLAGS:?}"
# tests/unit.c's constants: the benchmarks read only the name, what their
# lines call the package.
unit_flags=(-DSTAGE=0 -DSTAGE_RACE_FREE=0 -DSTAGE_RACE_REPORTED=0 "-DUNIT_NAME=\"$label\"")
cflags+=("${unit_flags[@]}")
read -ra libs <<<"${LIBS:?}"
rm -rf "$outdir" && mkdir -p "$outdir/obj" "$outdir/data" "$outdir/instr"
data=$(cd "$outdir/data" && pwd)

# object SOURCE: where SOURCE's object file goes.
object() { echo "$outdir/obj/$(basename "$1" .c).o"; }

# compile FLAGS SOURCE...: each source to its object, with FLAGS added.
compile() {
    local flags=$1 source
    shift
    for source in "$@"; do
        # shellcheck disable=SC2086  # FLAGS is a list of words
        $CC "${cflags[@]}" $flags -fprofile-dir="$data" -c "$source" -o "$(object "$source")"
    done
}

objects=()
for source in "${sources[@]}"; do objects+=("$(object "$source")"); done

echo "pgo: compiling with -fprofile-generate"
compile -fprofile-generate "${sources[@]}" bench/alloc_count_none.c
$CC -fprofile-generate -o "$outdir/bench-train" "${objects[@]}" "$(object bench/alloc_count_none.c)" "${libs[@]}"

# Training queries: short valid colors, mostly, and a few invalid ones.
training_queries=("color=blue" "color=Dark_Olive_Green_3" "size=10&color=teal&ref=news"
                  "color=%3Cscript%3E" "" "color=")
# Judged beside color=red, never trained on: another shape of input.
held_out_queries=("color=$(printf 'a%.0s' $(seq 64))" "color=red%0A")
echo "pgo: training on ${#training_queries[@]} queries, mostly short colors (not color=red), 20000 calls"
echo "     each, then every benchmark (counts, not times: the same profile on every run)"
: >"$outdir/training.txt"
for query in "${training_queries[@]}"; do
    BENCH='^BenchmarkHi$' BENCH_QUERY=$query BENCHTIME=20000x COUNT=1 "$outdir/bench-train" \
        >>"$outdir/training.txt" || { cat "$outdir/training.txt"; exit 1; }
done
BENCH=. BENCHTIME=20000x COUNT=1 BENCH_QUERY="color=green" "$outdir/bench-train" >>"$outdir/training.txt" \
    || { cat "$outdir/training.txt"; exit 1; }

echo "pgo: compiling again with -fprofile-use"
compile "-fprofile-use -fprofile-partial-training -Wno-missing-profile" \
    "${sources[@]}" bench/alloc_count_none.c bench/alloc_count.c
$CC -o "$outdir/bench" "${objects[@]}" "$(object bench/alloc_count.c)" "${libs[@]}"
$CC -o "$outdir/bench-uncounted" "${objects[@]}" "$(object bench/alloc_count_none.c)" "${libs[@]}"
bench/instr.py run "$outdir/bench-uncounted" "$outdir/instr" >"$outdir/instr/instr.txt" \
    || { cat "$outdir/instr/instr.txt"; exit 1; }

old=${OLD_LABEL:?} new="$OLD_LABEL with PGO"
echo "=== $label: $old (old) against $new (new)"
bench/instr.py totals "$old=${OLD_INSTR:?}" "$new=$outdir/instr" | tee "$outdir/report.txt"
echo "on queries the training never saw:" | tee -a "$outdir/report.txt"
for i in "${!held_out_queries[@]}"; do
    for build in old new; do
        binary=${OLD_UNCOUNTED:?}
        [ $build = old ] || binary=$outdir/bench-uncounted
        BENCH_QUERY=${held_out_queries[$i]} bench/instr.py run "$binary" "$outdir/held-out-$i-$build" \
            >"$outdir/held-out-$i-$build.txt" || { cat "$outdir/held-out-$i-$build.txt"; exit 1; }
    done
    echo "  ${held_out_queries[$i]:0:24}$([ ${#held_out_queries[$i]} -le 24 ] || echo ...):" \
         "$(bench/instr.py totals "$old=$outdir/held-out-$i-old" "$new=$outdir/held-out-$i-new")" \
        | tee -a "$outdir/report.txt"
done
bench/benchtool.py benchcmp "$outdir/benchcmp" "$old=${OLD_BENCH:?}" "$new=$outdir/bench"
