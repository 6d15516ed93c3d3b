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

--rps gives each connection a schedule; -m 1 keeps one request in
flight per connection, as a browser's keep-alive connection does (more,
HTTP/1.1 pipelining, lets civetweb read many requests in one recv: a
cheaper workload than wrk's, twice its req/s here). h2load times each
request from when it sent it, and a request due while its connection
still waits is sent late: h2load's own latencies leave that wait out,
the coordinated omission again. What it cannot hide is how many
requests fell due and were never sent: at the run's end they are the
queue, and a user arriving then waits at least that queue divided by
the rate the server answered. The rates are fractions of the
closed-loop capacity wrk finds first, up to half again beyond it, where
the queue grows for as long as the run lasts (there is no steady state
past the knee: a longer run draws it higher).

h2load's timers fire in bursts (its connections' timers start together),
so below the knee its own latencies include a burst's wait at the
server, and the queue at the end is a few requests, not zero.

Prints a table, and writes OUTDIR/latency.json and OUTDIR/latency.png.
Environment: SECONDS_PER_RATE (2).
"""
import json
import os
import re
import shutil
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
    failed, the latencies h2load measured, from each request's send,
    sorted, in ms; how many requests fell due and were never sent)."""
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
        latencies = sorted(int(fields[2]) / 1000 for fields in (line.split("\t") for line in file)
                           if len(fields) >= 3)
    if not latencies:
        fail(f"h2load logged no request at {rate:.0f} req/s")
    return float(achieved[1]), int(failed[1]) if failed else 0, latencies, \
        max(0, round(rate * seconds) - len(latencies))


def plot(outdir, title, capacity, rows):
    """Draws latency.png with gnuplot: against the offered rate, h2load's
    p50 and p99, and the wait the queue at the run's end means."""
    data = os.path.join(outdir, "latency.dat")
    with open(data, "w") as file:
        for row in rows:
            queue = f"{row['queue_ms']:.4f}" if row["queue_ms"] > 0 else "NaN"
            file.write(f"{row['offered']:.0f} {row['p50_ms']:.4f} {row['p99_ms']:.4f} {queue}\n")
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
plot "{data}" using 1:4 with linespoints lw 2 pt 7 lc rgb "#c0392b" \\
         title "the wait of a user arriving at the run's end: the queue / the rate answered", \\
     "{data}" using 1:3 with linespoints lw 2 pt 6 dashtype 2 lc rgb "#7d7d7d" \\
         title "p99, from when h2load sent each (what it reports)", \\
     "{data}" using 1:2 with linespoints lw 2 pt 6 lc rgb "#2471a3" \\
         title "p50, from when h2load sent each"
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
            print(f"  {'offered req/s':>14} {'answered':>10} {'p50 ms':>9} {'p99 ms':>9}"
                  f" {'unsent at end':>14} {'its wait ms':>12}")
            rows = []
            for fraction in FRACTIONS:
                rate = fraction * capacity
                achieved, failed, latencies, unsent = offer(port, rate, seconds,
                                                            os.path.join(directory, "log"))
                row = {"offered": rate, "achieved": achieved, "failed": failed, "requests": len(latencies),
                       "unsent": unsent, "queue_ms": 1000 * unsent / achieved if achieved else 0.0,
                       "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99)}
                rows.append(row)
                print(f"  {rate:14,.0f} {achieved:10,.0f} {row['p50_ms']:9.2f} {row['p99_ms']:9.2f}"
                      f" {unsent:14,} {row['queue_ms']:12.1f}" + (f"  {failed} failed" if failed else ""))
        finally:
            process.terminate()
            process.wait(timeout=20)
    print("  p50, p99: what h2load reports, each request timed from its send, which leaves out the wait\n"
          "  of one due while its connection was busy. Unsent at end: requests due and never sent, the\n"
          "  queue; its wait: that queue at the rate answered, what a user arriving then waits at least.\n"
          "  Past the knee the queue grows for as long as the run lasts.")
    with open(os.path.join(outdir, "latency.json"), "w") as file:
        json.dump({"capacity": capacity, "seconds": seconds, "rows": rows}, file, indent=1)
    plot(outdir, f"{unit}: latency against the offered rate ({seconds} s per rate)", capacity, rows)
    print(f"wrote {os.path.join(outdir, 'latency.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
