#!/usr/bin/env bash
# web.sh PPROF HOST PORT UNIT-DIR [BASE-UNIT-DIR] - pprof's web viewer on
# one unit's profiles, or on the difference of two.
#
# Records UNIT-DIR's CPU profile (bench-cpu, gperftools) and heap profile
# (bench-heap, tcmalloc), makes them one profile per 1,000,000 calls
# (profiles/webprofile.py) in UNIT-DIR/web/profile.pb.gz, and serves it
# with PPROF (google/pprof, built by make from Debian's source package) on
# http://HOST:PORT/: flame graph, top, graph, source and disassembly;
# the SAMPLE menu switches between CPU time and allocations. With
# BASE-UNIT-DIR, both are recorded and the viewer shows what changed
# from it (pprof -diff_base), red where the cost grew, green where it shrank.
#
# Environment: WEB_SECONDS (2), how long the CPU profile runs;
# WEB_HEAP_CALLS (5000), the calls the heap profile records.
# Runs until interrupted (Ctrl-C); WEB_RECORD_ONLY=1 stops after writing
# the profiles (the smoke run serves them itself). Refuses, in one line,
# a busy port, and a unit that another make web records or serves.
set -euo pipefail

pprof=${1:?usage: web.sh PPROF HOST PORT UNIT-DIR [BASE-UNIT-DIR]}
host=${2:?host} port=${3:?port} unit=${4:?unit directory} base=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
seconds=${WEB_SECONDS:-2}
heap_calls=${WEB_HEAP_CALLS:-5000}
frequency=1000

# benchmark BINARY BENCHTIME [VAR=VALUE...]: runs BenchmarkHi once; prints
# the number of calls its line reports, or fails saying why.
benchmark() {
    local binary=$1 benchtime=$2 log=$3
    shift 3
    env "$@" BENCH='^BenchmarkHi$' BENCHTIME="$benchtime" COUNT=1 "$binary" >"$log" 2>&1 \
        || { cat "$log" >&2; echo "web: $binary failed" >&2; return 1; }
    awk '/^BenchmarkHi/ { print $2; found = 1; exit } END { if (!found) exit 1 }' "$log" \
        || { cat "$log" >&2; echo "web: $binary printed no BenchmarkHi line" >&2; return 1; }
}

