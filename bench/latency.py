#!/usr/bin/python3
"""latency.py - the live server's latency against the rate offered to it
(make stageN latency).

  latency.py SERVER OUTDIR

wrk's latencies are closed-loop: each connection waits for its answer
before it asks again, so when the server stalls, the requests that would
have arrived meanwhile are never sent, and never counted as late
(coordinated omission). Users do not wait for each other. This offers
requests at fixed rates instead, with h2load (Debian's nghttp2-client):

  h2load --h1 -t 2 -c 50 -m 1 --rps RATE/50 -D SECONDS

--rps sends each connection's requests on a schedule; -m 1 keeps one in
flight per connection, as a browser's keep-alive connection does, and 50
connections (wrk's) can carry far more than the server answers (more,
HTTP/1.1 pipelining, lets civetweb read many requests in one recv: a
cheaper workload than wrk's, twice its req/s here). A request due while
its connection still waits for the last answer is sent late, and h2load
times it from that late send, as wrk would: so each request is also
timed from when it was due (offer()). The rates are fractions of the
closed-loop capacity wrk finds first, up to beyond it, where the queue,
and the latency from the schedule, grow for as long as the run lasts.

Prints a table, and writes OUTDIR/latency.json and OUTDIR/latency.png
(p50 and p99 against the offered rate). Environment: SECONDS_PER_RATE (2).
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from cpusplit import fail, run_wrk, start_server

FRACTIONS = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5)
CONNECTIONS = 50      # as wrk's, and within civetweb's 64 worker threads
THREADS = 2
IN_FLIGHT = 1


def percentile(values, fraction):
    """Returns the nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(fraction * len(values)) - 1))]


