#!/usr/bin/python3
"""check.py - the challenge's checker: which problems a handler still has,
measured, never read from its source.

  check.py measure UNIT-OUTDIR LABEL [--expect=fixed|present]
      Measures the handler built into UNIT-OUTDIR (its bench and
      bench-uncounted, as mk/measure.mk builds them) and prints, problem by
      problem, what was measured and whether the problem is still there.
      Writes UNIT-OUTDIR/problems/report.json, which `hint` reads.
      Exits 0 when every problem is fixed; with --expect=present (the
      challenge as given, in make test), when every problem is there.

  check.py hint REPORT STATE [PROBLEM]
      Prints the next hint for the first problem REPORT says is left (or
      for PROBLEM, one of the names the report shows): first which tool
      shows it, then where to look, then what to change. STATE (a file)
      remembers how many hints each problem has had.

Every fact is a measurement of the running code, so a fix written
differently from challenge/solution/hi.c passes as long as it removes the
cost. The measurements are exact counts (valgrind's callgrind, strace,
the benchmark's allocation counter), not times: the same on every run,
however busy the machine is. From one laptop to the next they move by a
few percent (compiler, libc, the size of the environment); the verdicts
do not, since each is a relation or a count that should be 0. The
features the challenge asks to keep are checked too (missing_features).
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import instr  # noqa: E402  (bench/instr.py: callgrind's counts, and which functions lock)

# The lengths of query the growth check sends: color=red and then one
# more parameter, padded out.
QUERY_LENGTHS = (64, 256, 1024)
# Variables added to the environment for the environment check.
EXTRA_VARIABLES = 500
# Requests in each strace run (the system-call check takes the difference
# of two runs, so that start-up and exit cancel out).
STRACE_CALLS = (2000, 6000)
# A count per request below this is fixed: once in a hundred requests or
# less (a cost paid in batches, say) no longer shows in any profile.
RARE = 0.01
# What allocates: calls of these, counted by callgrind, exact per request.
ALLOCATING = re.compile(r"^(malloc|calloc|realloc|reallocarray|aligned_alloc|posix_memalign|memalign)$")


def fail(message):
    """Prints message and exits 2: the measurement itself went wrong."""
    print(f"check: {message}", file=sys.stderr)
    sys.exit(2)


def number(value):
    """Formats a per-request count: whole numbers as such (2, not 2.00),
    others as instr.py formats them."""
    return f"{value:.0f}" if value == int(value) else instr.per_op(value)


def padded_query(length):
    """Returns a query of exactly length bytes that asks for color=red."""
    start = "color=red&ref="
    return start + "x" * (length - len(start))


# ============================ Measuring =======================================

RUNS = {}


def bench_env(**settings):
    """Returns the environment for a run of the unit's benchmarks: the
    caller's, without the variables that would change what is measured
    (HI_DEBUG, BENCH_QUERY, BENCH_JSON, BENCH_ALLOCS_MAX), plus settings."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("HI_DEBUG", "BENCH_QUERY", "BENCH_JSON", "BENCH_ALLOCS_MAX")}
    env.update(settings)
    return env


def callgrind(unit, name, query=None, extra_env=None):
    """Runs bench/instr.py on the unit's bench-uncounted and returns its
    instr.json: instructions per request, and per function the instructions
    and calls. query replaces color=red; extra_env is added to the
    environment. The run's files go to UNIT/problems/NAME/; a second call
    with the same NAME returns the first one's result."""
    if (unit, name) in RUNS:
        return RUNS[unit, name]
    env = bench_env(**(extra_env or {}))
    if query is not None:
        env["BENCH_QUERY"] = query
    outdir = os.path.join(unit, "problems", name)
    done = subprocess.run([os.path.join(ROOT, "bench", "instr.py"), "run",
                           os.path.join(unit, "bench-uncounted"), outdir],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"callgrind ({name}) failed:\n{done.stdout}{done.stderr}")
    with open(os.path.join(outdir, "instr.json")) as file:
        RUNS[unit, name] = json.load(file)
    return RUNS[unit, name]


def bytes_per_request(unit):
    """Returns BenchmarkHi's B/op, from the unit's bench, which counts every
    byte malloc, calloc and realloc hand out (bench/alloc_count.c)."""
    env = bench_env(BENCH="^BenchmarkHi$", BENCHTIME="20000x", COUNT="1")
    done = subprocess.run([os.path.join(unit, "bench")], env=env, capture_output=True, text=True)
    line = re.search(r"^BenchmarkHi-\d+\s.*?([\d.]+) B/op", done.stdout, re.M)
    if done.returncode != 0 or not line:
        fail(f"BenchmarkHi did not run:\n{done.stdout}{done.stderr}")
    return float(line[1])