# record UNIT-DIR: writes UNIT-DIR/web/profile.pb.gz; prints what it did.
record() {
    local dir=$1 web=$1/web calls cpu_seconds heap_start heap_end
    [ -x "$dir/bench-cpu" ] && [ -x "$dir/bench-heap" ] \
        || { echo "web: no profiling benchmarks in $dir (make builds them)" >&2; return 1; }
    rm -rf "$web" && mkdir -p "$web"
    # CPU: a fixed number of calls, sized to fill WEB_SECONDS, so that the
    # profile's calls are known: all of them (and the warm-up call) are
    # in it, where a timed run's sizing runs would be too.
    calls=$(benchmark "$dir/bench-cpu" 0.25s "$web/sizing.txt")
    calls=$(awk -v n="$calls" -v s="$seconds" 'BEGIN { printf "%d", n * s / 0.25 + 1 }')
    cpu_seconds=$( { TIMEFORMAT='%3U %3S'; time benchmark "$dir/bench-cpu" "${calls}x" \
        "$web/cpu-bench.txt" CPUPROFILE="$web/cpu.prof" CPUPROFILE_FREQUENCY=$frequency >/dev/null; } 2>&1 ) \
        || { echo "$cpu_seconds" >&2; return 1; }
    cpu_seconds=$(awk '{ print $1 + $2 }' <<<"$cpu_seconds")
    [ -s "$web/cpu.prof" ] || { echo "web: no CPU profile was written (is libprofiler linked?)" >&2; return 1; }
    "$pprof" -proto "$(cd "$dir" && pwd)/bench-cpu" "$web/cpu.prof" >"$web/cpu-raw.pb.gz" 2>"$web/pprof.txt" \
        || { cat "$web/pprof.txt" >&2; return 1; }
    "$here/webprofile.py" cpu "$dir/bench-cpu" "$web/cpu-raw.pb.gz" $((calls + 1)) "$cpu_seconds" "$web/cpu.pb.gz" >"$web/cpu.txt"
    # Heap: tcmalloc dumps at the measured run's start and end (bench.c);
    # the difference is what its calls allocated (as profile.sh mem).
    benchmark "$dir/bench-heap" "${heap_calls}x" "$web/heap-bench.txt" HEAPPROFILE="$web/heap" \
        HEAP_PROFILE_ALLOCATION_INTERVAL=1000000000000000 HEAP_PROFILE_INUSE_INTERVAL=1000000000000000 \
        >/dev/null
    heap_start=$(sed -n 's/^Dumping heap profile to \(.*\) (measured run starts)$/\1/p' "$web/heap-bench.txt")
    heap_end=$(sed -n 's/^Dumping heap profile to \(.*\) (measured run ends)$/\1/p' "$web/heap-bench.txt")
    [ -n "$heap_start" ] && [ -n "$heap_end" ] \
        || { cat "$web/heap-bench.txt" >&2; echo "web: no heap profile of the measured run" >&2; return 1; }
    "$pprof" -proto -base "$heap_start" "$(cd "$dir" && pwd)/bench-heap" "$heap_end" \
        >"$web/heap-raw.pb.gz" 2>"$web/pprof.txt" || { cat "$web/pprof.txt" >&2; return 1; }
    "$here/webprofile.py" heap "$dir/bench-heap" "$web/heap-raw.pb.gz" "$heap_calls" "$web/heap.pb.gz" >"$web/heap.txt"
    "$pprof" -proto "$web/cpu.pb.gz" "$web/heap.pb.gz" >"$web/profile.pb.gz" 2>"$web/pprof.txt" \
        || { cat "$web/pprof.txt" >&2; return 1; }
    echo "web: $dir: CPU over $calls calls, $(grep -o '[0-9,]* samples' "$web/cpu.txt" || echo '? samples')," \
         "at $(awk '/^BenchmarkHi/ { print $3; exit }' "$web/cpu-bench.txt") ns/op"
    echo "     (this run's own speed, not make bench's); allocations over $heap_calls calls:"
    echo "     $web/profile.pb.gz"
}

# A port in use: pprof would say so after the recording, among other
# lines; say it first.
if [ "${WEB_RECORD_ONLY:-}" != 1 ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "web: port $port is in use (another make web?): choose another, make ... web WEB_PORT=8091" >&2
    exit 1
fi
if [ -n "$base" ] && [ "$(cd "$base" && pwd)" = "$(cd "$unit" && pwd)" ]; then
    echo "web: OLD and NEW are the same unit: a diff needs two" >&2
    echo "     (make flamediff OLD=N NEW=N METRIC=time shows two runs' noise)" >&2
    exit 2
fi
# lock UNIT-DIR: one make web per unit at a time (two would record into
# the same folder, each slowing the other); exits, saying so, if another
# has it. The lock is held until pprof exits: exec keeps its file open.
lock() {
    local fd
    exec {fd}>"$1/web.lock"
    flock -n "$fd" || { echo "web: another make web is recording or serving $1: stop it first (Ctrl-C)" >&2
                        exit 1; }
}
lock "$unit"
[ -z "$base" ] || lock "$base"

record "$unit"
sources=("$unit/web/profile.pb.gz")
if [ -n "$base" ]; then
    record "$base"
    "$here/webprofile.py" base "$base/web/profile.pb.gz" "$base/web/base.pb.gz"
    sources=(-diff_base "$base/web/base.pb.gz" "${sources[@]}")
fi
[ "${WEB_RECORD_ONLY:-}" != 1 ] || exit 0

page=flamegraph
[ -z "$base" ] || page=""        # a diff reads best as the call graph: red grew, green shrank
echo "web: open http://127.0.0.1:$port/ui/$page in your browser. VIEW: top, graph, flame graph,"
echo "     source, disassemble; SAMPLE: cpu or alloc_space. Every value is per 1,000,000 calls:"
echo "     a ms is a ns per call; pprof's MB are 1,048,576 bytes, so 1 MB is 1.05 bytes per call."
[ "$host" != 0.0.0.0 ] || echo "     (In the container, the host reaches it through -p 127.0.0.1:$port:$port.)"
echo "     Ctrl-C stops it."
exec "$pprof" -http="$host:$port" -no_browser "${sources[@]}"
