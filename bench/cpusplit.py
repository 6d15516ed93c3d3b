#!/usr/bin/python3
"""cpusplit.py - where a request's CPU goes in the live server (make stageN cpusplit).

  cpusplit.py SERVER BENCH OUTDIR

Utilisation first (Brendan Gregg's USE method): how busy each CPU was
while wrk loaded SERVER, and saturation: how long the server's threads
waited, runnable, for a CPU. Then that busy time, shared out per request:

  the handler          BENCH's BenchmarkHi ns/op: the handler through the
                       router, warm, measured apart (the server is not
                       instrumented): a lower bound of its cost inside
  civetweb and libc    the server's user time, less the handler
  kernel, in the server   its system time: poll, recv, send, and on
                       loopback the delivery of its answers into wrk's
                       sockets, which runs in the sender's system call
  wrk                  the load generator's user and system time
  kernel, interrupts   /proc/stat's irq and softirq (loopback delivery),
                       where the kernel counts them apart from processes
  the rest             busy time none of the above accounts for

Every number comes from counters the kernel keeps anyway (/proc/stat,
/proc/PID/stat, wrk's rusage): reading them costs the server nothing.
Where there are more than two CPUs, the server and wrk run on separate
halves of them (taskset), so that neither takes the other's CPU; on two,
pinning would give each only one, and they share both.

Environment: DURATION (5s), WRK_CONNECTIONS (50). Prints the report and
writes OUTDIR/cpusplit.json (what make test checks, and the deck shows).
"""
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TICKS = os.sysconf("SC_CLK_TCK")


def fail(message):
    """Prints message and exits with status 1."""
    print(f"cpusplit: {message}", file=sys.stderr)
    sys.exit(1)


# ============================ CPUs ===========================================

def cpu_sets(cpus):
    """Returns (server's CPUs, wrk's CPUs) from the CPUs this may use: the
    lower half and the upper half when there are more than two, or
    (None, None) when there are not (both then share them all)."""
    cpus = sorted(cpus)
    if len(cpus) <= 2:
        return None, None
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


def taskset(cpus):
    """Returns the command prefix that pins to cpus, or [] for None."""
    return [] if cpus is None else ["taskset", "-c", ",".join(map(str, cpus))]


def cpu_times():
    """Returns /proc/stat's per-CPU lines: {"cpu0": {"busy":, "idle":,
    "irq":}} in clock ticks. Busy is all but idle and iowait; steal (the
    hypervisor's) counts as neither, and is kept apart."""
    times = {}
    with open("/proc/stat") as file:
        for line in file:
            fields = line.split()
            if not re.fullmatch(r"cpu\d+", fields[0]):
                continue
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[1:9])
            times[fields[0]] = {"busy": user + nice + system + irq + softirq,
                                "idle": idle + iowait, "irq": irq + softirq, "steal": steal}
    return times


def run_queue_wait(pid):
    """Returns the seconds the threads of process pid have spent runnable
    but waiting for a CPU (the second field of each thread's
    /proc/PID/task/TID/schedstat), or None where the kernel keeps no
    scheduler statistics."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as file:
                total += int(file.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return total / 1e9


def irq_time_apart():
    """Returns whether this kernel counts interrupt and softirq time apart
    from the tasks they interrupt (CONFIG_IRQ_TIME_ACCOUNTING), from its
    configuration, or None where the configuration is not readable."""
    for path in (f"/boot/config-{os.uname().release}", "/proc/config.gz"):
        try:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as file:
                text = file.read()
        except OSError:
            continue
        if "CONFIG_IRQ_TIME_ACCOUNTING=y" in text:
            return True
        if "CONFIG_IRQ_TIME_ACCOUNTING is not set" in text:
            return False
    return None


def process_times(pid):
    """Returns (user, system) seconds that process pid (all its threads)
    has used: fields 14 and 15 of /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


# ============================ Measuring ======================================

def handler_ns(bench, cpus):
    """Returns BenchmarkHi's median ns/op over three runs, pinned where the
    server will run."""
    values = []
    for _ in range(3):
        done = subprocess.run(taskset(cpus and cpus[:1]) + [bench],
                              env=dict(os.environ, BENCH="^BenchmarkHi$", BENCHTIME="0.3s", COUNT="1"),
                              capture_output=True, text=True)
        found = re.search(r"^BenchmarkHi\S*\s+\d+\s+([\d.]+) ns/op", done.stdout, re.M)
        if done.returncode != 0 or not found:
            fail(f"{bench} printed no BenchmarkHi line:\n{done.stdout}{done.stderr}")
        values.append(float(found[1]))
    return statistics.median(values)