class Skipped(Exception):
    """A measurement that this machine cannot take, and why."""


def strace_counts(unit, calls):
    """Runs BenchmarkHi for calls requests under strace -c -f and returns
    {system call: times called} for the whole run."""
    summary = os.path.join(unit, "problems", f"strace-{calls}.txt")
    env = bench_env(BENCH="^BenchmarkHi$", BENCHTIME=f"{calls}x", COUNT="1")
    if shutil.which("strace") is None:
        raise Skipped("strace is not installed (make deps-perf installs it)")
    done = subprocess.run(["strace", "-c", "-f", "-o", summary, os.path.join(unit, "bench")],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(summary):
        raise Skipped("strace may not trace here (a container needs --cap-add=SYS_PTRACE): "
                      + (done.stderr.strip().splitlines() or ["no message"])[-1])
    counts = {}
    with open(summary) as file:
        for line in file:
            fields = line.split()
            # "% time  seconds  usecs/call  calls  [errors]  syscall"
            if len(fields) >= 5 and re.fullmatch(r"[\d.]+", fields[0]) and fields[-1] != "total":
                counts[fields[-1]] = int(fields[3])
    return counts


def syscalls_per_request(unit):
    """Returns {system call: times per request} inside BenchmarkHi's loop:
    the difference between a short and a long run, per extra request."""
    few, many = (strace_counts(unit, calls) for calls in STRACE_CALLS)
    extra = STRACE_CALLS[1] - STRACE_CALLS[0]
    return {name: (many.get(name, 0) - few.get(name, 0)) / extra
            for name in set(few) | set(many) if many.get(name, 0) != few.get(name, 0)}


# ============================ The problems ====================================

# Each problem: a name, and a function that measures the unit and returns
# (still there?, what was measured). The hints are in HINTS, below.

def allocation_problem(unit):
    run = callgrind(unit, "plain")
    allocs = sum(row["calls"] for row in run["functions"] if ALLOCATING.match(row["function"]))
    bytes_ = bytes_per_request(unit)
    return allocs >= RARE, (f"allocations per request: {number(allocs)}"
                            f" ({number(bytes_)} B/op in BenchmarkHi); want 0")


def query_length_problem(unit):
    # HI_DEBUG=1, so that work the log does only when it is on is counted too.
    runs = [callgrind(unit, f"query-{length}", padded_query(length), {"HI_DEBUG": "1"})
            for length in QUERY_LENGTHS]
    short, middle, long_ = (run["per_op"] for run in runs)
    first = (middle - short) / (QUERY_LENGTHS[1] - QUERY_LENGTHS[0])
    second = (long_ - middle) / (QUERY_LENGTHS[2] - QUERY_LENGTHS[1])
    ratio = second / first if first > 0 else 1.0
    return ratio > 1.25, (f"each byte of query costs {second:.1f} instructions from"
                          f" {QUERY_LENGTHS[1]} to {QUERY_LENGTHS[2]} bytes, {first:.1f} from"
                          f" {QUERY_LENGTHS[0]} to {QUERY_LENGTHS[1]} (x{ratio:.2f}; want under"
                          f" x1.25, a cost that grows no faster than the query)")


def lock_problem(unit):
    run = callgrind(unit, "plain")
    locks = {row["function"]: row["calls"] for row in run["functions"]
             if instr.LOCKING.search(row["function"]) and "unlock" not in row["function"]}
    total = sum(locks.values())
    return total >= RARE, f"locks taken per request: {number(total)}; want 0"


def syscall_problem(unit):
    calls = {name: count for name, count in syscalls_per_request(unit).items() if count > 0}
    total = sum(calls.values())
    named = ", ".join(f"{name} {number(count)}" for name, count in
                      sorted(calls.items(), key=lambda item: -item[1]) if count >= RARE)
    return total >= RARE, (f"system calls per request: {number(total)}"
                           + (f" ({named})" if named else "") + "; want 0")


def environment_problem(unit):
    plain = callgrind(unit, "plain")
    padding = {f"CHALLENGE_PADDING_{i}": "a value as long as a path, /usr/local/bin"
               for i in range(EXTRA_VARIABLES)}
    padded = callgrind(unit, "environment", extra_env=padding)
    delta = padded["per_op"] - plain["per_op"]
    return delta >= 50, (f"{EXTRA_VARIABLES} more environment variables cost {delta:+.0f}"
                         f" instructions per request ({number(plain['per_op'])} to"
                         f" {number(padded['per_op'])}); want no change")


PROBLEMS = [
    ("allocations", allocation_problem),
    ("query length", query_length_problem),
    ("locks", lock_problem),
    ("system calls", syscall_problem),
    ("environment", environment_problem),
]

HINTS = {
    "allocations": [
        "Which tool: make challenge memprofile (tcmalloc's heap profile of BenchmarkHi),"
        " or make challenge dhat (valgrind's DHAT, per allocation site).",
        "Where: the profile names the function that calls malloc. Follow it up to the"
        " helper of ours it is in.",
        "What: the page is already built in a buffer on the stack. Could the helper"
        " write its result straight into the page, rather than into memory of its own?",
    ],
    "query length": [
        "Which tool: callgrind, with a short query and a long one. make challenge instr"
        " is the short one; the long one: BENCH_QUERY=\"color=red&ref=$(printf '%01000d' 0)\""
        " bench/instr.py run out/challenge/bench-uncounted out/challenge/instr-long."
        " Compare the functions.",
        "Where: the function whose instructions grow most is from libc. Which line of"
        " ours calls it, and how often per request? out/challenge/instr-long/annotate.txt"
        " has our source lines with their counts.",
        "What: a loop that asks for the length of a string it is building walks the"
        " whole string on every pass. Keep the length in a variable instead.",
    ],
    "locks": [
        "Which tool: make challenge blockprofile (mutex contention under"
        " BenchmarkHiParallel); make challenge instr lists every function the request"
        " path runs, locks included.",
        "Where: the contention profile names the function that takes the lock, and"
        " what that lock protects.",
        "What: stage 3 counted visitors without a lock. Does anything that lock"
        " protects need more than that?",
    ],
    "system calls": [
        "Which tool: make challenge syscalls (the live server's system calls per"
        " request), or strace -f -c on out/challenge/bench.",
        "Where: one system call runs twice per request and is not about the network."
        " BENCH=^BenchmarkHi$ BENCHTIME=3x strace -f -k -e trace=NAME out/challenge/bench"
        " prints each call with its arguments (and, where it can, its stack). The harness"
        " makes a few of its own, and one warm-up request comes before the three: which"
        " calls come eight times, twice per request?",
        "What: not every clock is in the vDSO. Does the number it feeds need a reading"
        " on every request, or only at the start and the end?",
    ],
    "environment": [
        "Which tool: callgrind, in a small environment and in a big one. make challenge"
        " instr is the small one; the big one: env $(seq -f 'X%g=1' 500) bench/instr.py"
        " run out/challenge/bench-uncounted out/challenge/instr-env. Compare the functions.",
        "Where: the function that grows reads the environment. Which line of ours calls"
        " it, and how often per request? out/challenge/instr-env/annotate.txt shows it.",
        "What: a running process's environment does not change under it. Read it once,"
        " in hi_init().",
    ],
}


# ============================ The features ===================================

def missing_features(unit):
    """Returns what the handler no longer does of what the challenge asks
    it to keep (empty when all is there): with HI_DEBUG=1, a long query
    logged whole and made printable, and the statistics at the end."""
    query = padded_query(QUERY_LENGTHS[-1] - 3) + "%0A"   # a newline, escaped in the URL
    env = bench_env(BENCH="^BenchmarkHi$", BENCHTIME="3x", COUNT="1", HI_DEBUG="1",
                    BENCH_QUERY=query)
    done = subprocess.run([os.path.join(unit, "bench")], env=env, capture_output=True, text=True)
    missing = []
    if f"hi: GET /hi?{query}\n" not in done.stderr:
        missing.append(f"HI_DEBUG=1 no longer logs a {len(query)}-byte query whole"
                       f" (want a line \"hi: GET /hi?{query[:24]}...\" on stderr)")
    if not re.search(r"^hi: \d+ pages \(\d+ bytes\), \d+ rejected", done.stderr, re.M):
        missing.append("HI_DEBUG=1 no longer prints the statistics when it stops"
                       " (want \"hi: N pages (B bytes), R rejected, ...\" on stderr)")
    return missing


def note_skipped(unit, skipped):
    """Leaves OUT/skipped/UNIT-problems.txt, which make test's count reads,
    when a measurement could not be taken here; removes it otherwise."""
    path = os.path.join(os.path.dirname(os.path.abspath(unit)), "skipped",
                        os.path.basename(os.path.abspath(unit)) + "-problems.txt")
    if not skipped:
        if os.path.exists(path):
            os.remove(path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        file.write(f"{os.path.basename(os.path.abspath(unit))} problems: {'; '.join(skipped)}\n")


# ============================ Commands ========================================

def measure(unit, label, expect):
    """The measure subcommand. Returns the exit status."""
    for binary in ("bench", "bench-uncounted"):
        if not os.access(os.path.join(unit, binary), os.X_OK):
            fail(f"no {binary} in {unit}: build it first (make challenge test does)")
    os.makedirs(os.path.join(unit, "problems"), exist_ok=True)
    print(f"--- {label}: the challenge's problems, measured")
    missing = missing_features(unit)
    report, skipped = [], []
    for name, problem in PROBLEMS:
        try:
            present, fact = problem(unit)
        except Skipped as why:
            skipped.append(f"{name}: {why}")
            print(f"{'SKIPPED':<12} {name:<13} {why}")
            continue
        report.append({"problem": name, "present": present, "measured": fact})
        print(f"{'still there' if present else 'fixed':<12} {name:<13} {fact}")
    with open(os.path.join(unit, "problems", "report.json"), "w") as file:
        json.dump(report, file, indent=1)
    note_skipped(unit, skipped)
    for feature in missing:
        print(f"FAIL: {label}: {feature}. Keep every feature: removing one is not a fix")
    if missing:
        return 1
    left = [row["problem"] for row in report if row["present"]]
    if expect == "present":
        fixed = [row["problem"] for row in report if not row["present"]]
        if fixed:
            print(f"FAIL: {label} should have every problem, and its tools no longer see:"
                  f" {', '.join(fixed)}")
            return 1
        print(f"PASS: {label}: all {len(report)} problems measured are there, each seen by its"
              f" measurement{' (' + str(len(skipped)) + ' skipped)' if skipped else ''}")
        return 0
    if left:
        print(f"{label}: {len(left)} of {len(report)} problems left ({', '.join(left)})."
              " make challenge hint gives one hint at a time.")
        return 1
    print(f"PASS: {label}: all {len(report)} problems measured are fixed"
          f"{' (' + str(len(skipped)) + ' skipped)' if skipped else ''}, every feature kept")
    return 0


def hint(report_path, state_path, wanted=""):
    """The hint subcommand: the next hint for the first problem left, or
    for the problem named wanted. Returns the exit status."""
    if not os.path.exists(report_path):
        print("No measurements of your copy yet: make challenge test measures it, problem by"
              " problem. Then make challenge hint.")
        return 0
    with open(report_path) as file:
        left = [row for row in json.load(file) if row["present"]]
    if wanted:
        if wanted not in HINTS:
            print(f"There is no problem called {wanted!r}; they are: {', '.join(HINTS)}")
            return 2
        left = [row for row in left if row["problem"] == wanted]
        if not left:
            print(f"{wanted}: fixed, as your last make challenge test measured.")
            return 0
    if not left:
        print("Every problem is fixed, as your last make challenge test measured. Nothing to hint.")
        return 0
    given = {}
    if os.path.exists(state_path):
        with open(state_path) as file:
            given = json.load(file)
    problem = left[0]
    name = problem["problem"]
    hints = HINTS[name]
    shown = min(given.get(name, 0), len(hints) - 1)
    print(f"{name}: {problem['measured']}")
    print(f"hint {shown + 1} of {len(hints)}: {hints[shown]}")
    if shown + 1 < len(hints):
        print("(make challenge hint again for the next one;"
              " PROBLEM=\"name\" for another problem's)")
    else:
        print("(the last hint for this one; make challenge solution shows the reference fix)")
    given[name] = shown + 1
    with open(state_path, "w") as file:
        json.dump(given, file)
    return 0


def main(argv):
    if len(argv) in (4, 5) and argv[1] == "measure":
        expect = argv[4] if len(argv) == 5 else "--expect=fixed"
        if expect not in ("--expect=fixed", "--expect=present"):
            fail(f"unknown {expect}: want --expect=fixed or --expect=present")
        return measure(argv[2], argv[3], expect.split("=")[1])
    if len(argv) in (4, 5) and argv[1] == "hint":
        return hint(*argv[2:])
    print("usage: check.py measure UNIT-OUTDIR LABEL [--expect=fixed|present]"
          " | hint REPORT STATE [PROBLEM]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
