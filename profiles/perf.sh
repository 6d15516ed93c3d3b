#!/usr/bin/env bash
# perf.sh KIND BINARY OUTDIR - Linux perf (and strace) on one stage.
#
#   flame          BINARY is a benchmark: call-graph samples of BenchmarkHi,
#                  drawn as an interactive flame graph (and a PNG of it)
#   flame-server   BINARY is a server: the same, under wrk
#   stat           BINARY is a benchmark: perf stat's counters, per call,
#                  and top-down level 1 where the CPU has the counters
#   c2c            BINARY is a benchmark: perf c2c over BenchmarkHiParallel,
#                  the cache lines CPUs took from each other, where the CPU
#                  samples memory accesses
#   syscalls       BINARY is a server: system calls per request under wrk
#                  (perf trace -s; strace -c -f where perf may not trace)
#   offcpu         BINARY is a server: where its threads wait under wrk
#   annotate       BINARY is a benchmark: perf annotate of the hottest
#                  function of our own code, source beside instructions
#
# Environment: BENCHTIME (2s) for the benchmarks, DURATION (2s) for wrk.
# Where perf may not run, it says which setting allows it and exits 3.
set -euo pipefail

kind=${1:?usage: perf.sh flame|flame-server|stat|c2c|syscalls|offcpu|annotate BINARY OUTDIR}
binary=${2:?binary}
outdir=${3:?outdir}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
template=$root/js/node_modules/d3-flame-graph/dist/templates/d3-flamegraph-base.html
benchtime=${BENCHTIME:-2s}
duration=${DURATION:-2s}

# shellcheck source=perf_allowed.sh
. "$here/perf_allowed.sh"
# shellcheck source=../bench/server.sh
. "$root/bench/server.sh"
[ -x "$binary" ] || { echo "perf: no binary at $binary" >&2; exit 1; }
case $kind in
syscalls) ;;                          # strace stands in for perf trace
offcpu) perf_allowed "make offcpu" trace || exit $? ;;
*) perf_allowed "make ${kind}" sample || exit $? ;;
esac
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# ============================ The live server =================================

server_pid="" port=""
stop_server() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
trap stop_server EXIT

# serve [TRACER...]: BINARY on a free port, under TRACER if given (strace
# -f ..., which may then trace its own child where it could not attach to
# a running one), as bench/server.sh's start_server; exits if it cannot.
serve() {
    start_server "$binary" "$outdir" "$@" || exit 1
}

# load: wrk for DURATION; prints how many requests were answered, or
# says why there is no such number and exits (in the caller's $(...),
# where set -e does not reach: callers check for an empty result).
load() {
    command -v wrk >/dev/null || { echo "perf: wrk is not installed; run: make deps" >&2; exit 1; }
    wrk -t2 -c50 -d"$duration" "http://127.0.0.1:$port/hi?color=red" >"$outdir/wrk.txt" 2>&1 \
        || { cat "$outdir/wrk.txt" >&2; echo "perf: wrk failed" >&2; exit 1; }
    sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$outdir/wrk.txt"
}

# one_request: a single GET /hi (bench/server.sh's get_hi), answer unread.
one_request() {
    get_hi "$port" >/dev/null
}

# stop_traced_server: stops a server started under a tracer (serve strace
# ... or serve perf trace ...) by signalling the tracer's child, the server
# itself; the tracer writes its summary once the server has exited.
stop_traced_server() {
    pkill -TERM -P "$server_pid" || true
    wait "$server_pid" || true
    server_pid=""
}

