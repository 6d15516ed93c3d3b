#!/usr/bin/python3
"""check.py - the challenge's checker: which problems a handler still has,
measured, never read from its source.

  check.py measure UNIT-OUTDIR LABEL [--expect=fixed|present] [--name-fixed]
      Measures the handler built into UNIT-OUTDIR (its bench and
      bench-uncounted, as mk/measure.mk builds them), problem by problem,
      and says how many are still there. It names no problem that is still
      there: finding them is the challenge, and `hint` is the one way to
      hear of one. With --name-fixed (the attendee's own copy, and the
      reference solution when asked for), each fixed problem is named,
      with what was measured. Writes UNIT-OUTDIR/problems/report.json,
      keyed on what it measured (the two binaries and the environment),
      and takes it again from there while that key holds. Exits 0 when
      every problem is fixed; with --expect=present (the challenge as
      given, in make test), when every problem is there.

  check.py hint UNIT-OUTDIR STATE [N]
      Prints the next hint for the first problem still there (or the Nth
      one still there), measuring the unit again first when the report is
      missing or was made of other binaries or in another environment:
      first which tool shows it, then where to look, then what to change.
      STATE (a file) remembers how many hints each problem has had.

Every fact is a measurement of the running code, so a fix written
differently from challenge/solution/hi.c passes as long as it removes the
cost. The measurements are exact counts (valgrind's callgrind, strace,
the benchmark's allocation counter), not times: the same on every run,
however busy the machine is. From one laptop to the next they move by a
few percent (compiler, libc, the size of the environment); the verdicts
do not, since each is a relation or a count that should be 0. The
features the challenge asks to keep are checked too (missing_features).
"""
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import instr  # noqa: E402  (bench/instr.py: callgrind's counts, which functions lock, VOLATILE)

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


def say(text):
    """Prints text in lines of at most 78 columns, the later ones indented;
    a line of text that starts with four spaces (a command, to copy and
    paste) is printed as it is."""
    for number, part in enumerate(text.split("\n")):
        print(part if part.startswith("    ") else
              textwrap.fill(part, width=78, initial_indent="  " if number else "",
                            subsequent_indent="  ", break_on_hyphens=False, break_long_words=False))


def number(value):
    """Formats a per-request count: whole numbers as such (2, not 2.00),
    one under RARE as what it is, below the line ("< 0.01", which two
    decimals would round up to the line itself), others as instr.py
    formats them."""
    if 0 < value < RARE:
        return f"< {RARE}"
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
    outdir = os.path.join(unit, "problems", f"run-{len(RUNS) + 1}")
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
    summary = os.path.join(unit, "problems", f"calls-{calls}.txt")
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
    return allocs >= RARE, (f"{number(allocs)} per request ({number(bytes_)} B/op in"
                            " BenchmarkHi); want under 0.01")


def query_length_problem(unit):
    # HI_DEBUG=1, so that work the log does only when it is on is counted too.
    runs = [callgrind(unit, f"query-{length}", padded_query(length), {"HI_DEBUG": "1"})
            for length in QUERY_LENGTHS]
    short, middle, long_ = (run["per_op"] for run in runs)
    first = (middle - short) / (QUERY_LENGTHS[1] - QUERY_LENGTHS[0])
    second = (long_ - middle) / (QUERY_LENGTHS[2] - QUERY_LENGTHS[1])
    ratio = second / first if first > 0 else 1.0
    return ratio > 1.25, (f"{second:.1f} instructions a byte at {QUERY_LENGTHS[1]}-{QUERY_LENGTHS[2]}"
                          f" bytes, {first:.1f} at {QUERY_LENGTHS[0]}-{QUERY_LENGTHS[1]}"
                          f" (x{ratio:.2f}, want <1.25)")


def lock_problem(unit):
    run = callgrind(unit, "plain")
    locks = {row["function"]: row["calls"] for row in run["functions"]
             if instr.LOCKING.search(row["function"]) and "unlock" not in row["function"]}
    total = sum(locks.values())
    return total >= RARE, f"{number(total)} taken per request; want under 0.01"


def syscall_problem(unit):
    calls = {name: count for name, count in syscalls_per_request(unit).items() if count > 0}
    total = sum(calls.values())
    named = ", ".join(f"{name} {number(count)}" for name, count in
                      sorted(calls.items(), key=lambda item: -item[1]) if count >= RARE)
    return total >= RARE, (f"{number(total)} per request" + (f" ({named})" if named else "")
                           + "; want under 0.01")


