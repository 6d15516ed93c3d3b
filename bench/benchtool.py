#!/usr/bin/python3
"""benchtool.py - compare benchmark runs between stages, with statistics.

  benchtool.py benchcmp OUTDIR [LABEL=]BENCH [LABEL=]BENCH...
      Runs the benchmark binaries COUNT times each (default 10), in a
      fresh random order every round so that none always runs first on a
      warming or cooling machine, and prints benchstat's tables: per
      benchmark, the median with its 95% confidence interval for each
      binary, and each one's delta from the first with the Mann-Whitney
      U test's p-value. It writes Google Benchmark JSON for each; with
      two binaries, Debian's compare.py also gives its view.

  benchtool.py compare OUTDIR STAGE-DIR...
      Runs BenchmarkHi and BenchmarkHiParallel (COUNT=6 times each) and a
      wrk load test (LOAD_COUNT=6 times, DURATION=2s) for every stage, the
      stages in a fresh random order every round, then writes
      OUTDIR/compare.md (the table), compare.json and compare.png (the
      chart, with error bars). Each STAGE-DIR holds a stage's bench and
      server binaries, and instr/instr.json from its instr target.

Every time figure is a median with its confidence interval, and every
difference comes with a p-value, as benchstat prints them (benchstats.py).
Only figures measured in this one run are compared with each other.
"""
import contextlib
import io
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

import benchstats

COMPARE_PY = "/usr/share/benchmark/compare.py"



def waited_for_cpu(run):
    """Returns whether a benchmark run's threads waited for a CPU long
    enough that it measured the machine, not the code: bench.c's verdict
    (waited_for_cpu there), which it writes into the JSON."""
    return run.get("cpu_waited", False)

def fail(message):
    """Prints message and exits with status 1."""
    print(f"benchtool: {message}", file=sys.stderr)
    sys.exit(1)


# ============================ Running the benchmarks =========================

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


def collect(binary, runs, bench_filter, benchtime):
    """Runs binary once and appends each result to runs[name]."""
    for result in run_bench(binary, bench_filter, benchtime):
        runs.setdefault(result["name"], []).append(result)
    return runs


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
    return {"context": {"executable": "bench", "num_cpus": len(os.sched_getaffinity(0))}, "benchmarks": entries}


def positive_setting(name, default):
    """Returns the environment's whole-number setting name, or default;
    exits with a message for anything else than a number from 1."""
    text = os.environ.get(name) or str(default)
    if not text.isdigit() or int(text) < 1:
        fail(f"{name}={text}: want a whole number from 1")
    return int(text)


def warn_about_count(count, what="runs"):
    """Says, before any time is spent, what count runs cannot show."""
    if count < benchstats.runs_to_detect():
        print(f"benchtool: WARNING: with {count} {what} each, no difference can reach"
              f" p <= {benchstats.ALPHA}: every delta will print as ~. Use COUNT="
              f"{benchstats.minimum_runs()} or more.", file=sys.stderr)
    elif count < benchstats.minimum_runs():
        print(f"benchtool: WARNING: with {count} {what}, the median's 95% confidence"
              f" interval is unbounded (± ∞): it needs {benchstats.minimum_runs()}.",
              file=sys.stderr)


def progress(message, interactive):
    """Shows a progress line: rewritten in place on a terminal, where "\\r"
    works; in a log file, nothing (it would glue the rounds together)."""
    if interactive:
        print(f"\r{message}", end="", file=sys.stderr, flush=True)


def run_rounds(count, binaries, bench_filter, benchtime):
    """Runs each of binaries once per round, COUNT rounds, in a fresh
    random order every round (a slow minute on the machine then touches
    them all a little, not one a lot). Returns each binary's runs,
    {name: [entry, ...]}, in the order of binaries."""
    warn_about_count(count)
    runs = [{} for _ in binaries]
    interactive = sys.stderr.isatty()
    for round_number in range(count):
        progress(f"round {round_number + 1}/{count}", interactive)
        order = list(range(len(binaries)))
        random.shuffle(order)
        for index in order:
            collect(binaries[index], runs[index], bench_filter, benchtime)
    print("" if interactive else f"{count} rounds done", file=sys.stderr)
    return runs