# wait_attached PID EACH-THREAD: returns once perf (PID) has opened no
# more files for half a second, holding at least one per thread of the
# server when EACH-THREAD is 1 (perf ... -p), or after 20 s. A fixed pause
# is not enough: on a busy machine attaching to 64 threads took longer
# than a second. What only needs samples can start this way; what counts
# per request starts the server under its tracer instead (syscalls).
wait_attached() {
    local perf=$1 threads=1 opened last=-1 steady=0 tries=0
    [ "$2" != 1 ] || threads=$(ls "/proc/$server_pid/task" | wc -l)
    while [ $tries -lt 200 ] && kill -0 "$perf" 2>/dev/null; do
        opened=$(ls "/proc/$perf/fd" 2>/dev/null | wc -l)
        if [ "$opened" -ge "$threads" ] && [ "$opened" = "$last" ]; then
            steady=$((steady + 1))
            [ $steady -lt 5 ] || return 0
        else
            steady=0
        fi
        last=$opened tries=$((tries + 1))
        sleep 0.1
    done
}

# record_while_loaded COMMAND...: COMMAND runs in the background while wrk
# loads the server, and gets SIGINT (perf's signal to stop and write) after.
record_while_loaded() {
    "$@" &
    local recorder=$!
    # perf attaches to each of the server's 64 threads before it traces
    # any: a load that started sooner would be counted in part.
    local per_thread=0
    case " $* " in *" -p "*) per_thread=1 ;; esac
    wait_attached "$recorder" $per_thread
    requests=$(load) || true
    kill -INT "$recorder" 2>/dev/null || true
    wait "$recorder" || true
    [ -n "$requests" ] || { echo "perf: no load, so nothing to report" >&2; exit 1; }
}

# flame_report ROOT FOCUS: the flame graphs, and what is widest under ROOT.
flame_report() {
    [ -f "$template" ] || { echo "perf: no flame graph template at $template; run: make js/node_modules/.installed" >&2; exit 1; }
    python3 "$here/perfreport.py" flame "$outdir" "$1" "$2" "$template" "$binary"
    echo "wrote: $outdir/flame.html (all of it; click a frame to zoom),"
    echo "       flame-focus.html, flame.svg and flame.png ($(cat "$outdir/flame-focus.depth") frames deep)"
}

# ============================ The kinds =======================================

case "$kind" in
flame)
    # DWARF call graphs: our code has frame pointers, but Debian's
    # libraries do not, so perf unwinds them from a copy of each sample's
    # stack, here the largest it allows (65528 bytes), so that the deepest
    # samples keep every caller. (pcre2's 20 KB frame vector is not on the
    # stack: pcre2 10.42 keeps it in the match data, on the heap, which is
    # what make memprofile and make dhat show.)
    rm -f "$outdir/perf.data"
    BENCH='^BenchmarkHi$' BENCHTIME=$benchtime COUNT=1 \
        perf record -q -F 249 --call-graph dwarf,65528 -o "$outdir/perf.data" -- "$binary" \
        >"$outdir/bench.txt" 2>"$outdir/record.txt" || { cat "$outdir/record.txt" >&2; exit 1; }
    grep '^Benchmark' "$outdir/bench.txt"
    flame_report hi_handle hi_handle
    ;;
flame-server)
    rm -f "$outdir/perf.data"
    serve
    record_while_loaded perf record -q -F 249 --call-graph dwarf,32768 -p "$server_pid" -o "$outdir/perf.data"
    echo "wrk: $requests requests in $duration"
    flame_report handle_request -
    ;;
