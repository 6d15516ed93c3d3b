#!/usr/bin/env bash
# block_check.sh BINARY LIBRARY OUTDIR - check the contention profiler
# against the kernel's own count.
#
# A glibc mutex that a thread cannot take puts the thread to sleep with a
# futex(FUTEX_WAIT_PRIVATE) system call, which perf sees without touching
# the program. Woken, the thread may lose the lock to another one and sleep
# again, so one lock call can make several waits; but a lock call that
# slept always ends, at its unlock, with a futex(FUTEX_WAKE_PRIVATE) from
# the same thread (glibc marks a lock that had waiters). So the number of
# lock calls that slept is the number of runs of waits per thread, each
# run ended by that thread's next wake. Every such call began with a
# failed try, which the profiler (profiles/contention.c) records: its count
# of contended lock calls must not be below that number. (It may be above:
# a waiter can get the lock without sleeping. The other side is checked
# exactly in make test's profile smoke run, on a program that makes a
# known number of contended lock calls.) Prints both counts and the
# benchmark's line, and exits 1 when the profiler missed calls that slept,
# or saw no contention at all.
set -euo pipefail

binary=${1:?usage: block_check.sh BINARY LIBRARY OUTDIR}
library=${2:?library}
outdir=${3:?outdir}
here=$(dirname "$0")

# shellcheck source=perf_allowed.sh
. "$here/perf_allowed.sh"
perf_allowed "the contention check" trace || exit $?
mkdir -p "$outdir"

# FUTEX_WAIT_PRIVATE is op 128 and FUTEX_WAKE_PRIVATE op 129: mutexes.
# The benchmark harness's own semaphores wait with FUTEX_WAIT_BITSET
# (op 137), and are not recorded.
rm -f "$outdir/futex.data"
perf record -q -e syscalls:sys_enter_futex --filter 'op == 128 || op == 129' -o "$outdir/futex.data" -- \
    env CONTENTION_PROFILE="$outdir/block.prof" LD_PRELOAD="$library" \
    BENCH='^BenchmarkHiParallel$' BENCHTIME="${BENCHTIME:-1s}" COUNT=1 "$binary" \
    >"$outdir/bench.txt" 2>"$outdir/profiler.txt" \
    || { cat "$outdir/profiler.txt" "$outdir/bench.txt" >&2; echo "block-check: perf record or the benchmark failed" >&2; exit 1; }
profiled=$(sed -n 's/^contention: \([0-9]*\) contended lock call.*/\1/p' "$outdir/profiler.txt")
read -r waits slept < <(perf script -i "$outdir/futex.data" -F tid,trace 2>/dev/null | awk '
    { for (i = 2; i <= NF; i++) if ($i == "op:") op = $(i + 1) }
    op ~ /0x00000080/ { waits++; if (last[$1] != "wait") slept++; last[$1] = "wait" }
    op ~ /0x00000081/ { last[$1] = "wake" }
    END { print waits + 0, slept + 0 }')
rm -f "$outdir/futex.data"
grep '^Benchmark\|^--- BENCH' "$outdir/bench.txt" || true
echo "profiler: ${profiled:-no} contended lock calls"
echo "kernel:   $slept lock calls slept, in $waits futex waits (a woken waiter can lose the lock again)"
if [ -z "$profiled" ]; then
    cat "$outdir/profiler.txt" >&2
    echo "FAIL: the profiler wrote no count" >&2
    exit 1
fi
if [ "$profiled" -lt "$slept" ]; then
    echo "FAIL: the profiler missed waits: it saw $profiled contended lock calls, $slept slept" >&2
    exit 1
fi
if [ "$profiled" = 0 ]; then
    echo "FAIL: no contention recorded at all" >&2
    exit 1
fi
echo "PASS: the profiler saw every lock call the kernel put to sleep"
