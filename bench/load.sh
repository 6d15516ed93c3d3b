#!/usr/bin/env bash
# load.sh SERVER - drive one stage's live server with wrk on loopback.
#
# Starts SERVER on a free port (PORT=0), runs wrk against /hi?color=red for
# a bounded time, stops the server with SIGTERM and prints wrk's report
# followed by one summary line that tools can read:
#
#   load: 48210.55 req/s  p50 0.89 ms  p90 1.71 ms  p99 3.02 ms
#
# The latencies are closed-loop: each of wrk's connections sends its next
# request only once the last was answered, so a stall holds back the
# requests that would have come meanwhile, and they are never measured
# as late (coordinated omission). They compare runs of this same load;
# they are not what users arriving at a fixed rate would see. A line
# before the summary says so.
#
# Environment: DURATION (5s), WRK_THREADS (2), WRK_CONNECTIONS (50).
set -euo pipefail

server=${1:?usage: load.sh SERVER-BINARY}
duration=${DURATION:-5s}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-50}

command -v wrk >/dev/null || { echo "load: wrk is not installed; run: make deps" >&2; exit 1; }
[ -x "$server" ] || { echo "load: no server binary at $server" >&2; exit 1; }

# shellcheck source=server.sh
. "$(dirname "$0")/server.sh"
work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || { kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; }
    rm -rf "$work"
}
trap cleanup EXIT
start_server "$server" "$work" || { echo "load: no server to load" >&2; exit 1; }

echo "wrk -t$threads -c$connections -d$duration --latency http://127.0.0.1:$port/hi?color=red"
wrk -t"$threads" -c"$connections" -d"$duration" --latency \
    "http://127.0.0.1:$port/hi?color=red" | tee "$work/wrk"

# A load test that got errors measured the errors, not the server.
if grep -q 'Non-2xx or 3xx responses' "$work/wrk"; then
    echo "load: FAIL: the server answered some requests with errors" >&2
    exit 1
fi
# So did one whose connections failed or timed out (wrk prints this line
# only when it counted such errors).
if grep -q 'Socket errors:' "$work/wrk"; then
    echo "load: FAIL: wrk saw socket errors (refused, reset or timed-out connections)" >&2
    exit 1
fi

echo "(closed-loop latencies: each of the $connections connections waits for its answer before it"
echo " asks again, so a stall also delays requests that are never counted as late)"
# wrk prints latencies as 812.00us, 1.20ms or 1.01s: convert all to ms.
awk '
    function ms(text) {
        if (text ~ /us$/) return text / 1000
        if (text ~ /ms$/) return text + 0
        if (text ~ /s$/)  return text * 1000
        return text + 0
    }
    /^ +50%/ { p50 = ms($2) }
    /^ +90%/ { p90 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    END {
        if (rps == "") { print "load: wrk printed no Requests/sec" > "/dev/stderr"; exit 1 }
        printf "load: %.2f req/s  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms\n", rps, p50, p90, p99
    }' "$work/wrk"