stat)
    # Counting only the measured run: the harness tells perf when it starts
    # and ends (--control; BENCH_PERF_CONTROL in bench/bench.c), so that
    # start-up and warm-up stay out. A first run, not counted, finds how
    # many calls fill BENCHTIME.
    BENCH='^BenchmarkHi$' BENCHTIME=$benchtime COUNT=1 "$binary" >"$outdir/sizing.txt" 2>&1 \
        || { cat "$outdir/sizing.txt" >&2; echo "stat: $binary failed" >&2; exit 1; }
    calls=$(awk '/^Benchmark/ { print $2 }' "$outdir/sizing.txt")
    [ -n "$calls" ] || { echo "stat: $binary printed no BenchmarkHi line" >&2; exit 1; }
    events=task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions,branches,branch-misses,cache-references,cache-misses
    rm -f "$outdir/control" "$outdir/ack" && mkfifo "$outdir/control" "$outdir/ack"
    BENCH='^BenchmarkHi$' BENCHTIME="${calls}x" COUNT=1 BENCH_PERF_CONTROL="$outdir/control,$outdir/ack" \
        LC_ALL=C perf stat -x, -D -1 --control "fifo:$outdir/control,$outdir/ack" -e "$events" \
        -o "$outdir/stat.csv" -- "$binary" >"$outdir/bench.txt" 2>"$outdir/perf.txt" \
        || { cat "$outdir/perf.txt" "$outdir/bench.txt" >&2; exit 1; }
    echo "== $(basename "$(dirname "$binary")")"
    grep '^Benchmark' "$outdir/bench.txt"
    python3 "$here/perfreport.py" stat "$outdir/stat.csv" "$calls"
    # Top-down level 1: a metric group, TopdownL1 (Intel, Arm Neoverse) or
    # PipelineL1 (AMD Zen 4 on), in a second measured run. A quick probe
    # on `true` finds which one this perf and CPU can count; where none
    # can, the reader says so in one line.
    group="TopdownL1 or PipelineL1"
    for candidate in TopdownL1 PipelineL1; do
        LC_ALL=C perf stat -M "$candidate" -o "$outdir/probe.out" -- true >/dev/null 2>"$outdir/probe.err" || true
        cat "$outdir/probe.out" "$outdir/probe.err" >"$outdir/probe.txt" 2>/dev/null || true
        if python3 "$here/perfreport.py" topdown "$outdir/probe.txt" "$candidate" | grep -q '^top-down level'; then
            group=$candidate
            BENCH='^BenchmarkHi$' BENCHTIME="${calls}x" COUNT=1 BENCH_PERF_CONTROL="$outdir/control,$outdir/ack" \
                LC_ALL=C perf stat -D -1 --control "fifo:$outdir/control,$outdir/ack" -M "$group" \
                -o "$outdir/topdown.txt" -- "$binary" >/dev/null 2>>"$outdir/perf.txt" \
                || { cat "$outdir/perf.txt" >&2; exit 1; }
            break
        fi
        cp "$outdir/probe.txt" "$outdir/topdown.txt"
    done
    python3 "$here/perfreport.py" topdown "$outdir/topdown.txt" "$group"
    ;;
c2c)
    # perf c2c samples loads and stores with their data addresses, from
    # the CPU's own memory sampling: Intel's load-latency PEBS, AMD's IBS,
    # Arm's SPE. A load that finds its line modified in another CPU's
    # cache is a HITM (on Arm, a peer hit): the lines with the most are
    # the ones the CPUs fight over. First whether the CPU can sample
    # memory at all (a VM rarely can), then whether this user may: it
    # records physical addresses, which needs perf_event_paranoid at 1 or
    # below (make perf-allow), or root. All of the process is recorded,
    # kernel too: AMD's IBS cannot leave the kernel out.
    rm -f "$outdir/perf.data"
    # -e list names the memory events this CPU has (": available" after
    # each in perf 6.1, the names alone in some later versions), or fails.
    events=$(perf c2c record -e list 2>&1 || true)
    if grep -qiE 'not supported|no pmu|failed' <<<"$events" || ! grep -q '[a-z]' <<<"$events"; then
        reason=$(grep -m1 -v '^\s*$' <<<"$events" | sed 's/^failed: //')
        echo "c2c: SKIPPED: no memory-access sampling on this CPU (perf: ${reason:-no memory events})" >&2
        exit 3
    fi
    perf_allowed c2c memory || exit $?
    # AMD's IBS follows a single process only from Linux 6.2 on: before,
    # the recording fails, and says why.
    if ! BENCH='^BenchmarkHiParallel$' BENCHTIME=$benchtime COUNT=1 \
            perf c2c record -o "$outdir/perf.data" -- "$binary" >"$outdir/bench.txt" 2>"$outdir/record.txt"; then
        reason=$(grep -m1 -v '^\s*$' "$outdir/record.txt" | cut -c1-60 || echo "no message")
        echo "c2c: SKIPPED: perf c2c record failed here (perf: $reason)" >&2
        exit 3
    fi
    grep '^Benchmark' "$outdir/bench.txt"
    perf c2c report -i "$outdir/perf.data" --stdio --full-symbols 2>/dev/null >"$outdir/report-full.txt" \
        || { echo "c2c: perf c2c report failed" >&2; exit 1; }
    python3 "$here/perfreport.py" c2c "$outdir/report-full.txt"
    echo "(perf's whole report: $outdir/report-full.txt)"
    echo
    python3 "$here/cachelines.py" "$binary" "$(dirname "$binary")/hi.o" "$outdir"
    ;;