# ============================ benchcmp =======================================

def benchcmp(outdir, specs):
    """The benchcmp subcommand. Returns the exit status."""
    count = positive_setting("COUNT", 10)
    benchtime = os.environ.get("BENCHTIME") or "0.2s"
    bench_filter = os.environ.get("BENCH") or "^BenchmarkHi"
    columns = [spec.split("=", 1) if "=" in spec else (("old", "new", "third")[i], spec)
               for i, spec in enumerate(specs)]
    if not os.path.exists(COMPARE_PY):
        fail(f"{COMPARE_PY} is missing; run: make deps (package libbenchmark-tools)")
    runs = run_rounds(count, [binary for _, binary in columns], bench_filter, benchtime)
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for (label, binary), binary_runs in zip(columns, runs):
        path = os.path.join(outdir, re.sub(r"\W+", "-", label).strip("-") + ".json")
        with open(path, "w") as file:
            json.dump(google_json(binary_runs), file, indent=1)
        paths.append(path)
        print(f"{label}: {binary}")
    print(f"{count} runs each, BENCHTIME={benchtime}, in a random order every round\n")
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        print_benchstat([label for label, _ in columns], runs)
    print(table.getvalue(), end="")
    with open(os.path.join(outdir, "benchstat.txt"), "w") as file:
        file.write(table.getvalue())
    if len(paths) != 2:
        return 0
    # Google Benchmark's own view of the same JSON, in a file: its lines
    # are wider than a terminal.
    view = os.path.join(outdir, "compare-py.txt")
    with open(view, "w") as file:
        done = subprocess.run(["/usr/bin/python3", COMPARE_PY, "--no-color", "-a", "benchmarks", *paths],
                              stdout=file, stderr=subprocess.STDOUT)
    print(f"compare.py's view of the same runs (Time and CPU deltas, U test p-values):\n  {view}")
    return done.returncode


# ============================ variants =======================================

def variants(outdir, binary, pairs):
    """The variants subcommand: benchmarks of one binary side by side, as
    benchcmp sets stages side by side. pairs are "OLD:NEW" benchmark
    names; every benchmark named runs in each of COUNT runs, so that each
    pair is measured in the same moments. Returns 0."""
    count = positive_setting("COUNT", 10)
    benchtime = os.environ.get("BENCHTIME") or "0.2s"
    pairs = [pair.split(":", 1) for pair in pairs]
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    runs = run_rounds(count, [binary], "^(" + "|".join(names) + ")$", benchtime)[0]
    # The JSON names carry the CPU count, as Go's do: BenchmarkHi-2.
    runs = {re.sub(r"-\d+$", "", name): results for name, results in runs.items()}
    missing = [name for name in names if name not in runs]
    if missing:
        fail(f"{binary} has no {', '.join(missing)}")
    print(f"{binary}: {count} runs, BENCHTIME={benchtime}\n")
    prefix = os.path.commonprefix(names)
    label = lambda name: name[len(prefix):] or name
    width = max(len(f"{label(new)} vs {label(old)}") for old, new in pairs) + 2
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        print(f"{prefix + ' time/op':{width}} {'old':>16} {'new':>16}   delta")
        for old, new in pairs:
            before, after = ([r["real_time"] for r in runs[name]] for name in (old, new))
            p = benchstats.u_test(before, after)
            change = benchstats.delta(p, statistics.median(before), statistics.median(after))
            print(f"{label(new) + ' vs ' + label(old):{width}} {cell(before, 'real_time', 'ns'):>16}"
                  f" {cell(after, 'real_time', 'ns'):>16}   {change} (p={p:.3f} n={len(before)}+{len(after)})")
        waited = [f"{label(name)} {sum(map(waited_for_cpu, runs[name]))}" for name in names
                  if any(map(waited_for_cpu, runs[name]))]
        if waited:
            print("\nnote: runs whose threads waited for a CPU more than 10% of the time (another process,\n"
                  "      or the hypervisor, held it): contention costs only while both threads run at\n"
                  "      once, and such runs understate it. Of " + str(count) + ":")
            print(textwrap.fill(", ".join(waited), 96, initial_indent="      ", subsequent_indent="      "))
    print(table.getvalue(), end="")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "benchstat.txt"), "w") as file:
        file.write(table.getvalue())
    return 0