def offer(port, rate, seconds, log):
    """Offers rate requests a second for seconds. Returns (achieved req/s,
    failed, latencies from each request's send, latencies from its place
    in the schedule, how many were due but never sent), the latencies
    sorted, in ms.

    h2load times a request from when it sent it. Past what the server can
    keep up with, requests wait unsent, and that wait is what a user
    arriving on schedule would feel: the k-th request sent (by start time)
    was due k / rate after the schedule began, so its latency from the
    schedule is its end less that (as wrk2 corrects for coordinated
    omission). The schedule's start is the median of the first tenth's
    starts less their k / rate: h2load sends in bursts (its timer's), and
    a median does not take the earliest burst for the schedule. A request
    due but never sent by the run's end is counted as waiting until then,
    a lower bound: past the knee there is no steady state, and the
    latency grows with the run's length."""
    if os.path.exists(log):
        os.remove(log)          # h2load appends to its log file
    done = subprocess.run(["h2load", "--h1", "-t", str(THREADS), "-c", str(CONNECTIONS), "-m", str(IN_FLIGHT),
                           f"--rps={rate / CONNECTIONS:.2f}", "-D", str(seconds), "--log-file", log,
                           f"http://127.0.0.1:{port}/hi?color=red"], capture_output=True, text=True)
    achieved = re.search(r"^finished in [\d.]+\w*, ([\d.]+) req/s", done.stdout, re.M)
    failed = re.search(r"^requests: .* (\d+) failed", done.stdout, re.M)
    if done.returncode != 0 or not achieved or not os.path.exists(log):
        fail(f"h2load failed at {rate:.0f} req/s:\n{done.stdout}{done.stderr}")
    with open(log) as file:
        # start time (µs since the epoch), status, µs until the response ended
        requests = sorted((int(fields[0]), int(fields[2])) for fields in
                          (line.split("\t") for line in file) if len(fields) >= 3)
    if not requests:
        fail(f"h2load logged no request at {rate:.0f} req/s")
    interval = 1e6 / rate
    early = requests[:max(1, len(requests) // 10)]
    first = statistics.median(start - k * interval for k, (start, _) in enumerate(early))
    end = max(start + latency for start, latency in requests)
    from_send = sorted(latency / 1000 for _, latency in requests)
    from_schedule = [max(latency, start + latency - (first + k * interval)) / 1000
                     for k, (start, latency) in enumerate(requests)]
    due = int((end - first) / interval)
    from_schedule += [(end - (first + k * interval)) / 1000 for k in range(len(requests), due)]
    return (float(achieved[1]), int(failed[1]) if failed else 0, from_send, sorted(from_schedule),
            max(0, due - len(requests)))


def plot(outdir, title, capacity, rows):
    """Draws latency.png with gnuplot: p50 and p99 against the offered rate."""
    data = os.path.join(outdir, "latency.dat")
    with open(data, "w") as file:
        for row in rows:
            file.write(f"{row['offered']:.0f} {row['p50_ms']:.4f} {row['p99_ms']:.4f}"
                       f" {row['sent_p99_ms']:.4f}\n")
    script = f"""
set terminal pngcairo size 900,600 font "DejaVu Sans,11"
set output "{os.path.join(outdir, 'latency.png')}"
set title "{title}"
set xlabel "offered rate, requests per second (open loop: h2load --rps)"
set ylabel "latency, ms (log scale)"
set logscale y
set grid
set key below
set arrow from {capacity:.0f}, graph 0 to {capacity:.0f}, graph 1 nohead dashtype 2 lc rgb "#777777"
set label "wrk's closed-loop maximum" at {capacity:.0f}, graph 0.95 left offset 1,0 tc rgb "#555555"
plot "{data}" using 1:3 with linespoints lw 2 pt 7 lc rgb "#c0392b" title "p99, from when each was due", \\
     "{data}" using 1:2 with linespoints lw 2 pt 7 lc rgb "#2471a3" title "p50, from when each was due", \\
     "{data}" using 1:4 with linespoints lw 2 pt 6 dashtype 2 lc rgb "#7d7d7d" \\
         title "p99, from when h2load sent it (what it reports)"
"""
    done = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"gnuplot failed: {done.stderr}")


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    server, outdir = argv[1:]
    for tool, package in (("h2load", "nghttp2-client"), ("wrk", "wrk"), ("gnuplot", "gnuplot-nox")):
        if not shutil.which(tool):
            fail(f"{tool} is not installed; run: make deps-bench (package {package})")
    seconds = int(os.environ.get("SECONDS_PER_RATE") or "2")
    os.makedirs(outdir, exist_ok=True)
    unit = os.path.basename(os.path.dirname(os.path.abspath(server)))
    with tempfile.TemporaryDirectory() as directory:
        process, port = start_server(server, None, directory)
        try:
            requests, wall, *_ = run_wrk(port, None, f"{seconds}s", "50")
            capacity = requests / wall
            print(f"closed-loop capacity: wrk -t2 -c50 -d{seconds}s: {capacity:,.0f} req/s")
            print(f"open loop: h2load --h1 -t {THREADS} -c {CONNECTIONS} -m {IN_FLIGHT} --rps RATE/{CONNECTIONS}"
                  f" -D {seconds}, each rate in turn")
            print(f"  {'':>25}   from the schedule     from the send")
            print(f"  {'offered req/s':>14} {'achieved':>10} {'p50 ms':>9} {'p99 ms':>9}"
                  f" {'p50 ms':>9} {'p99 ms':>9}")
            rows = []
            for fraction in FRACTIONS:
                rate = fraction * capacity
                achieved, failed, sent, scheduled, unsent = offer(port, rate, seconds,
                                                                  os.path.join(directory, "log"))
                row = {"offered": rate, "achieved": achieved, "failed": failed, "requests": len(sent),
                       "unsent": unsent,
                       "p50_ms": percentile(scheduled, 0.5), "p99_ms": percentile(scheduled, 0.99),
                       "sent_p50_ms": percentile(sent, 0.5), "sent_p99_ms": percentile(sent, 0.99)}
                rows.append(row)
                note = f"  {unsent:,} never sent" if unsent > 0.01 * len(sent) else ""
                note += f"  {failed} failed" if failed else ""
                print(f"  {rate:14,.0f} {achieved:10,.0f} {row['p50_ms']:9.2f} {row['p99_ms']:9.2f}"
                      f" {row['sent_p50_ms']:9.2f} {row['sent_p99_ms']:9.2f}{note}")
        finally:
            process.terminate()
            process.wait(timeout=20)
    floor = rows[0]["p50_ms"] - rows[0]["sent_p50_ms"]
    print("  from the schedule: what a user arriving on time waits; from the send: what h2load reports,\n"
          "  which leaves out the wait of a request whose connection was still busy, or never sent\n"
          "  (counted as waiting until the run's end: past the knee latency grows with the run's length).\n"
          f"  At the lowest rate the schedule's p50 is {floor:.1f} ms above the send's: h2load's own pacing"
          " (it\n  sends in bursts), a floor under the schedule's lines")
    with open(os.path.join(outdir, "latency.json"), "w") as file:
        json.dump({"capacity": capacity, "seconds": seconds, "floor_ms": floor, "rows": rows}, file, indent=1)
    plot(outdir, f"{unit}: latency against the offered rate ({seconds} s per rate)", capacity, rows)
    print(f"wrote {os.path.join(outdir, 'latency.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
