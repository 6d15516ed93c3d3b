#!/usr/bin/env bash
# perf-allow.sh - let this user run every perf target, until the next reboot.
#
# Linux perf needs, for a user who is not root: kernel.perf_event_paranoid
# at 2 or below to sample their own processes (Debian's kernels default to
# 3), and at -1, with the tracing file system readable by their group, to
# read the kernel's tracepoints (make stageN syscalls, offcpu,
# blockprofile-check). Both settings last until the next reboot; nothing
# is written to /etc.
set -euo pipefail

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "perf-allow: needs root: as root, run: sysctl kernel.perf_event_paranoid=-1" >&2
    exit 1
fi
$sudo sysctl -q kernel.perf_event_paranoid=-1
echo "perf-allow: kernel.perf_event_paranoid = $(cat /proc/sys/kernel/perf_event_paranoid)"
if mountpoint -q /sys/kernel/tracing 2>/dev/null; then
    $sudo mount -o remount,mode=755,gid="$(id -g)" /sys/kernel/tracing
    echo "perf-allow: /sys/kernel/tracing readable by group $(id -gn)"
fi
echo "perf-allow: done, until the next reboot"