# benchstat's three tables: the JSON field, its column title, its unit.
METRICS = (("real_time", "time/op", "ns"), ("bytes_per_op", "alloc/op", "B"),
           ("allocs_per_op", "allocs/op", ""))


def cell(values, field, unit):
    """Returns one benchstat cell: "median unit ± x%"."""
    result = benchstats.summary(values)
    decimals = 1 if field == "real_time" else 0
    return f"{result['median']:.{decimals}f}{unit} ± {result['pct']}"


def print_benchstat(labels, runs, metrics=METRICS, pairs=None):
    """Prints the runs side by side as benchstat does: per metric, each
    column's median ± its 95% confidence interval, and for every column
    after the first its delta from the first with the p-value and the
    number of runs; a third column (make work cmp's reference stage) is
    also compared with the second (pairs: which to compare, (old, new)
    indexes). A delta the runs cannot tell from noise
    (p > 0.05) prints as "~". Runs whose threads waited for a CPU are
    counted below the tables."""
    names = [name for name in runs[0] if all(name in other for other in runs[1:])]
    width = max(len(name) for name in names) + 2
    if pairs is None:
        pairs = [(0, i) for i in range(1, len(runs))] + ([(1, 2)] if len(runs) == 3 else [])
    # One line holds the medians and the deltas where it fits in 100
    # columns (two columns); else the deltas get lines of their own, and
    # the number of runs, when the same for all, is said once.
    apart = width + 19 * len(labels) + 34 * len(pairs) > 100
    counts = {len(column[name]) for column in runs for name in names}
    same_count = next(iter(counts)) if len(counts) == 1 else None
    for field, title, unit in metrics:
        medians = f"{title:{width}}" + "".join(f" {label:>18}" for label in labels) \
            + (f"  (n={same_count} each)" if apart and same_count else "")
        cell_width = 22 if apart else 32
        deltas = [f"  {labels[new] + ' vs ' + labels[old]:>{cell_width}}" for old, new in pairs]
        print(medians if apart else medians + "".join(deltas))
        lines = []
        for name in names:
            values = [[r[field] for r in column[name]] for column in runs]
            medians = f"{name:{width}}" + "".join(f" {cell(v, field, unit):>18}" for v in values)
            changes = []
            for old, new in pairs:
                p = benchstats.u_test(values[old], values[new])
                change = benchstats.delta(p, statistics.median(values[old]),
                                          statistics.median(values[new]))
                runs_counted = "" if apart and same_count else f" n={len(values[old])}+{len(values[new])}"
                changes.append(f"  {change + f' (p={p:.3f}{runs_counted})':>{cell_width}}")
            print(medians if apart else medians + "".join(changes))
            lines.append(f"{name:{width}}" + "".join(changes))
        if apart:
            print(f"{'':{width}}" + "".join(deltas))
            print("\n".join(lines))
        print()
    for label, column in zip(labels, runs):
        for name in names:
            waited = sum(1 for r in column[name] if waited_for_cpu(r))
            if waited:
                print(f"note: {waited} of the {name} runs of {label} waited for a CPU more than 10%"
                      " of the time:\n      another process, or the hypervisor, held it: they are slower")


# ============================ compare ========================================

def load(server, duration):
    """Runs bench/load.sh on server; returns (req/s, p50 ms, p99 ms)."""
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([os.path.join(here, "load.sh"), server], capture_output=True, text=True,
                          env=dict(os.environ, DURATION=duration))
    summary = re.search(r"^load: ([\d.]+) req/s\s+p50 ([\d.]+) ms\s+p90 [\d.]+ ms\s+p99 ([\d.]+) ms",
                        done.stdout, re.M)
    if done.returncode != 0 or not summary:
        fail(f"load test of {server} failed:\n{done.stdout}{done.stderr}")
    return float(summary[1]), float(summary[2]), float(summary[3])


