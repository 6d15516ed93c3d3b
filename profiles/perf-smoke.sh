#!/usr/bin/env bash
# perf-smoke.sh OUT LAST LAST-SOURCE - every C tool once, briefly, inside make test.
#
# Each run is checked for what it must show: DHAT's 20 KB block per call
# in stage 1, the call into query.c that the compiler did not inline, the
# Nagle stall, and, where perf may run, pcre2_compile widest in stage 1's
# flame graph and gone from 1 to 2 in make flamediff's by time, the socket
# write widest in the server's, every stage's and the challenge's flame
# graph drawn (each picture checked by its pixels, profiles/pictures.py),
# a run too short to draw refused, one recvfrom per request, workers
# waiting in poll, and the contention profiler against the kernel's
# count. A perf run that this machine does not allow (exit status 3 from
# profiles/perf_allowed.sh) is skipped, and the reasons go to
# OUT/skipped/perf-smoke.txt, one line, for make test's count.
set -euo pipefail

out=${1:?usage: perf-smoke.sh OUT LAST LAST-SOURCE}
last=${2:?last stage}
last_source=${3:?the hi.c of the last stage}
smoke=$out/perf-smoke
rm -rf "$smoke" "$out/skipped/perf-smoke.txt"
mkdir -p "$smoke"
export BENCHTIME=0.5s DURATION=1s
skipped=() why=""

# run NAME COMMAND...: runs COMMAND into $smoke/NAME.txt. Returns 0 when
# it succeeded, 3 when perf may not do it here (noted as skipped); fails
# the smoke run otherwise.
run() {
    local name=$1 status=0 reason
    shift
    "$@" >"$smoke/$name.txt" 2>&1 || status=$?
    case $status in
    0) return 0 ;;
    3) skipped+=("$name")
       reason=$(grep -m1 -o 'SKIPPED: .*' "$smoke/$name.txt" | sed 's/^SKIPPED: //')
       case $why in *"$reason"*) ;; *) why=${why:+$why; }$reason ;; esac
       return 3 ;;
    *) cat "$smoke/$name.txt"; echo "FAIL: make $name (exit status $status)"; exit 1 ;;
    esac
}
# expect NAME PATTERN WHAT: fail unless $smoke/NAME.txt holds PATTERN.
expect() {
    grep -q -- "$2" "$smoke/$1.txt" && return 0
    cat "$smoke/$1.txt"
    echo "FAIL: $3: '$2' not in $smoke/$1.txt"
    exit 1
}
# picture NAME: fail unless NAME's flame.png shows its frames, as deep
# as its graph goes.
picture() {
    profiles/pictures.py flame "$smoke/$1/flame.png" "$(cat "$smoke/$1/flame-focus.depth")" \
        >>"$smoke/pictures.txt" || { tail -n 1 "$smoke/pictures.txt"; exit 1; }
}
# widest NAME PATTERN WHAT: fail unless the widest frame of NAME's flame
# graph (its widest.txt) matches PATTERN.
widest() {
    head -n 1 "$smoke/$1/widest.txt" | grep -q -- "$2" && return 0
    cat "$smoke/$1.txt"
    echo "FAIL: ${*:3}"
    exit 1
}

# Neither valgrind nor the compiler needs perf's permissions.
run dhat profiles/dhat.py "$out/stage1/bench-uncounted" "$smoke/dhat"
# The frame vector: 20,480 bytes once per call, whichever frame DHAT
# names for it (pcre2_match_8, or its caller where pcre2 inlines more).
expect dhat '^ *20[,.]480 B  *1\.0 ' "stage 1 DHAT: the frame vector, 20,480 B once per call"
run optinfo make --no-print-directory "stage$last-optinfo"
expect optinfo query_color "stage $last optinfo: the call into query.c"
run nagle make --no-print-directory nagle DURATION=1s NAGLE_OUT="$smoke/nagle"
expect nagle 'two writes.*p50 [1-9][0-9][0-9]*\.[0-9]* ms' "make nagle: a stall of tens of ms with two writes"
# A stall is the delayed ACK's 40 ms; under 20 ms, however busy the machine, is none.
expect nagle 'in one:.*p50 \([0-9]\|1[0-9]\)\.[0-9]* ms' "make nagle: no stall with one write"

# perf, sampling this user's own processes.
if run stat profiles/perf.sh stat "$out/stage$last/bench-uncounted" "$smoke/stat"; then
    expect stat 'task-clock .* ns per call' "perf stat"
    expect stat '^top-down\(: not here: \| level 1 \)' "perf stat: top-down level 1, or one line on why not"
