# server.sh - sourced by the scripts that put the live server under load
# (bench/load.sh, profiles/perf.sh).
#
# start_server BINARY DIR [TRACER...]: starts BINARY on a free port
# (PORT=0), under TRACER if given (strace -f ..., which then traces its
# own child), its stdout and stderr in DIR/server.out and DIR/server.err.
# Waits up to 10 s for its "listening on http://127.0.0.1:PORT/hi" line.
# Sets server_pid (TRACER's, if any) and port, and returns 0; returns 1,
# having said why on stderr, when the server exited first or never said it
# was listening.

start_server() {
    local binary=$1 dir=$2
    shift 2
    env -u HOST PORT=0 "$@" "$binary" >"$dir/server.out" 2>"$dir/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)/hi$|\1|p' "$dir/server.out")
        [ -n "$port" ] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "$binary exited before listening:" >&2
            cat "$dir/server.err" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "$binary did not start within 10 s" >&2
    return 1
}
