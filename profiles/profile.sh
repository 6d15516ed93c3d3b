#!/usr/bin/env bash
# profile.sh KIND BINARY OUTDIR - record one profile and draw it.
#
#   cpu     BINARY is a benchmark linked with gperftools' libprofiler
#   mem     BINARY is a benchmark linked with tcmalloc (heap profiler)
#   block   BINARY is a benchmark; CONTENTION_LIB is profiles' preload library
#   server  BINARY is a server linked with libprofiler, driven by wrk
#
# Each kind writes text reports (top, top --cum, ...) and a call-graph PNG
# into OUTDIR and prints their paths. A profile without samples is an
# error, said plainly, except where "nothing to see" is the finding
# (a contention profile of lock-free code).
set -euo pipefail

kind=${1:?usage: profile.sh cpu|mem|block|server BINARY OUTDIR}
binary=${2:?binary}
outdir=${3:?outdir}
benchtime=${BENCHTIME:-2s}
here=$(cd "$(dirname "$0")" && pwd)

need() {
    command -v "$1" >/dev/null || { echo "profile: $1 is not installed; run: make deps ($2)" >&2; exit 1; }
}
# Exit status 3, as perf.sh's: this machine cannot make the profile, and
# make test counts the run as skipped. (Ubuntu 26.04 has no
# google-perftools package: gperftools 2.17 dropped the perl pprof.)
if ! command -v google-pprof >/dev/null; then
    echo "profile: SKIPPED: google-pprof is not installed: this system has no google-perftools" >&2
    echo "  (make deps installs it where the package lists have it); make stageN flame shows" >&2
    echo "  the same CPU profile through perf" >&2
    exit 3
fi
need dot graphviz
mkdir -p "$outdir"
# Never an earlier run's report beside this run's picture: every file of
# this kind goes first (cpu*, mem*, block*, server*).
rm -f "$outdir/$kind"*
written=()
after_top=()    # what a kind prints after its top lines

# pprof ARGS...: google-pprof, whose chatter on stderr is kept in
# pprof-stderr.txt and shown only if it fails.
pprof() {
    google-pprof "$@" 2>"$outdir/pprof-stderr.txt" || {
        echo "profile: google-pprof $* failed:" >&2
        cat "$outdir/pprof-stderr.txt" >&2
        exit 1
    }
}

# pprof_report NAME PROFILE FLAGS... : NAME-top.txt, NAME-top-cum.txt, NAME.png
# (LEGEND, when set, is one more line in the picture's legend).
pprof_report() {
    local name=$1 profile=$2
    shift 2
    pprof --text --nodecount=30 "$@" "$binary" "$profile" >"$outdir/$name-top.txt"
    pprof --text --cum --nodecount=30 "$@" "$binary" "$profile" >"$outdir/$name-top-cum.txt"
    # With no samples pprof prints no report at all, and --dot fails
    # without a word: say it here, before drawing.
    local total
    total=$(samples "$outdir/$name-top.txt")
    if [ -z "$total" ] || [ "$total" = 0 ]; then
        echo "profile: the $name profile has no samples: the run was too short to be seen" \
             "(give it longer: BENCHTIME=2s, or DURATION=10s for the server)" >&2
        exit 1
    fi
    pprof --dot --nodecount=40 "$@" "$binary" "$profile" | legend | dot -Tpng -o "$outdir/$name.png"
    # The slides' version: pruned and relettered to be read on a projector
    # (profiles/slidegraph.py says how).
    pprof --dot --nodecount=26 "$@" "$binary" "$profile" | legend | "$here/slidegraph.py" \
        | dot -Tpng -Gdpi=80 -o "$outdir/$name-slide.png"
    written+=("$outdir/$name-top.txt" "$outdir/$name-top-cum.txt" "$outdir/$name.png"
              "$outdir/$name-slide.png")
}

# legend: pprof's DOT, with $LEGEND (if any) added to its legend's lines.
legend() {
    awk -v extra="${LEGEND:-}" 'extra != "" && /^Legend / { sub(/"\];$/, extra "\\l\"];") } { print }'
}

# The CPU profiler's rate: 1000 samples a second asked for, unless set.
frequency=${CPUPROFILE_FREQUENCY:-1000}

# timed_run VAR=VALUE... COMMAND...: runs COMMAND with those variables, its
# output shown (on the script's own outputs, 3 and 4, even inside $(...));
# prints the CPU seconds it used, user and system.
exec 3>&1 4>&2
timed_run() {
    local times
    times=$( { TIMEFORMAT='%3U %3S'; time env "$@" >&3 2>&4; } 2>&1 ) || return 1
    awk '{ print $1 + $2 }' <<<"$times"
}