def compare(outdir, stage_dirs):
    """The compare subcommand: one row per stage. Returns the exit status.

    The stages take turns, in a fresh random order every round, rather
    than each running all its repetitions in one go: a noisy minute on a
    shared machine then slows every stage a little instead of one stage
    a lot."""
    count = positive_setting("COUNT", 6)
    load_count = positive_setting("LOAD_COUNT", 6)
    benchtime = os.environ.get("BENCHTIME") or "0.5s"
    duration = os.environ.get("DURATION") or "2s"
    warn_about_count(count)
    os.makedirs(outdir, exist_ok=True)
    stages = list(range(len(stage_dirs)))
    runs = [{} for _ in stage_dirs]
    loads = [[] for _ in stage_dirs]
    for round_number in range(1, count + 1):
        print(f"benchmarks, round {round_number}/{count}", file=sys.stderr, flush=True)
        random.shuffle(stages)
        for index in stages:
            collect(os.path.join(stage_dirs[index], "bench"), runs[index], "^BenchmarkHi", benchtime)
    for round_number in range(1, load_count + 1):
        print(f"wrk load, round {round_number}/{load_count}", file=sys.stderr, flush=True)
        random.shuffle(stages)
        for index in stages:
            loads[index].append(load(os.path.join(stage_dirs[index], "server"), duration))
    rows = [stage_row(index + 1, stage_dirs[index], runs[index], loads[index])
            for index in range(len(stage_dirs))]
    for before, after in zip(rows, rows[1:]):
        for key in ("ns", "parallel"):
            p = benchstats.u_test(before[key + "_runs"], after[key + "_runs"])
            after[key + "_p"] = p
            after[key + "_delta"] = benchstats.delta(p, before[key], after[key])
    settings = {"count": count, "load_count": load_count, "benchtime": benchtime,
                "duration": duration, "cpus": cpus_of(runs[0])}
    with open(os.path.join(outdir, "compare.json"), "w") as file:
        json.dump(dict(settings, rows=rows), file, indent=1)
    write_table(outdir, rows, settings)
    write_chart(outdir, rows, settings)
    return 0


def cpus_of(runs):
    """Returns the N of the "-N" the benchmarks ran with."""
    name = next(iter(runs))
    return int(name.rsplit("-", 1)[1])


def stage_row(number, directory, runs, loads):
    """Returns one stage's row: medians, confidence intervals and the raw
    runs of its benchmarks and load tests, and its instructions/op."""
    serial = next(v for k, v in runs.items() if k.startswith("BenchmarkHi-"))
    parallel = next(v for k, v in runs.items() if k.startswith("BenchmarkHiParallel-"))
    row = {"stage": number}
    for key, values in (("ns", [r["real_time"] for r in serial]),
                        ("parallel", [r["real_time"] for r in parallel]),
                        ("rps", [requests for requests, _, _ in loads])):
        summary = benchstats.summary(values)
        row.update({key: summary["median"], key + "_lo": summary["lo"], key + "_hi": summary["hi"],
                    key + "_pct": summary["pct"], key + "_runs": values})
    row["bytes"] = statistics.median(r["bytes_per_op"] for r in serial)
    row["allocs"] = statistics.median(r["allocs_per_op"] for r in serial)
    row["p99"] = statistics.median(p99 for _, _, p99 in loads)
    row["cpu_waits"] = sum(1 for r in serial + parallel if waited_for_cpu(r))
    instr = os.path.join(directory, "instr", "instr.json")
    if not os.path.exists(instr):
        fail(f"no {instr}: run `make stage{number} instr` first (make compare does)")
    with open(instr) as file:
        row["instructions"] = json.load(file)["per_op"]
    return row


def change(row, key):
    """Returns the "vs stage before" cell: delta and p-value, or "" for stage 1."""
    if key + "_p" not in row:
        return ""
    return f"{row[key + '_delta']} (p={row[key + '_p']:.3f})"