def environment_problem(unit):
    plain = callgrind(unit, "plain")
    padding = {f"CHALLENGE_PADDING_{i}": "a value as long as a path, /usr/local/bin"
               for i in range(EXTRA_VARIABLES)}
    padded = callgrind(unit, "environment", extra_env=padding)
    delta = padded["per_op"] - plain["per_op"]
    return delta >= 50, (f"{EXTRA_VARIABLES} more variables cost {delta:+.0f} instructions per"
                         f" request ({number(plain['per_op'])} to {number(padded['per_op'])});"
                         " want +0")


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
        " is the short one; the long one:"
        "\n    BENCH_QUERY=\"color=red&ref=$(printf '%01000d' 0)\" \\"
        "\n        bench/instr.py run out/challenge/bench-uncounted out/challenge/instr-long"
        "\nCompare the functions.",
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
        "\n    BENCH=^BenchmarkHi$ BENCHTIME=3x strace -f -k -e trace=NAME out/challenge/bench"
        "\nprints each call with its arguments (and, where it can, its stack). The harness"
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
    logged whole, its control bytes shown as "?", and the statistics at
    the end."""
    # A raw escape byte last: a terminal would obey it, so the log must
    # show it as "?" (the benchmark hands the handler the query as it is).
    printable = padded_query(QUERY_LENGTHS[-1] - 1)
    query = printable + "\x1b"
    env = bench_env(BENCH="^BenchmarkHi$", BENCHTIME="3x", COUNT="1", HI_DEBUG="1",
                    BENCH_QUERY=query)
    done = subprocess.run([os.path.join(unit, "bench")], env=env, capture_output=True, text=True,
                          errors="replace")
    missing = []
    if f"hi: GET /hi?{query}\n" in done.stderr:
        missing.append("HI_DEBUG=1 logs a query's control bytes as they are (an escape byte"
                       " reaches the terminal), where it showed each as '?'")
    elif f"hi: GET /hi?{printable}?\n" not in done.stderr:
        missing.append(f"HI_DEBUG=1 no longer logs a {len(query)}-byte query whole"
                       f" (want a line \"hi: GET /hi?{query[:24]}...\" on stderr)")
    if not re.search(r"^hi: \d+ pages \(\d+ bytes\), \d+ rejected", done.stderr, re.M):
        missing.append("HI_DEBUG=1 no longer prints the statistics when it stops"
                       " (want \"hi: N pages (B bytes), R rejected, ...\" on stderr)")
    return missing


def note_skipped(unit, skipped):
    """Leaves OUT/skipped/UNIT-problems.txt, which make test's count reads,
    when a measurement could not be taken here; removes it otherwise.
    It says why, not which problem."""
    path = os.path.join(os.path.dirname(os.path.abspath(unit)), "skipped",
                        os.path.basename(os.path.abspath(unit)) + "-problems.txt")
    if not skipped:
        if os.path.exists(path):
            os.remove(path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        file.write(f"{os.path.basename(os.path.abspath(unit))}: {len(skipped)} of {len(PROBLEMS)}"
                   f" problems not measured here: {'; '.join(skipped)}\n")


# ============================ Commands ========================================

def measurement_key(unit):
    """Returns what a report is good for: a digest of the two binaries
    measured and of the environment they ran in (its size moves counts,
    and one problem is about the environment)."""
    digest = hashlib.sha256()
    for binary in ("bench", "bench-uncounted"):
        with open(os.path.join(unit, binary), "rb") as file:
            digest.update(file.read())
    environment = sorted((name, value) for name, value in os.environ.items()
                         if name not in instr.VOLATILE)   # make's and the shell's bookkeeping
    digest.update(json.dumps(environment).encode())
    return digest.hexdigest()


def report_path(unit):
    return os.path.join(unit, "problems", "report.json")


def measured_report(unit):
    """Returns the unit's report: the one on disk while its key holds,
    else a new measurement (which it writes): a dict with "key",
    "problems" (name, present, measured, in PROBLEMS' order), "skipped"
    (why, per measurement not taken) and "missing" (features lost)."""
    for binary in ("bench", "bench-uncounted"):
        if not os.access(os.path.join(unit, binary), os.X_OK):
            fail(f"no {binary} in {unit}: build it first (make challenge test does)")
    key = measurement_key(unit)
    if os.path.exists(report_path(unit)):
        with open(report_path(unit)) as file:
            report = json.load(file)
        if isinstance(report, dict) and report.get("key") == key:
            return report
    shutil.rmtree(os.path.join(unit, "problems"), ignore_errors=True)
    os.makedirs(os.path.join(unit, "problems"))
    report = {"key": key, "problems": [], "skipped": [], "missing": missing_features(unit)}
    for name, problem in PROBLEMS:
        try:
            present, fact = problem(unit)
        except Skipped as why:
            report["skipped"].append(str(why))
            continue
        report["problems"].append({"problem": name, "present": present, "measured": fact})
    with open(report_path(unit), "w") as file:
        json.dump(report, file, indent=1)
    note_skipped(unit, report["skipped"])
    return report


def measure(unit, label, expect, name_fixed):
    """The measure subcommand. Returns the exit status."""
    print(f"--- {label}: the challenge's problems, measured")
    report = measured_report(unit)
    problems, skipped = report["problems"], report["skipped"]
    for feature in report["missing"]:
        say(f"FAIL: {label}: {feature}. Keep every feature: removing one is not a fix")
    if report["missing"]:
        return 1
    if name_fixed:
        for row in problems:
            if not row["present"]:
                print(f"fixed: {row['problem']}: {row['measured']}")
    for why in skipped:
        say(f"not measured here: one problem's measurement: {why}")
    left = [number for number, row in enumerate(problems, 1) if row["present"]]
    measured = f"{len(problems)} problems measured" + (f", {len(skipped)} not" if skipped else "")
    if expect == "present":
        if len(left) < len(problems):
            gone = [number for number, row in enumerate(problems, 1) if not row["present"]]
            say(f"FAIL: {label} should have every problem, and its tools no longer see number"
                f" {', '.join(map(str, gone))} (challenge/SOLUTION.md's table; {report_path(unit)})")
            return 1
        print(f"PASS: {label}: {len(left)} of {measured} are there, each seen by its measurement")
        return 0
    if left:
        say(f"{label}: {len(left)} of {measured} still there, not named here: finding them is"
            " the challenge. make challenge hint gives one hint at a time.")
        return 1
    print(f"PASS: {label}: all {measured} are fixed, every feature kept")
    return 0


def hint(unit, state_path, wanted=""):
    """The hint subcommand: the next hint for the first problem still
    there, or for the wanted-th one still there. Returns the exit status."""
    report = measured_report(unit)
    left = [row for row in report["problems"] if row["present"]]
    if not left:
        print("Every problem measured is fixed in your copy, as measured just now. Nothing to hint.")
        return 0
    if wanted and not (wanted.isdigit() and 1 <= int(wanted) <= len(left)):
        print(f"PROBLEM={wanted}: want a number from 1 to {len(left)}, one of the problems still"
              " there in the checker's order")
        return 2
    given = {}
    if os.path.exists(state_path):
        with open(state_path) as file:
            given = json.load(file)
    problem = left[int(wanted) - 1 if wanted else 0]
    name = problem["problem"]
    hints = HINTS[name]
    shown = min(given.get(name, 0), len(hints) - 1)
    # The first hint says which tool, and no more: the problem's name and
    # its measurement come with the second, when the tool has had its turn.
    if shown == 0:
        print(f"problem {wanted} of the {len(left)} still there:" if wanted
              else f"the first of the {len(left)} problems still there:")
    else:
        print(f"{name}: {problem['measured']}")
    say(f"hint {shown + 1} of {len(hints)}: {hints[shown]}")
    if shown + 1 < len(hints):
        print("(make challenge hint again for the next one"
              + (f"; PROBLEM=2 to {len(left)} for another problem's" if len(left) > 1 else "") + ")")
    else:
        print("(the last hint for this one; make challenge solution shows the reference fix)")
    given[name] = shown + 1
    with open(state_path, "w") as file:
        json.dump(given, file)
    return 0


def hint_check(unit, state_dir):
    """The hint-check subcommand, for make test: on the challenge as given,
    for each problem still there, the first hint says which tool and
    leaves out the problem's name and measurement; the second gives them.
    Prints nothing that names a problem. Returns the exit status."""
    names = [name for name, _ in PROBLEMS]
    state = os.path.join(state_dir, "hints.json")
    left = sum(1 for row in measured_report(unit)["problems"] if row["present"])
    for number in range(1, left + 1):
        if os.path.exists(state):
            os.remove(state)
        said = []
        for _ in range(2):
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                status = hint(unit, state, str(number))
            if status != 0:
                print(f"hint check: FAIL: make challenge hint PROBLEM={number} exited {status}")
                return 1
            said.append(output.getvalue())
        def naming(text):
            return [line for line in text.splitlines() if any(line.startswith(f"{name}: ") for name in names)]
        if naming(said[0]):
            print(f"hint check: FAIL: PROBLEM={number}'s first hint names its problem and measurement")
            return 1
        if not naming(said[1]):
            print(f"hint check: FAIL: PROBLEM={number}'s second hint does not name its problem")
            return 1
    os.remove(state)
    print(f"hint check: each of the {left} problems' first hint names none; its second names it"
          " (not shown here)")
    return 0


def main(argv):
    options = [arg for arg in argv[2:] if arg.startswith("--")]
    args = [arg for arg in argv[2:] if not arg.startswith("--")]
    if argv[1:2] == ["measure"] and len(args) == 2 \
            and set(options) <= {"--expect=fixed", "--expect=present", "--name-fixed"}:
        expect = "present" if "--expect=present" in options else "fixed"
        return measure(args[0], args[1], expect, "--name-fixed" in options)
    if argv[1:2] == ["hint"] and len(args) in (2, 3) and not options:
        return hint(*args)
    if argv[1:2] == ["hint-check"] and len(args) == 2 and not options:
        return hint_check(*args)
    print("usage: check.py measure UNIT-OUTDIR LABEL [--expect=fixed|present] [--name-fixed]"
          " | hint UNIT-OUTDIR STATE [N] | hint-check UNIT-OUTDIR STATE-DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