def start_server(server, cpus, directory):
    """Starts server on a free port; returns (process, port)."""
    env = {k: v for k, v in os.environ.items() if k != "HOST"}
    env["PORT"] = "0"
    out = open(os.path.join(directory, "server.out"), "w")
    process = subprocess.Popen(taskset(cpus) + [server], env=env, stdout=out,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open(out.name) as file:
            found = re.search(r"^listening on http://127\.0\.0\.1:(\d+)/hi$", file.read(), re.M)
        if found:
            return process, int(found[1])
        if process.poll() is not None:
            with open(out.name) as file:
                fail(f"{server} exited before it listened:\n{file.read()}")
        time.sleep(0.1)
    process.kill()
    fail(f"{server} did not start within 20 s")


def run_wrk(port, cpus, duration, connections):
    """Runs wrk against the server; returns (requests, wall seconds, wrk's
    user seconds, wrk's system seconds, wrk's report)."""
    threads = len(cpus) if cpus else 2
    command = taskset(cpus) + ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}",
                               f"http://127.0.0.1:{port}/hi?color=red"]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    found = re.search(r"^\s*(\d+) requests in", output, re.M)
    if os.waitstatus_to_exitcode(status) != 0 or not found:
        fail(f"wrk failed:\n{output}")
    if "Non-2xx" in output or "Socket errors" in output:
        fail(f"wrk saw errors: the split would measure them, not the server:\n{output}")
    return int(found[1]), wall, usage.ru_utime, usage.ru_stime, output


