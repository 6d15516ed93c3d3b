# perf_allowed.sh - sourced by the scripts that run Linux perf.
#
# perf_allowed WHAT: returns 0 when perf can record this user's processes
# with call graphs and tracepoints; otherwise says why and what would
# allow it, and returns 3, so that `make test` can report the perf smoke
# runs as skipped, with the reason, rather than failed.

perf_allowed() {
    local what=$1 paranoid
    if ! command -v perf >/dev/null || ! perf --version >/dev/null 2>&1; then
        echo "$what: perf is not installed; run: make deps (Debian's linux-perf; on Ubuntu," \
             "sudo apt-get install linux-tools-\$(uname -r))" >&2
        return 3
    fi
    paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)
    # Tracepoints need root, CAP_PERFMON (with CAP_SYS_PTRACE), or
    # perf_event_paranoid at -1; and a container may forbid perf entirely.
    if perf stat -e syscalls:sys_enter_futex -x, -o /dev/null true >/dev/null 2>&1; then
        return 0
    fi
    echo "$what: perf may not trace here (kernel.perf_event_paranoid = $paranoid)." >&2
    echo "  Allow it until the next reboot:  sudo sysctl kernel.perf_event_paranoid=-1" >&2
    echo "  or run it as root, or give your perf binary CAP_PERFMON and CAP_SYS_PTRACE (setcap)" >&2
    echo "  (in a container, perf_event_open may be blocked altogether: run on the host or a VM)" >&2
    return 3
}