# sample_rate TOP-FILE CPU-SECONDS: a line saying how many samples a
# second the profiler took, against the frequency asked for. It samples
# on the kernel's CPU-time timer, which advances by whole ticks: with
# CONFIG_HZ=250 it cannot take more than 250 a second, whatever is asked.
sample_rate() {
    awk -v cpu="$2" -v asked="$frequency" '/^Total: [0-9]+ samples/ && cpu > 0 {
        printf "(%d samples in %.2f s of CPU: %.0f a second of the %d asked for", $2, cpu, $2 / cpu, asked
        if ($2 / cpu < 0.8 * asked) printf ": the kernel'"'"'s tick caps it"
        printf ")\n"; exit }' "$1"
}

# samples FILE : the N of "Total: N samples" (or MB) in a pprof text report.
samples() {
    sed -n 's/^Total: \([0-9.]*\).*/\1/p' "$1" | head -1
}

# A contention profile of code that never waited has nothing to draw:
# say so in the text report and in a one-node picture.
empty_picture() {
    local name=$1 message=$2
    echo "$message" >"$outdir/$name-top.txt"
    cp "$outdir/$name-top.txt" "$outdir/$name-top-cum.txt"
    printf 'digraph empty { node [shape=box, fontsize=20]; "%s"; }\n' "$message" \
        | dot -Tpng -o "$outdir/$name.png"
    cp "$outdir/$name.png" "$outdir/$name-slide.png"
    written+=("$outdir/$name-top.txt" "$outdir/$name-top-cum.txt" "$outdir/$name.png"
              "$outdir/$name-slide.png")
}

case "$kind" in
cpu)
    cpu_seconds=$(timed_run CPUPROFILE="$outdir/cpu.prof" CPUPROFILE_FREQUENCY="$frequency" \
        BENCH=${BENCH:-'^BenchmarkHi$'} BENCHTIME=$benchtime COUNT=1 "$binary")
    [ -s "$outdir/cpu.prof" ] || { echo "profile: no CPU profile was written (is libprofiler linked?)" >&2; exit 1; }
    pprof_report cpu "$outdir/cpu.prof"
    after_top=("$(sample_rate "$outdir/cpu-top.txt" "$cpu_seconds")")
    pprof --list=hi_handle "$binary" "$outdir/cpu.prof" >"$outdir/cpu-list-hi_handle.txt"
    # The hottest function of our own code, by flat samples: disassemble it.
    # Names starting with "_" (_init, _start) are the C runtime's, not ours:
    # samples in PLT stubs get charged to _init. Neither is the harness
    # or its test double (bench/, tests/: nm -l says where each is defined).
    hot=$(awk 'NR == FNR { if ($2 ~ /^[Tt]$/ && $3 !~ /^_/ && $4 !~ /\/(bench|tests)\//) ours[$3] = 1; next }
               $6 in ours { print $6; exit }' <(nm -l "$binary") "$outdir/cpu-top.txt")
    hot=${hot:-hi_handle}
    pprof --disasm="$hot" "$binary" "$outdir/cpu.prof" >"$outdir/cpu-disasm.txt"
    written+=("$outdir/cpu-list-hi_handle.txt" "$outdir/cpu-disasm.txt ($hot)")
    ;;
mem)
    rm -f "$outdir"/heap.*.heap
    # tcmalloc dumps a profile whenever the heap grows by a set amount;
    # turned off here, the only dumps are the two the harness asks for at
    # the start and the end of the measured run (bench.c), and one at exit.
    HEAPPROFILE="$outdir/heap" HEAP_PROFILE_ALLOCATION_INTERVAL=1000000000000000 \
        HEAP_PROFILE_INUSE_INTERVAL=1000000000000000 BENCH=${BENCH:-'^BenchmarkHi$'} \
        BENCHTIME=${BENCHTIME:-20000x} COUNT=1 "$binary" 2>"$outdir/mem-dumps.txt" | tee "$outdir/mem-bench.txt" \
        || { cat "$outdir/mem-dumps.txt" >&2; echo "profile: $binary failed" >&2; exit 1; }
    start=$(sed -n 's/^Dumping heap profile to \(.*\) (measured run starts)$/\1/p' "$outdir/mem-dumps.txt")
    end=$(sed -n 's/^Dumping heap profile to \(.*\) (measured run ends)$/\1/p' "$outdir/mem-dumps.txt")
    if [ -z "$start" ] || [ -z "$end" ]; then
        cat "$outdir/mem-dumps.txt" >&2
        echo "profile: no heap profile of the measured run (is tcmalloc linked? is BENCHTIME a count, like 5000x?)" >&2
        exit 1
    fi
    # --base subtracts what was allocated before the measured run started
    # (start-up, the harness's own set-up, the warm-up call), so what is
    # left is what BenchmarkHi's calls allocated, and nothing else.
    cp "$start" "$outdir/mem-base.prof"
    cp "$end" "$outdir/mem.prof"
    calls=$(awk '/^Benchmark/ { print $2; exit }' "$outdir/mem-bench.txt")
    handler_bytes=$(pprof --text --alloc_space --show_bytes --base="$outdir/mem-base.prof" \
        "$binary" "$outdir/mem.prof" | sed -n 's/^Total: \([0-9]*\) B$/\1/p')
    if [ -z "$handler_bytes" ] || [ "$handler_bytes" = 0 ]; then
        empty_picture mem "nothing allocated per request: ${calls:-0} calls of BenchmarkHi, 0 bytes"
    else
        # pprof counts in MB; a run that allocated less than 1 MB would
        # read 0.0 on every line, so count those in bytes.
        units=()
        [ "$handler_bytes" -ge 1048576 ] || units=(--show_bytes)
        pprof_report mem "$outdir/mem.prof" --alloc_space "${units[@]}" --base="$outdir/mem-base.prof"
    fi
    # The total, printed once after the top lines, and kept in mem-top.txt.
    after_top=("$(awk -v bytes="${handler_bytes:-0}" -v calls="${calls:-0}" 'BEGIN {
        printf "hi_handle allocated %.0f bytes in all over %.0f calls", bytes, calls
        if (calls > 0) printf ": %.1f B per call", bytes / calls }')")
    keep_after_top=1
    ;;
