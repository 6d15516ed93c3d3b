# perf_allowed.sh - sourced by the scripts that run Linux perf.
#
# perf_allowed WHAT LEVEL: returns 0 when perf may do what LEVEL names
# here, for this user:
#   sample  count and sample this user's own processes, in user space
#           (flame, flame-server, stat, annotate): kernel.perf_event_paranoid
#           at 2 or below, the default of most kernels but Debian's (3)
#   trace   read the kernel's tracepoints (syscalls, offcpu, the
#           contention check): root, or paranoid -1 with /sys/kernel/tracing
#           readable, which `make perf-allow` sets until the next reboot
#   memory  sample memory accesses with their physical addresses (c2c):
#           root, or paranoid 1 or below, which `make perf-allow` sets
# Otherwise it says, in one line that starts with SKIPPED, why and the one
# command that allows it (and on a second line, indented, the setting it
# found), and returns 3, so that `make test` reports the run as skipped
# rather than failed.

# in_container: whether this runs inside a Docker or podman container.
in_container() {
    [ -f /.dockerenv ] || [ -f /run/.containerenv ]
}

perf_allowed() {
    local what=$1 level=${2:-sample} paranoid
    if ! command -v perf >/dev/null || ! perf --version >/dev/null 2>&1; then
        echo "$what: SKIPPED: perf is not installed for this kernel; run: make deps-perf" >&2
        echo "  (Debian's linux-perf; on Ubuntu: sudo apt-get install linux-tools-\$(uname -r))" >&2
        return 3
    fi
    paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)
    case $level in
    sample)
        perf stat -e task-clock -x, -o /dev/null true >/dev/null 2>&1 && return 0
        if in_container; then
            echo "$what: SKIPPED: perf may not sample in this container: start it with --cap-add=PERFMON" >&2
            echo "  (kernel.perf_event_paranoid = $paranoid on the host)" >&2
        else
            echo "$what: SKIPPED: perf may not sample your own processes here: make perf-allow" >&2
            echo "  (kernel.perf_event_paranoid = $paranoid; that allows it until the next reboot)" >&2
        fi
        ;;
    memory)
        [ "$(id -u)" = 0 ] && return 0
        [ "$paranoid" != unknown ] && [ "$paranoid" -le 1 ] && return 0
        echo "$what: SKIPPED: perf may not record physical addresses here: make perf-allow" >&2
        echo "  (kernel.perf_event_paranoid = $paranoid; it needs 1 or below)" >&2
        ;;
    trace)
        perf stat -e syscalls:sys_enter_futex -x, -o /dev/null true >/dev/null 2>&1 && return 0
        if in_container; then
            echo "$what: SKIPPED: perf may not read the kernel's tracepoints in this container" >&2
            echo "  (they need the host's tracing file system: start it with --privileged)" >&2
        else
            echo "$what: SKIPPED: perf may not read the kernel's tracepoints here: make perf-allow" >&2
            echo "  (kernel.perf_event_paranoid = $paranoid, and /sys/kernel/tracing is root's;" \
                 "that allows it until the next reboot)" >&2
        fi
        ;;
    esac
    return 3
}