syscalls)
    # The tracer starts the server itself, so that its counting is on from
    # the server's first instruction: attaching to 64 running threads takes
    # a moment, and the requests answered meanwhile would go uncounted.
    # (Tracing one's own child also needs no right to attach: ptrace_scope.)
    # perf trace can fall behind a busy server and lose events, and a count
    # it lost events of is short: it is not shown. It tries again with a
    # bigger buffer (-m 1024: 4 MB a CPU), then strace, which slows the
    # server down more but loses nothing.
    tracers=()
    if perf_allowed "make syscalls" trace 2>"$outdir/perf-why.txt"; then
        tracers=("perf trace -s --" "perf trace -s -m 1024 --")
    else
        sed 's/ SKIPPED: / /' "$outdir/perf-why.txt"
        echo "(so strace -c -f instead, which slows the server down more)"
    fi
    command -v strace >/dev/null && tracers+=("strace -c -f")
    [ ${#tracers[@]} != 0 ] || { echo "syscalls: neither perf nor strace can run here" >&2; exit 1; }
    for try in "${!tracers[@]}"; do
        tracer=${tracers[$try]}
        rm -f "$outdir/trace.txt"
        read -ra command <<<"$tracer"
        case $tracer in
        perf*) serve "${command[@]:0:2}" -o "$outdir/trace.txt" "${command[@]:2}" ;;
        *) serve "${command[@]}" -o "$outdir/trace.txt" ;;
        esac
        requests=$(load) || true
        stop_traced_server
        [ -n "$requests" ] || { echo "syscalls: no load, so nothing to report" >&2; exit 1; }
        [ -s "$outdir/trace.txt" ] || { echo "syscalls: $tracer wrote no summary" >&2; cat "$outdir/server.err" >&2; exit 1; }
        status=0
        report=$(python3 "$here/perfreport.py" syscalls "$outdir/trace.txt" "$requests") || status=$?
        [ $status = 4 ] && [ $((try + 1)) -lt ${#tracers[@]} ] || break
        echo "$report (measuring again, with ${tracers[$((try + 1))]%% --})"
    done
    [ $status = 0 ] || { echo "$report" >&2; echo "syscalls: no count to show" >&2; exit 1; }
    echo "wrk: $requests requests in $duration, the server traced by ${tracer%% --}"
    echo "$report"
    # A failing call is worth seeing once, with its arguments.
    failing=$(awk '/FAILS/ && $2 >= 0.5 { print $1 }' <<<"$report")
    for call in $failing; do
        command -v strace >/dev/null || break
        serve strace -f -e trace="$call" -Z -o "$outdir/$call.txt"
        one_request
        stop_traced_server
        example=$(grep -m1 -- '= -1' "$outdir/$call.txt" | sed 's/^[0-9]* *//' || true)
        [ -z "$example" ] || printf '  %s, for example:\n    %s\n' "$call" "$example"
    done
    ;;
offcpu)
    # The scheduler's switch events of the whole machine (when a server
    # thread gets a CPU back, the event belongs to whoever had it), with
    # frame-pointer call graphs: the user-space frame at the system call
    # and the kernel's stack say why a thread left the CPU.
    rm -f "$outdir/perf.data"
    serve
    record_while_loaded perf record -q -e sched:sched_switch -a -g -o "$outdir/perf.data"
    echo "wrk: $requests requests in $duration"
    python3 "$here/perfreport.py" offcpu "$outdir" "$server_pid" "$requests"
    ;;
annotate)
    rm -f "$outdir/perf.data"
    BENCH='^BenchmarkHi$' BENCHTIME=$benchtime COUNT=1 \
        perf record -q -F 999 -o "$outdir/perf.data" -- "$binary" >"$outdir/bench.txt" 2>"$outdir/record.txt" \
        || { cat "$outdir/record.txt" >&2; exit 1; }
    # The hottest symbol of the binary itself: not a library's, and not
    # the test double or the harness around the handler.
    hot=$(perf report -i "$outdir/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null \
          | awk -v dso="$(basename "$binary")" '$2 == dso && $3 == "[.]" && !found &&
                $4 !~ /^(recorder_|bench_|Benchmark|run_n|measure)/ { print $4; found = 1 }')
    [ -n "$hot" ] || { echo "annotate: no sample in $(basename "$binary")'s own code" >&2; exit 1; }
    # perf 6.12 (Debian 13) crashes while it interleaves the source;
    # without the source, its summary of the hottest lines still comes.
    if ! perf annotate -i "$outdir/perf.data" --stdio -l "$hot" 2>/dev/null >"$outdir/annotate.txt"; then
        echo "(perf annotate failed with the source interleaved, as perf 6.12 does; shown without it)"
        perf annotate -i "$outdir/perf.data" --stdio --no-source -l "$hot" 2>/dev/null >"$outdir/annotate.txt" \
            || : >"$outdir/annotate.txt"
    fi
    # It can crash without the source too: the hottest lines then come from
    # perf report, sorted by source line ("44.06%  hi.c:112").
    if [ ! -s "$outdir/annotate.txt" ]; then
        echo "(perf annotate failed again; the hottest lines from perf report --sort srcline instead)"
        perf report -i "$outdir/perf.data" --stdio --no-children --symbols="$hot" --sort srcline 2>/dev/null \
            | sed -n 's/^ *\([0-9.]*\)% *\([^ ]*\.c:[0-9]*\).*/    \1 \2/p' >"$outdir/annotate.txt" || true
    fi
    [ -s "$outdir/annotate.txt" ] || { echo "annotate: perf annotate printed nothing for $hot" >&2; exit 1; }
    echo "the hottest function of our own code: $hot"
    echo "its hottest lines (percent of its samples, and the line):"
    hottest=$(grep -E '^\s+[0-9]+\.[0-9]+ +[a-z_/.0-9]+\.c:[0-9]+' "$outdir/annotate.txt" | sort -rn | head -8 || true)
    [ -n "$hottest" ] || echo "  (perf annotate named no source line: was the binary built with -g?)"
    [ -z "$hottest" ] || echo "$hottest" | while read -r percent place; do
            line=${place##*:}
            code=""
            [ -n "${SOURCE:-}" ] && [ "$(basename "$SOURCE")" = "${place%%:*}" ] \
                && code=$(sed -n "${line}p" "$SOURCE" | sed 's/^ *//')
            printf '  %6s%%  %-10s %s\n' "$percent" "$place" "$code"
        done
    echo "wrote: $outdir/annotate.txt (source and instructions interleaved; the CPU profile's"
    echo "       cpu-disasm.txt from make profile shows the same function through pprof)"
    ;;
*)
    echo "perf.sh: unknown kind $kind" >&2
    exit 2
    ;;
esac
