# server.sh - sourced by the scripts that put the live server under load
# (bench/load.sh, profiles/perf.sh), and by those that wait for a server
# or a viewer to say it serves (mk/fresh-check.sh, mk/container-check.sh,
# profiles/web-smoke.sh).
#
# start_server BINARY DIR [TRACER...]: starts BINARY on a free port
# (PORT=0), under TRACER if given (strace -f ..., which then traces its
# own child), its stdout and stderr in DIR/server.out and DIR/server.err.
# Waits up to 20 s (a tracer may start it slowly on a busy machine; the
# suite allows as long) for its "listening on http://127.0.0.1:PORT/hi" line.
# Sets server_pid (TRACER's, if any) and port, and returns 0; returns 1,
# having said why on stderr, when the server exited first or never said it
# was listening.

# wait_for_line FILE PATTERN PID SECONDS: waits until FILE (a program's
# output) has a line matching PATTERN (grep's), while process PID lives,
# for at most SECONDS. Returns 0 once the line is there, 1 otherwise.

# get_hi PORT [SECONDS]: sends one GET /hi?color=red to 127.0.0.1:PORT over
# bash's own TCP client (no curl needed) and prints the status line and the
# last line of the body, joined: "HTTP/1.1 200 OK <h1 ...>...visitor number
# 1!". Prints nothing when no answer came within SECONDS (5).
get_hi() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1" &&
     printf 'GET /hi?color=red HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
     timeout "${2:-5}" cat <&3) 2>/dev/null | tr -d '\r' | sed -n '1p;$p' | paste -sd' ' || true
}

wait_for_line() {
    local file=$1 pattern=$2 pid=$3 tries=$(($4 * 10))
    while [ $tries -gt 0 ]; do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
        tries=$((tries - 1))
    done
    grep -q -- "$pattern" "$file" 2>/dev/null
}

start_server() {
    local binary=$1 dir=$2
    shift 2
    env -u HOST PORT=0 "$@" "$binary" >"$dir/server.out" 2>"$dir/server.err" &
    server_pid=$!
    for _ in $(seq 200); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)/hi$|\1|p' "$dir/server.out")
        [ -n "$port" ] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "$binary exited before listening:" >&2
            cat "$dir/server.err" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "$binary did not start within 20 s" >&2
    return 1
}
