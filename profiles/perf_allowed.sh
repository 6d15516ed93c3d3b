# perf_allowed.sh - sourced by the scripts that run Linux perf.
#
# perf_allowed WHAT: returns 0 when perf can record this user's processes
# with call graphs and tracepoints; otherwise says why, names the setting
# that allows it, and returns 1 (perf missing) or 3 (perf not allowed
# here), so that `make test` can tell "skipped: not allowed" from a failure.

perf_allowed() {
    local what=$1 paranoid
    if ! command -v perf >/dev/null; then
        echo "$what: perf is not installed; run: make deps (Debian package linux-perf)" >&2
        return 1
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