fi
if run flame profiles/perf.sh flame "$out/stage1/bench-uncounted" "$smoke/flame"; then
    widest flame pcre2_compile "stage 1's flame graph: pcre2_compile is not the widest frame under hi_handle"
    picture flame
    # Every other stage's, and the challenge's: the shallow ones too.
    STAGES_FILE=stages/stages.txt
    . stages/stages.sh
    for unit in $(stage_list | sed 's/[0-9][0-9]*/stage&/g') challenge-given; do
        [ "$unit" != stage1 ] || continue
        # The challenge spends most of its time in system calls, which a
        # user whom perf lets sample user space only does not see: longer.
        benchtime=0.3s
        [ "$unit" != challenge-given ] || benchtime=1s
        BENCHTIME=$benchtime run "flame-$unit" profiles/perf.sh flame "$out/$unit/bench-uncounted" \
            "$smoke/flame-$unit"
        picture "flame-$unit"
    done
    # make flamediff METRIC=time reads two of them: from stage 1 to 2, the
    # compile is gone, and deep blue over stage 1's widths (in whichever
    # row the compiler's inlining puts it).
    profiles/flamediff.py time "$smoke/flamediff-time" "stage 1" "$smoke/flame" "stage 2" \
        "$smoke/flame-stage2" >"$smoke/flamediff-time.txt" 2>&1 \
        || { cat "$smoke/flamediff-time.txt"; echo "FAIL: make flamediff OLD=1 NEW=2 METRIC=time"; exit 1; }
    expect flamediff-time '^ *pcre2_compile_8 .* gone$' "flamediff 1 -> 2 by time: pcre2_compile_8 gone"
    for level in 1 2 3 0; do
        [ "$level" != 0 ] || { tail -n 3 "$smoke/pictures.txt"; echo "FAIL: flamediff 1 -> 2 by time:" \
                                  "no row of old.png is deep blue over 30% of its frames"; exit 1; }
        profiles/pictures.py diff "$smoke/flamediff-time/old.png" "$level" blue 30 \
            >>"$smoke/pictures.txt" 2>&1 && break
    done
    # Too short a run to draw says so, and draws nothing.
    if BENCHTIME=1x profiles/perf.sh flame "$out/stage1/bench-uncounted" "$smoke/flame-short" \
           >"$smoke/flame-short.txt" 2>&1 || [ -e "$smoke/flame-short/flame.png" ]; then
        cat "$smoke/flame-short.txt"
        echo "FAIL: a flame graph of a run too short to sample was drawn, or did not fail"
        exit 1
    fi
    expect flame-short 'too few to draw' "a flame graph of a run too short to sample"
fi
# Four seconds: a user whom perf lets sample user space only sees a few
# samples a second of a server that lives in its system calls.
if DURATION=4s run flame-server profiles/perf.sh flame-server "$out/stage$last/server" "$smoke/flame-server"; then
    picture flame-server
    # The socket write is widest only where the kernel's part of it is
    # sampled; in user space alone, the handler must still be seen.
    if grep -qx yes "$smoke/flame-server/kernel.txt"; then
        widest flame-server mg_write "stage $last's server flame graph: the write to the socket" \
            "(mg_write) is not the widest frame under handle_request"
    else
        expect flame-server ' samples ran under handle_request (.*, [1-9][0-9]* under hi_handle' \
            "stage $last's server flame graph, user space only: the handler under handle_request"
    fi
fi
if run annotate env SOURCE="$last_source" profiles/perf.sh annotate "$out/stage$last/bench-uncounted" "$smoke/annotate"; then
    expect annotate 'hottest function of our own code: ' "perf annotate"
fi
# perf, reading tracepoints (strace stands in for perf trace; a trace
# that lost events is taken again by perf.sh itself, never shown).
run syscalls profiles/perf.sh syscalls "$out/stage$last/server" "$smoke/syscalls"
expect syscalls '^  recvfrom *\(0\.9[0-9]\|1\.0[0-9]\)' "the live server's system calls per request"
if run offcpu profiles/perf.sh offcpu "$out/stage$last/server" "$smoke/offcpu"; then
    expect offcpu 'civetweb-worker *poll' "where the server's threads wait"
fi
if run block-check profiles/block_check.sh "$out/stage4/bench-cpu" "$out/profiles/libcontention.so" \
       "$smoke/block-check"; then
    expect block-check '^PASS: the profiler saw every lock call' "the contention profiler against the kernel"
fi
flames=$(grep -c 'a flame graph' "$smoke/pictures.txt" 2>/dev/null || echo 0)
echo "C tools smoke run: each showed what it must: DHAT's 20 KB frame vector, the call into"
echo "  query.c, a Nagle stall; ${skipped[*]:+where perf may run, }pcre2_compile widest in stage 1"
echo "  and, by time, gone in stage 2 (flamediff, deep blue); the socket write in the server,"
echo "  $flames flame graphs checked by their pixels, one recvfrom per request, workers waiting"
echo "  in poll, the contention profiler against the kernel"
if [ ${#skipped[@]} != 0 ]; then
    mkdir -p "$out/skipped"
    echo "perf-smoke: ${skipped[*]}: $why" >"$out/skipped/perf-smoke.txt"
    echo "perf smoke run: SKIPPED ${skipped[*]}:"
    echo "$why" | tr ';' '\n' | sed 's/^ *//' | fold -s -w 96 | sed 's/^/  /'
fi
