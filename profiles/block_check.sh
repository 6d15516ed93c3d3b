#!/usr/bin/env bash
# block_check.sh BINARY LIBRARY OUTDIR - check the contention profiler
# against the kernel's own count.
#
# A glibc mutex that a thread cannot take puts the thread to sleep with a
# futex(FUTEX_WAIT_PRIVATE) system call; perf counts those calls without
# touching the program. Every such sleep starts with a failed try, which
# the profiler (profiles/contention.c) records, so its count of contended
# locks must not be below the kernel's count of sleeps. (It may be above:
# a waiter can get the lock without sleeping.) Prints both counts and the
# benchmark's line, and exits 1 when the profiler missed waits or saw
# none at all.
set -euo pipefail

binary=${1:?usage: block_check.sh BINARY LIBRARY OUTDIR}
library=${2:?library}
outdir=${3:?outdir}
here=$(dirname "$0")

# shellcheck source=perf_allowed.sh
. "$here/perf_allowed.sh"
perf_allowed "the contention check" || exit $?
mkdir -p "$outdir"

# FUTEX_WAIT_PRIVATE is op 128: mutexes. The benchmark harness's own
# semaphores wait with FUTEX_WAIT_BITSET (op 137), and are not counted.
perf stat -x, -e syscalls:sys_enter_futex --filter 'op == 128' -o "$outdir/futex.csv" -- \
    env CONTENTION_PROFILE="$outdir/block.prof" LD_PRELOAD="$library" \
    BENCH='^BenchmarkHiParallel$' BENCHTIME="${BENCHTIME:-1s}" COUNT=1 "$binary" \
    >"$outdir/bench.txt" 2>"$outdir/profiler.txt"
profiled=$(sed -n 's/^contention: \([0-9]*\) contended lock call.*/\1/p' "$outdir/profiler.txt")
sleeps=$(awk -F, '/sys_enter_futex/ { print $1 }' "$outdir/futex.csv")
grep '^Benchmark\|^--- BENCH' "$outdir/bench.txt" || true
echo "profiler: ${profiled:-no} contended lock calls; kernel: ${sleeps:-no} sleeps on a mutex" \
     "(futex FUTEX_WAIT_PRIVATE, counted by perf)"
if [ -z "$profiled" ] || [ -z "$sleeps" ]; then
    cat "$outdir/profiler.txt" "$outdir/futex.csv" >&2
    echo "FAIL: a count is missing" >&2
    exit 1
fi
if [ "$profiled" -lt "$sleeps" ]; then
    echo "FAIL: the profiler missed waits: it saw $profiled, the kernel put threads to sleep $sleeps times" >&2
    exit 1
fi
if [ "$profiled" = 0 ]; then
    echo "FAIL: no contention recorded at all" >&2
    exit 1
fi
echo "PASS: the profiler saw every wait the kernel counted"