def write_table(outdir, rows, settings):
    """Writes and prints compare.md."""
    lines = [
        f"Medians ± 95% confidence interval of {settings['count']}"
        f" run{'s' if settings['count'] != 1 else ''} per stage"
        f" (BENCHTIME={settings['benchtime']}, stages in a random order each round)"
        f" on {settings['cpus']} CPUs; server: {settings['load_count']}"
        f" run{'s' if settings['load_count'] != 1 else ''} of"
        f" wrk -t2 -c50 -d{settings['duration']} on loopback. \"~\": the runs cannot tell"
        " this stage from the one before (p > 0.05). Instructions: callgrind, exact.",
        "",
        "| stage | BenchmarkHi ns/op | vs stage before | instructions/op | B/op | allocs/op | "
        "BenchmarkHiParallel ns/op | vs stage before | server req/s | p99 ms, closed loop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['stage']} | {row['ns']:.1f} ± {row['ns_pct']} | {change(row, 'ns')} | "
            f"{row['instructions']:.0f} | {row['bytes']:.0f} | {row['allocs']:.0f} | "
            f"{row['parallel']:.1f} ± {row['parallel_pct']} | {change(row, 'parallel')} | "
            f"{row['rps']:.0f} ± {row['rps_pct']} | {row['p99']:.2f} |")
    waited = sum(row["cpu_waits"] for row in rows)
    if waited:
        lines += ["", f"{waited} benchmark run{'s' if waited != 1 else ''} waited for a CPU more than 10% of the time"
                      " (another process was busy): those stages' times are inflated."]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "compare.md"), "w") as file:
        file.write(text)
    print(text)


def write_chart(outdir, rows, settings):
    """Draws compare.png with gnuplot: ns/op per stage, serial and parallel,
    with the confidence intervals as error bars, and instructions/op."""
    if shutil.which("gnuplot") is None:
        fail("gnuplot is not installed; run: make deps (package gnuplot-nox)")
    data = os.path.join(outdir, "compare.dat")
    with open(data, "w") as file:
        for row in rows:
            # An unbounded interval (too few runs; the table says ± ∞) gets no bar.
            bounds = [row[key + end] if math.isfinite(row[key + end]) else row[key]
                      for key in ("ns", "parallel") for end in ("_lo", "_hi")]
            file.write(f"{row['stage']} {row['ns']:.1f} {bounds[0]:.1f} {bounds[1]:.1f} "
                       f"{row['parallel']:.1f} {bounds[2]:.1f} {bounds[3]:.1f} "
                       f"{row['instructions']:.0f}\n")
    script = f"""
set terminal pngcairo size 1200,500 font ",12"
set output "{os.path.join(outdir, 'compare.png')}"
set multiplot layout 1,2
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.9
set xlabel "stage"
set yrange [0:*]
set grid ytics
set key top right
set title "time per request (median, 95% CI; lower is better)"
set ylabel "ns/op"
set style histogram errorbars gap 1 lw 1.5
plot "{data}" using 2:3:4:xtic(1) title "BenchmarkHi", \\
     "" using 5:6:7 title "BenchmarkHiParallel ({settings['cpus']} threads)"
set title "instructions per request (callgrind, exact)"
set ylabel "instructions/op"
set style histogram clustered gap 1
plot "{data}" using 8:xtic(1) title "BenchmarkHi" linecolor rgb "#4c8c2b"
unset multiplot
"""
    done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if done.returncode != 0:
        fail(f"gnuplot failed: {done.stderr}")
    print(f"wrote {os.path.join(outdir, 'compare.md')}, compare.json and compare.png")


def main(argv):
    if len(argv) >= 5 and argv[1] == "benchcmp":
        return benchcmp(argv[2], argv[3:])
    if len(argv) >= 4 and argv[1] == "compare":
        return compare(argv[2], argv[3:])
    if len(argv) >= 5 and argv[1] == "variants":
        return variants(argv[2], argv[3], argv[4:])
    fail("usage: benchtool.py benchcmp OUTDIR [LABEL=]BENCH [LABEL=]BENCH... | compare OUTDIR STAGE-DIR..."
         " | variants OUTDIR BENCH OLD:NEW...")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
