#!/usr/bin/python3
"""benchtool.py - compare benchmark runs between stages.

  benchtool.py benchcmp OLD-BENCH NEW-BENCH OUTDIR
      Runs both benchmark binaries COUNT times (default 10), alternating
      old and new so that drift in machine speed hits both alike, and
      prints benchstat's tables (time/op, alloc/op, allocs/op: medians,
      deltas, Mann-Whitney U p-values). It also writes Google Benchmark
      JSON for each and lets Debian's compare.py print its own view.

  benchtool.py compare OUTDIR STAGE-DIR...
      Runs BenchmarkHi and BenchmarkHiParallel (COUNT times each) and a
      wrk load test for every stage, then writes OUTDIR/compare.md (a
      Markdown table of medians) and OUTDIR/compare.png (gnuplot).

Only medians taken in this one run are reported.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

COMPARE_PY = "/usr/share/benchmark/compare.py"


def fail(message):
    """Prints message and exits with status 1."""
    print(f"benchtool: {message}", file=sys.stderr)
    sys.exit(1)


def run_bench(binary, bench_filter, benchtime):
    """Runs one benchmark binary once and returns the iteration entries of
    the Google Benchmark JSON it writes (BENCH_JSON), one per benchmark."""
    with tempfile.NamedTemporaryFile(suffix=".json") as output:
        env = dict(os.environ, BENCH=bench_filter, BENCHTIME=benchtime, COUNT="1",
                   BENCH_JSON=output.name)
        done = subprocess.run([binary], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            fail(f"{binary} failed:\n{done.stdout}{done.stderr}")
        entries = json.load(output)["benchmarks"]
    results = [entry for entry in entries if entry["run_type"] == "iteration"]
    if not results:
        fail(f"{binary} ran no benchmark matching {bench_filter}")
    return results


def google_json(runs):
    """Returns Google Benchmark JSON for runs ({name: [entry, ...]}, each
    entry from a separate invocation), renumbered as repetitions of one
    run, with a median aggregate per benchmark."""
    entries = []
    for name, results in runs.items():
        for index, result in enumerate(results):
            entries.append(dict(result, repetitions=len(results), repetition_index=index))
        median = statistics.median(r["real_time"] for r in results)
        entries.append(dict(results[0], name=name + "_median", run_type="aggregate",
                            aggregate_name="median", repetitions=len(results),
                            iterations=len(results), real_time=median,
                            cpu_time=statistics.median(r["cpu_time"] for r in results)))
    return {"context": {"executable": "bench", "num_cpus": os.cpu_count()}, "benchmarks": entries}


def collect(binary, runs, bench_filter, benchtime):
    """Runs binary once and appends each result to runs[name]."""
    for result in run_bench(binary, bench_filter, benchtime):
        runs.setdefault(result["name"], []).append(result)
    return runs


def benchcmp(old, new, outdir):
    """The benchcmp subcommand. Returns the exit status."""
    count = int(os.environ.get("COUNT") or 10)
    benchtime = os.environ.get("BENCHTIME") or "0.2s"
    bench_filter = os.environ.get("BENCH") or "^BenchmarkHi"
    if not os.path.exists(COMPARE_PY):
        fail(f"{COMPARE_PY} is missing; run: make deps (package libbenchmark-tools)")
    os.makedirs(outdir, exist_ok=True)
    old_runs, new_runs = {}, {}
    # A progress line that rewrites itself on a terminal; in a log file,
    # where "\r" would glue the rounds together, one line at the end.
    interactive = sys.stderr.isatty()
    for round_number in range(count):
        if interactive:
            print(f"\rround {round_number + 1}/{count}", end="", file=sys.stderr, flush=True)
        collect(old, old_runs, bench_filter, benchtime)
        collect(new, new_runs, bench_filter, benchtime)
    print("" if interactive else f"{count} rounds done", file=sys.stderr)
    paths = []
    for label, runs in (("old", old_runs), ("new", new_runs)):
        path = os.path.join(outdir, f"{label}.json")
        with open(path, "w") as file:
            json.dump(google_json(runs), file, indent=1)
        paths.append(path)
    print(f"old: {old}\nnew: {new}\n{count} runs each, BENCHTIME={benchtime}, alternating\n")
    print_benchstat(old_runs, new_runs)
    print("compare.py (Time and CPU deltas; the U Test rows give p-values):")
    sys.stdout.flush()
    done = subprocess.run(["/usr/bin/python3", COMPARE_PY, "--no-color", "-a",
                           "benchmarks", *paths])
    return done.returncode


# benchstat's three tables: the JSON field, its column title, its unit.
METRICS = (("real_time", "time/op", "ns"), ("bytes_per_op", "alloc/op", "B"),
           ("allocs_per_op", "allocs/op", ""))


def spread(values):
    """Returns half the interquartile range of values as a percentage of
    their median: the "± x%" column, which a few outliers cannot inflate."""
    middle = statistics.median(values)
    if len(values) < 2 or middle == 0:
        return 0.0
    low, _, high = statistics.quantiles(values, n=4)
    return 100 * (high - low) / 2 / middle


def p_value(old, new):
    """Returns the two-sided Mann-Whitney U test's p-value for old and new,
    the test benchstat and compare.py use: it asks only whether one set of
    runs tends to be larger, so a slow outlier cannot fake a difference."""
    from scipy.stats import mannwhitneyu   # Debian's python3-scipy
    if len(set(old) | set(new)) == 1:
        return 1.0   # all equal (0 allocs/op before and after): no difference
    return mannwhitneyu(old, new, alternative="two-sided").pvalue


def print_benchstat(old_runs, new_runs):
    """Prints old and new side by side as benchstat does: per metric, the
    medians with their spread, the delta, and the p-value with the number
    of runs. A delta whose p-value is above 0.05 prints as "~", since
    the runs cannot tell it apart from noise."""
    names = [name for name in old_runs if name in new_runs]
    for field, title, unit in METRICS:
        print(f"{'name':30} {'old ' + title:>16} {'new ' + title:>16}  {'delta':>8}")
        for name in names:
            old = [r[field] for r in old_runs[name]]
            new = [r[field] for r in new_runs[name]]
            before, after = statistics.median(old), statistics.median(new)
            p = p_value(old, new)
            if p > 0.05:
                delta = "~"
            elif before == 0:
                delta = "+inf%"
            else:
                delta = f"{100 * (after - before) / before:+.2f}%"
            cells = [f"{value:.{1 if field == 'real_time' else 0}f}{unit} ± {spread(values):.0f}%"
                     for value, values in ((before, old), (after, new))]
            print(f"{name:30} {cells[0]:>16} {cells[1]:>16}  {delta:>8}  "
                  f"(p={p:.3f} n={len(old)}+{len(new)})")
        print()


def load(server):
    """Runs tests/load.sh on server; returns (req/s, p50 ms, p99 ms)."""
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([os.path.join(here, "load.sh"), server], capture_output=True, text=True)
    summary = re.search(r"^load: ([\d.]+) req/s\s+p50 ([\d.]+) ms\s+p90 [\d.]+ ms\s+p99 ([\d.]+) ms",
                        done.stdout, re.M)
    if done.returncode != 0 or not summary:
        fail(f"load test of {server} failed:\n{done.stdout}{done.stderr}")
    return float(summary[1]), float(summary[2]), float(summary[3])


def compare(outdir, stage_dirs):
    """The compare subcommand: one row per stage. Returns the exit status.

    The stages take turns, round after round, rather than each running all
    its repetitions in one go: a noisy minute on a shared machine then
    slows every stage a little instead of one stage a lot."""
    count = int(os.environ.get("COUNT") or 5)
    load_count = int(os.environ.get("LOAD_COUNT") or 3)
    benchtime = os.environ.get("BENCHTIME") or "0.5s"
    os.makedirs(outdir, exist_ok=True)
    runs = [{} for _ in stage_dirs]
    loads = [[] for _ in stage_dirs]
    for round_number in range(1, count + 1):
        print(f"benchmarks, round {round_number}/{count}: stages 1-{len(stage_dirs)}",
              file=sys.stderr, flush=True)
        for index, directory in enumerate(stage_dirs):
            collect(os.path.join(directory, "bench"), runs[index], "^BenchmarkHi", benchtime)
    for round_number in range(1, load_count + 1):
        print(f"wrk load, round {round_number}/{load_count}: stages 1-{len(stage_dirs)}",
              file=sys.stderr, flush=True)
        for index, directory in enumerate(stage_dirs):
            loads[index].append(load(os.path.join(directory, "server")))
    rows = [stage_row(number, runs[number - 1], loads[number - 1])
            for number in range(1, len(stage_dirs) + 1)]
    with open(os.path.join(outdir, "compare.json"), "w") as file:
        json.dump({"count": count, "load_count": load_count, "benchtime": benchtime,
                   "cpus": os.cpu_count(), "rows": rows}, file, indent=1)
    write_table(outdir, rows, count, load_count, benchtime)
    write_chart(outdir, rows)
    return 0


def stage_row(number, runs, loads):
    """Returns one stage's row of the table: the medians of its benchmark
    runs and of its load runs (each column's median on its own)."""
    serial = next(v for k, v in runs.items() if k.startswith("BenchmarkHi-"))
    parallel = next(v for k, v in runs.items() if k.startswith("BenchmarkHiParallel-"))
    return {
        "stage": number, "ns": statistics.median(r["real_time"] for r in serial),
        "bytes": statistics.median(r["bytes_per_op"] for r in serial),
        "allocs": statistics.median(r["allocs_per_op"] for r in serial),
        "parallel": statistics.median(r["real_time"] for r in parallel),
        "rps": statistics.median(requests for requests, _, _ in loads),
        "p50": statistics.median(p50 for _, p50, _ in loads),
        "p99": statistics.median(p99 for _, _, p99 in loads),
    }


def write_table(outdir, rows, count, load_count, benchtime):
    """Writes and prints compare.md."""
    first = rows[0]["ns"]
    lines = [
        f"Medians of {count} runs per stage (BENCHTIME={benchtime}, stages taking turns) "
        f"on {os.cpu_count()} CPUs; server: medians of {load_count} runs of "
        "wrk -t2 -c50 -d5s on loopback.",
        "",
        "| stage | BenchmarkHi ns/op | vs stage 1 | B/op | allocs/op | "
        "BenchmarkHiParallel ns/op | server req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['stage']} | {row['ns']:.1f} | {first / row['ns']:.1f}x | {row['bytes']:.0f} | "
            f"{row['allocs']:.0f} | {row['parallel']:.1f} | {row['rps']:.0f} | "
            f"{row['p50']:.2f} | {row['p99']:.2f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "compare.md"), "w") as file:
        file.write(text)
    print(text)


def write_chart(outdir, rows):
    """Draws compare.png with gnuplot: ns/op per stage, serial and parallel."""
    if shutil.which("gnuplot") is None:
        fail("gnuplot is not installed; run: make deps (package gnuplot-nox)")
    data = os.path.join(outdir, "compare.dat")
    with open(data, "w") as file:
        for row in rows:
            file.write(f"{row['stage']} {row['ns']:.1f} {row['parallel']:.1f}\n")
    script = f"""
set terminal pngcairo size 900,500 font ",12"
set output "{os.path.join(outdir, 'compare.png')}"
set title "GET /hi handler cost per stage (median ns/op, lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xlabel "stage"
set ylabel "ns/op"
set yrange [0:*]
set grid ytics
set key top right
plot "{data}" using 2:xtic(1) title "BenchmarkHi (serial)", \\
     "" using 3 title "BenchmarkHiParallel ({os.cpu_count()} threads)"
"""
    done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if done.returncode != 0:
        fail(f"gnuplot failed: {done.stderr}")
    print(f"wrote {os.path.join(outdir, 'compare.md')} and {os.path.join(outdir, 'compare.png')}")


def main(argv):
    if len(argv) == 5 and argv[1] == "benchcmp":
        return benchcmp(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "compare":
        return compare(argv[2], argv[3:])
    fail("usage: benchtool.py benchcmp OLD NEW OUTDIR | compare OUTDIR STAGE-DIR...")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