def measure(server, bench, duration, connections, directory):
    """Returns what the report needs, all in seconds of CPU."""
    server_cpus, wrk_cpus = cpu_sets(os.sched_getaffinity(0))
    handler = handler_ns(bench, server_cpus)
    process, port = start_server(server, server_cpus, directory)
    try:
        cpu_before, server_before, waited_before = cpu_times(), process_times(process.pid), run_queue_wait(process.pid)
        requests, wall, wrk_user, wrk_system, report = run_wrk(port, wrk_cpus, duration, connections)
        cpu_after, server_after, waited_after = cpu_times(), process_times(process.pid), run_queue_wait(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
    per_cpu = {}
    for cpu in cpu_after:
        delta = {key: (cpu_after[cpu][key] - cpu_before[cpu][key]) / TICKS for key in cpu_after[cpu]}
        per_cpu[cpu] = delta
    return {
        "requests": requests, "wall": wall, "handler_ns": handler,
        "server_cpus": server_cpus, "wrk_cpus": wrk_cpus, "per_cpu": per_cpu,
        "busy": sum(cpu["busy"] for cpu in per_cpu.values()),
        "irq": sum(cpu["irq"] for cpu in per_cpu.values()),
        "server_user": server_after[0] - server_before[0],
        "server_system": server_after[1] - server_before[1],
        "wrk_user": wrk_user, "wrk_system": wrk_system, "wrk_report": report,
        "waited": None if waited_before is None or waited_after is None else waited_after - waited_before,
    }


# ============================ Report =========================================

def split(m):
    """Returns (rows, irq_inside): the rows of the split, [(name,
    seconds)], summing to the busy time of every CPU; and whether this kernel counted interrupts and softirqs inside the
    processes' system times (without CONFIG_IRQ_TIME_ACCOUNTING it
    charges them to whichever task they interrupted, and /proc/stat's irq
    and softirq count them a second time) rather than apart: from the
    kernel's configuration, or where that is not readable, from whether
    the tasks and the irq time together exceed the busy time."""
    busy, irq = m["busy"], m["irq"]
    handler = min(m["handler_ns"] * 1e-9 * m["requests"], m["server_user"])
    rows = [
        ("the handler (BenchmarkHi: with the router, apart)", handler),
        ("civetweb and libc (the server's user time, less the handler)", m["server_user"] - handler),
        ("kernel, in the server's threads (system calls, delivery)", m["server_system"]),
        ("wrk, the load generator (user, and kernel as above)", m["wrk_user"] + m["wrk_system"]),
    ]
    tasks = sum(seconds for _, seconds in rows)
    apart = irq_time_apart()
    irq_inside = not apart if apart is not None else tasks + irq > 1.03 * busy
    if not irq_inside:
        rows.append(("kernel, interrupts and softirqs (loopback delivery)", irq))
    rows.append(("the rest (other processes, other kernel work)",
                 max(busy - sum(seconds for _, seconds in rows), 0.0)))
    return rows, irq_inside


def report(m, outdir):
    """Prints the report and writes cpusplit.json. Returns 0."""
    cpus = len(m["per_cpu"])
    rows, irq_inside = split(m)
    busy, irq = m["busy"], m["irq"]
    total = sum(seconds for _, seconds in rows)
    per_request = lambda seconds: seconds / m["requests"] * 1e6
    print(f"utilisation: {cpus} CPUs, {m['wall']:.1f} s of wrk: "
          + ", ".join(f"{name} {100 * c['busy'] / max(c['busy'] + c['idle'], 1e-9):.0f}% busy"
                      for name, c in m["per_cpu"].items()))
    if m["waited"] is not None:
        print(f"saturation: the server's threads waited {m['waited']:.2f} s for a CPU, runnable,"
              f" {m['waited'] / m['requests'] * 1e6:.1f} µs per request (schedstat)")
    else:
        print("saturation: not here (this kernel keeps no scheduler statistics, schedstat)")
    steal = sum(c["steal"] for c in m["per_cpu"].values())
    if steal > 0.02 * m["wall"] * cpus:
        print(f"  (and {steal:.2f} s stolen by the hypervisor: another guest ran on these CPUs)")
    if m["server_cpus"]:
        print(f"  the server on CPUs {m['server_cpus']}, wrk on {m['wrk_cpus']}")
    else:
        print(f"  the server and wrk share the {cpus} CPUs (pinned apart, each would get one)")
    print(f"wrk: {m['requests']:,} requests, {m['requests'] / m['wall']:,.0f} a second\n")
    print(f"a request's CPU, {per_request(total):.1f} µs in all:")
    for name, seconds in rows:
        print(f"  {name:<62} {per_request(seconds):6.2f} µs  {100 * seconds / total:5.1f}%")
    if irq_inside:
        print(f"  (interrupts and softirqs, {per_request(irq):.2f} µs, are inside the system times"
              " above:\n   this kernel charges them to the process they interrupted)")
    if total > 1.05 * busy:
        print(f"  (the processes' times add up to {100 * total / busy:.0f}% of the CPUs' busy time:"
              " the kernel's tick-based accounts are this coarse)")
    handler_share = 100 * rows[0][1] / total
    server = m["server_user"] + m["server_system"]
    print(f"\nthe handler is {handler_share:.1f}% of a request's CPU"
          f" ({m['handler_ns']:.0f} ns of {per_request(total) * 1000:,.0f}),"
          f" {100 * rows[0][1] / server:.1f}% of the server's ({per_request(server) * 1000:,.0f} ns)")
    if rows[0][1] >= m["server_user"]:
        print("  (capped at the server's user time: BenchmarkHi ran slower than the whole server"
              " did per request, on a busy machine)")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "cpusplit.json"), "w") as file:
        json.dump({"requests": m["requests"], "wall_s": m["wall"], "busy_s": busy,
                   "irq_s": irq, "irq_inside": irq_inside,
                   "cpus": {name: c for name, c in m["per_cpu"].items()},
                   "server_cpus": m["server_cpus"], "wrk_cpus": m["wrk_cpus"],
                   "rows": [{"name": n, "cpu_s": s, "us_per_request": per_request(s)} for n, s in rows],
                   "handler_percent": handler_share}, file, indent=1)
    return 0


def main(argv):
    if len(argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    server, bench, outdir = argv[1:]
    if not shutil.which("wrk"):
        fail("wrk is not installed; run: make deps-bench")
    with tempfile.TemporaryDirectory() as directory:
        m = measure(server, bench, os.environ.get("DURATION") or "5s",
                    os.environ.get("WRK_CONNECTIONS") or "50", directory)
    return report(m, outdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