block)
    lib=${CONTENTION_LIB:?set CONTENTION_LIB to the preload library}
    CONTENTION_PROFILE="$outdir/block.prof" LD_PRELOAD="$lib" \
        BENCH=${BENCH:-'^BenchmarkHiParallel$'} BENCHTIME=${BENCHTIME:-1s} COUNT=1 "$binary"
    [ -s "$outdir/block.prof" ] || { echo "profile: no contention profile was written" >&2; exit 1; }
    if ! grep -q ' @ ' "$outdir/block.prof"; then
        empty_picture block "no mutex contention recorded: no thread ever waited for a lock"
    else
        # Which mutexes: by their variables' names (profiles/locknames.py).
        "$here/locknames.py" "$outdir/block.prof.locks" "$binary" >"$outdir/block-locks.txt"
        written+=("$outdir/block-locks.txt")
        # The graph weighs stacks by time spent waiting, like Go's
        # blockprofile; the counts of waits go into a text report beside it.
        # Waits of a few milliseconds in all would read 0.000 on every box
        # (pprof counts seconds): those are drawn by how often each stack
        # waited instead, and the legend says so.
        waited_ms=$(awk '{ ns += $3 } END { printf "%.1f", ns / 1e6 }' "$outdir/block.prof.locks")
        by=()
        if [ "${waited_ms%.*}" -lt 10 ]; then
            by=(--contentions)
            echo "(the waits add up to ${waited_ms} ms, too little for pprof's seconds:"
            echo " the graph counts contended lock calls instead)"
        fi
        LEGEND="Waiting for: $(sed -E 's/^ *//; s/: [0-9,]+ contended calls.*//' "$outdir/block-locks.txt" \
                               | paste -sd ';' | sed 's/;/; /g')" \
            pprof_report block "$outdir/block.prof" "${by[@]}"
        pprof --text --contentions "$binary" "$outdir/block.prof" >"$outdir/block-contentions.txt"
        written+=("$outdir/block-contentions.txt")
        after_top=("the mutexes waited for:" "$(cat "$outdir/block-locks.txt")")
    fi
    ;;
server)
    need wrk wrk
    CPUPROFILE="$outdir/server.prof" CPUPROFILE_FREQUENCY=$frequency \
        DURATION=${DURATION:-5s} "$here/../bench/load.sh" "$binary" | tail -1
    [ -s "$outdir/server.prof" ] || { echo "profile: the server wrote no profile (did it stop cleanly?)" >&2; exit 1; }
    pprof_report server "$outdir/server.prof"
    ;;
*)
    echo "profile: unknown kind $kind (cpu, mem, block or server)" >&2
    exit 2
    ;;
esac

total=$(sed -n 's/^Total: //p' "$outdir/$kind-top.txt" 2>/dev/null | head -1 || true)
echo "--- $kind profile of $binary${total:+ (total: $total)}"
head -n 16 "$outdir/$kind-top.txt"
[ ${#after_top[@]} = 0 ] || printf '%s\n' "${after_top[@]}"
[ -z "${keep_after_top:-}" ] || printf '%s\n' "${after_top[@]}" >>"$outdir/$kind-top.txt"
echo "wrote:"
printf '  %s\n' "${written[@]}"
