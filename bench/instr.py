#!/usr/bin/python3
"""instr.py - instructions per request, counted by valgrind's callgrind.

  instr.py run BENCH-BINARY OUTDIR
      Runs BenchmarkHi for INSTR_CALLS (2000) calls under callgrind and
      prints, the way `go test -bench` would print a custom metric,

          BenchmarkHi-2    2000    771 instructions/op

      then the functions those instructions ran in. Writes into OUTDIR:
      callgrind.out (the raw profile), annotate.txt (callgrind_annotate,
      with our source lines annotated), and instr.json. A count is kept
      for what it was taken of: the binary, INSTR_CALLS and the
      environment (BENCH_QUERY, and its size, which moves where the
      stack lies); while all three are the same, the kept count is
      printed again, said to be kept, and callgrind does not run.

  instr.py stacks BENCH-BINARY OUTDIR
      The same count, each instruction filed under the whole call stack
      it ran in (callgrind's --separate-callers), as a tree in
      OUTDIR/stacks.json: what make flamediff draws, per call of the
      handler. Kept, as run's count is, while nothing it depends on moved.

  instr.py cmp OLD-OUTDIR NEW-OUTDIR
      Per-function instructions/op of two runs side by side, with deltas.

  instr.py totals LABEL=OUTDIR...
      One line: each one's instructions/op, and its change from the first.

  instr.py lesson FROM LABEL OUTDIR [BEFORE-OUTDIR]
      Checks, as instruction counts, the exercise of stage FROM as
      stages/stages.txt gives it (stages.exercise): OUTDIR holds the
      instr.json of what is checked, named LABEL: stage FROM+1 itself,
      whose lesson that exercise is, or the attendee's workspace copied
      from stage FROM; BEFORE-OUTDIR holds stage FROM's. FROM "-" (stage
      1, which has no stage before it) only prints the count. A count
      that breaks the claim (stage 2 no longer well below stage 1, say)
      fails, with a message naming it. Deterministic, so every `make
      test` runs it.

What is counted: every instruction executed inside hi_handle(), in our
code and in the libraries it calls (pcre2, libc), during the measured run
only (the harness zeroes the counters when it starts and dumps them when
it ends, so warm-up and set-up never count). Not counted: the response
writer it sends to (recorder_send, a test double standing in for the
socket), and everything outside the handler.

Why: an instruction count is exact. The same binary gives the same count
on every run, however busy the machine, so it can be asserted in a test
and compared across a room of laptops. What it cannot see is what an
instruction costs: an atomic add counts as a plain one does, a cache
miss counts nothing, and a wait for a lock barely counts (BenchmarkHi
runs on one thread, so nothing contends; a thread that does wait sleeps
in the kernel, where nothing is counted). That is why the workbook
always shows ns/op beside it.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stages"))
import stages  # noqa: E402  (stages/stages.py: the reader of stages/stages.txt)

HANDLER = "hi_handle"
WRITER = "recorder_send"


def fail(message, status=1):
    """Prints message and exits with status."""
    print(f"instr: {message}", file=sys.stderr)
    sys.exit(status)


# ============================ Reading callgrind's output ======================

def parse_callgrind(path):
    """Returns (total, functions) from a callgrind output file: total is
    its summary line; functions maps (object, function) to a dict with
    "file", "self" (instructions in the function itself), "inclusive"
    (with what it called) and "calls" (how often it was called)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    namespace = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl",
                 "cfi": "fl", "cfl": "fl", "fn": "fn", "cfn": "fn"}
    functions, total = {}, 0
    current = {"ob": "???", "fl": "???"}
    function = None
    call_follows = False
    callee = {"ob": None, "fn": None}

    def new_function():
        return {"self": 0, "inclusive": 0, "calls": 0}

    def resolve(key, value):
        kind = namespace[key]
        match = re.match(r"\((\d+)\)(?: (.*))?$", value)
        if not match:
            return value
        if match[2] is not None:
            names[kind][match[1]] = match[2]
        return names[kind].get(match[1], "???")

    with open(path) as file:
        for line in file:
            line = line.rstrip("\n")
            if line.startswith("summary:"):
                total = int(line.split()[1])
            key, equals, value = line.partition("=")
            if equals and key in namespace:
                name = resolve(key, value)
                if key in ("ob", "fl"):
                    current[key] = name
                elif key == "fn":
                    function = functions.setdefault((current["ob"], name), new_function())
                    # A function first met as a callee gets its file here.
                    function.setdefault("file", current["fl"])
                elif key in ("cob", "cfn"):
                    callee[namespace[key]] = name
                continue
            if line.startswith("calls="):
                # The callee is the cfn= before it, in its cob= (or ours).
                target = (callee["ob"] or current["ob"], callee["fn"])
                functions.setdefault(target, new_function())["calls"] += int(line[6:].split()[0])
                callee["ob"] = None
                call_follows = True
                continue
            if function is None or not line or not (line[0].isdigit() or line[0] in "+-*"):
                continue
            fields = line.split()
            cost = int(fields[1]) if len(fields) > 1 else 0
            if call_follows:
                function["inclusive"] += cost
                call_follows = False
            else:
                function["self"] += cost
                function["inclusive"] += cost
    return total, functions


def display_name(obj, function, source):
    """Returns (name, where) for a table row: our functions by name and
    source file, a library's by name and library, pcre2's JIT-compiled
    machine code (which has no symbol at all) as one row of its own. A
    library's function whose name was stripped (a static one: Debian
    keeps only the exported names) is named by where it starts, as
    "libpcre2-8:0x6b60", as the web viewer names it."""
    library = re.sub(r"\.so.*", "", os.path.basename(obj))
    if obj == "???" and function.startswith("0x"):
        return "(JIT-compiled pattern)", "written by pcre2_jit_compile"
    if source.startswith("/") and os.path.commonpath([source, ROOT]) == ROOT:
        return function, os.path.relpath(source, ROOT)
    if re.fullmatch(r"0x[0-9a-f]+", function):
        return f"{library}:0x{int(function, 16):x}", library
    return function, library


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def function_rows(functions, calls):
    """Returns the rows for the table and the JSON: per function, name,
    where, self/op and inclusive/op, merging entries that name the same
    function (an inlined copy appears under each header it came from)."""
    merged = {}
    for (obj, function), cost in functions.items():
        if cost["self"] == 0:
            continue
        name, where = display_name(obj, re.sub(r"@.*", "", function), cost["file"])
        row = merged.setdefault(name, {"function": name, "where": where, "self": 0, "inclusive": 0,
                                       "calls": 0})
        row["self"] += cost["self"] / calls
        row["calls"] += cost["calls"] / calls
        row["inclusive"] = max(row["inclusive"], cost["inclusive"] / calls)
    return sorted(merged.values(), key=lambda row: -row["self"])


# ============================ Printing =======================================

def per_op(value):
    """Formats a per-op count as Go formats ns/op: fewer decimals when big."""
    if value == 0 or value >= 99.995:
        return f"{value:.0f}"
    if value >= 9.9995:
        return f"{value:.1f}"
    return f"{value:.2f}"


def print_functions(rows, limit=12):
    """Prints the costliest functions, by their own instructions."""
    print(f"{'self/op':>9} {'with callees':>12}  function")
    for row in rows[:limit]:
        print(f"{per_op(row['self']):>9} {per_op(row['inclusive']):>12}  "
              f"{row['function']}  ({row['where']})")
    if len(rows) > limit:
        rest = sum(row["self"] for row in rows[limit:])
        more = len(rows) - limit
        print(f"{per_op(rest):>9} {'':>12}  ({more} more function{'s' if more != 1 else ''})")


# ============================ run ============================================

# What make and the shell put in the environment of their own, which a
# benchmark's count does not depend on, and which differ from one
# invocation to the next: left out of the run, and so of its key.
VOLATILE = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR",
            "OLDPWD", "SHLVL", "_")


def count_key(binary, calls, env):
    """Returns a digest of everything a count depends on: the binary, the
    number of calls, the environment it runs in, the valgrind that counts
    and this script, which reads and names what it counted."""
    digest = hashlib.sha256()
    for path in (binary, os.path.abspath(__file__)):
        with open(path, "rb") as file:
            digest.update(file.read())
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout
    digest.update(json.dumps([calls, sorted(env.items()), valgrind]).encode())
    return digest.hexdigest()


def print_count(result, profile, outdir, kept):
    """Prints a count the way the run subcommand does."""
    print(f"{result['benchmark']:<20} {result['calls']:>10} {per_op(result['per_op']):>12} instructions/op")
    if kept:
        print("(kept from the count of the same binary, in the same environment, not counted again)")
    print()
    print(f"where they ran (per call of {HANDLER}, the writer {WRITER} left out):")
    print_functions(result["functions"])
    print(f"wrote: {profile}\n       {os.path.join(outdir, 'annotate.txt')} (source lines annotated)"
          f"\n       {os.path.join(outdir, 'instr.json')}")


def counting_setup(binary, outdir):
    """Returns (calls, env) for counting binary's BenchmarkHi into outdir,
    after checking that it can be: INSTR_CALLS, valgrind, the binary."""
    calls = os.environ.get("INSTR_CALLS") or "2000"
    if not calls.isdigit() or int(calls) < 1:
        fail(f"INSTR_CALLS={calls}: want a whole number from 1")
    calls = int(calls)
    if shutil.which("valgrind") is None:
        fail("valgrind is not installed; run: make deps (Debian package valgrind)")
    if not os.access(binary, os.X_OK):
        fail(f"no benchmark binary at {binary}")
    os.makedirs(outdir, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name not in VOLATILE}
    env.update(BENCH="^BenchmarkHi$", BENCHTIME=f"{calls}x", COUNT="1")
    env.pop("BENCH_JSON", None)
    return calls, env


def callgrind(binary, profile, calls, env, options=()):
    """Runs BenchmarkHi under callgrind, counting inside the handler only,
    into profile. Returns (benchmark name, total, functions), the latter
    two from parse_callgrind; fails, saying why, when nothing was counted."""
    for old in os.listdir(os.path.dirname(profile)):
        if old.startswith(os.path.basename(profile)):
            os.remove(os.path.join(os.path.dirname(profile), old))
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--collect-atstart=no",
         f"--toggle-collect={HANDLER}", f"--toggle-collect={WRITER}", *options,
         f"--callgrind-out-file={profile}", binary],
        env=env, capture_output=True, text=True)
    benchmark = re.search(r"^(BenchmarkHi-\d+)\s+(\d+)\s", done.stdout, re.M)
    dump = profile + ".1"   # the harness's dump at the end of the measured run
    if done.returncode != 0 or not benchmark or not os.path.exists(dump):
        fail(f"{binary} under callgrind failed (status {done.returncode}):\n"
             f"{done.stdout}{done.stderr[-2000:]}")
    if int(benchmark[2]) != calls:
        fail(f"the benchmark ran {benchmark[2]} calls, not {calls}")
    os.replace(dump, profile)
    total, functions = parse_callgrind(profile)
    if not any(function.split("'")[0] == HANDLER and cost["self"] > 0
               for (_, function), cost in functions.items()):
        fail(f"callgrind found no call of {HANDLER} in {binary}: was it inlined into its caller"
             " (common/hi.h declares it noinline) or renamed? Nothing was counted")
    if total == 0:
        fail(f"{profile} has no summary: line, so there is no total to report"
             " (a callgrind this script does not know?)")
    return benchmark[1], total, functions


def kept_result(path, key):
    """Returns the result kept at path (a JSON object) if it was counted
    under key; else None, having removed it, so that it is never shown
    again as this run's."""
    if not os.path.exists(path):
        return None
    with open(path) as file:
        kept = json.load(file)
    if kept.get("key") == key:
        return kept
    os.remove(path)
    return None


def run(binary, outdir):
    """The run subcommand. Returns the exit status."""
    calls, env = counting_setup(binary, outdir)
    profile = os.path.join(outdir, "callgrind.out")
    key = count_key(binary, calls, env)
    result_path = os.path.join(outdir, "instr.json")
    kept = kept_result(result_path, key)
    if kept:
        print_count(kept, profile, outdir, kept=True)
        return 0
    benchmark, total, functions = callgrind(binary, profile, calls, env)
    rows = function_rows(functions, calls)
    with open(os.path.join(outdir, "annotate.txt"), "w") as file:
        subprocess.run(["callgrind_annotate", "--auto=yes", "--inclusive=yes", profile],
                       stdout=file, stderr=subprocess.DEVNULL)
    result = {"benchmark": benchmark, "calls": calls, "instructions": total,
              "per_op": total / calls, "functions": rows, "key": key}
    with open(result_path, "w") as file:
        json.dump(result, file, indent=1)
    print_count(result, profile, outdir, kept=False)
    return 0


# ============================ stacks =========================================

def stack_tree(functions, calls):
    """Returns the tree of call stacks under the handler from a profile
    taken with --separate-callers (each function's name followed by its
    callers, "fn'caller'caller2..."), as perf's flame graph script writes
    trees: {"n": name, "l": "", "v": instructions per call in the frame
    itself, "c": [callees]}."""
    root = {"n": HANDLER, "l": "", "v": 0.0, "c": []}
    # A caller in a chain is a bare name: it is shown as the function
    # itself is where it has a cost of its own (and its object is known).
    shown_as = {}
    for (obj, chain), cost in functions.items():
        leaf = re.sub(r"@.*", "", chain.split("'")[0])
        shown_as.setdefault(leaf, display_name(obj, leaf, cost["file"])[0])
    for (obj, chain), cost in functions.items():
        names = [re.sub(r"@.*", "", name) for name in chain.split("'")]
        if HANDLER not in names or cost["self"] == 0:
            continue
        path = list(reversed(names[:names.index(HANDLER)]))
        node = root
        for name in path:
            shown = shown_as.get(name, name)
            child = next((c for c in node["c"] if c["n"] == shown), None)
            if child is None:
                child = {"n": shown, "l": "", "v": 0.0, "c": []}
                node["c"].append(child)
            node = child
        node["v"] += cost["self"] / calls
    return root


def stacks(binary, outdir):
    """The stacks subcommand: writes OUTDIR/stacks.json, kept while the
    binary, INSTR_CALLS and the environment are the same. Returns 0."""
    calls, env = counting_setup(binary, outdir)
    # One context per function however deep it recurses: callgrind's
    # default (2) names a recursion "fn'2", which would read as a caller.
    options = ("--separate-callers=64", "--separate-recs=1")
    key = count_key(binary, calls, dict(env, INSTR_OPTIONS=" ".join(options)))
    path = os.path.join(outdir, "stacks.json")
    if kept_result(path, key):
        print(f"stacks: kept from the count of the same binary, in the same environment: {path}")
        return 0
    _, total, functions = callgrind(binary, os.path.join(outdir, "stacks.out"), calls, env, options)
    tree = stack_tree(functions, calls)
    with open(path, "w") as file:
        json.dump(dict(tree, key=key), file)
    print(f"stacks: {total / calls:.0f} instructions per call of {HANDLER}, by call stack: {path}")
    return 0


# ============================ cmp ============================================

def load(outdir):
    """Returns the instr.json that `instr.py run` wrote into outdir."""
    path = os.path.join(outdir, "instr.json")
    if not os.path.exists(path):
        fail(f"no {path}: run the instr target for that stage first")
    with open(path) as file:
        return json.load(file)


def cmp(old_dir, new_dir):
    """The cmp subcommand: per-function deltas. Returns the exit status."""
    old, new = load(old_dir), load(new_dir)
    by_name = {}
    for side, result in (("old", old), ("new", new)):
        for row in result["functions"]:
            by_name.setdefault(row["function"], {"where": row["where"], "old": 0.0, "new": 0.0})
            by_name[row["function"]][side] = row["self"]
    rows = sorted(by_name.items(), key=lambda item: -abs(item[1]["new"] - item[1]["old"]))
    print(f"instructions per call of {HANDLER}, by function (self), "
          f"{old['calls']} and {new['calls']} calls")
    print(f"{'old':>9} {'new':>9} {'delta':>9}  function")
    for name, row in rows:
        delta = row["new"] - row["old"]
        if abs(delta) < 0.5 and row["old"] < 0.5:
            continue
        print(f"{per_op(row['old']):>9} {per_op(row['new']):>9} {delta:>+9.0f}  {name}  ({row['where']})")
    change = 100 * (new["per_op"] - old["per_op"]) / old["per_op"]
    print(f"{per_op(old['per_op']):>9} {per_op(new['per_op']):>9} "
          f"{new['per_op'] - old['per_op']:>+9.0f}  total ({change:+.1f}%)")
    return 0


def totals(specs):
    """The totals subcommand: one line for several runs. Returns 0."""
    results = [(label, load(outdir)) for label, outdir in (spec.split("=", 1) for spec in specs)]
    first = results[0][1]["per_op"]
    cells = [f"{results[0][0]} {per_op(first)}"]
    for label, result in results[1:]:
        cells.append(f"{label} {per_op(result['per_op'])} ({100 * (result['per_op'] / first - 1):+.1f}%)")
    print("instructions per request: " + ", ".join(cells))
    return 0


# ============================ lesson =========================================

# Functions that take a lock: a lock-free stage must run none of them.
LOCKING = re.compile(r"mutex_(timed|clock|try)?lock|spin_(try)?lock|rwlock_(timed|try)?(rd|wr)lock"
                     r"|mutex_unlock")


def check_name(check):
    """Returns how messages name an exercise's check: as the lesson of the
    stage it leads to, or as the last stage's open exercise."""
    if check["checked_as"] != check["from"]:
        return f"stage {check['checked_as']}'s lesson ({check['title']})"
    return f"stage {check['from']}'s exercise ({check['title']})"


def lesson_failures(check, before, after, label):
    """Returns what breaks an exercise's check (a list of messages, empty
    when none): check is stages.exercise(FROM), after the instr.json of
    what was measured (named label: "stage 3", "your work"), before stage
    FROM's."""
    failures = []
    what = check_name(check)
    new, old = after["per_op"], before["per_op"]
    versus = f"stage {check['from']} runs {per_op(old)}, {label} {per_op(new)} ({new / old:.2f}x)"
    for claim in check["instructions"]:
        factor = re.fullmatch(r"<=([\d.]+)x", claim)
        absolute = re.fullmatch(r"<=(\d+)", claim)
        holds = {"=": abs(new / old - 1) <= 0.01, "<": new < old}.get(claim)
        if factor:
            holds = new / old <= float(factor[1])
        elif absolute:
            holds, versus = new <= int(absolute[1]), f"{label} runs {per_op(new)}"
        if holds is None:
            failures.append(f"{what}: unknown claim {claim!r} in stages.txt")
        elif not holds:
            failures.append(f"{what}:\n  wants {stages.claim_words(claim, check['from'])};\n  {versus}")
    if "lock-free" in check["expects"]:
        locks = [row["function"] for row in after["functions"] if LOCKING.search(row["function"])]
        if locks:
            failures.append(f"{what}:\n  wants {stages.EXPECTATION_WORDS['lock-free']};\n  {label} calls "
                            + ", ".join(sorted(set(locks))))
    return failures


def lesson(from_number, label, outdir, before_dir=None):
    """The lesson subcommand. Returns 0 when the check holds, else 1."""
    after = load(outdir)
    if from_number == "-":
        print(f"{label}: {per_op(after['per_op'])} instructions per request (the first stage:"
              " nothing before it to hold it against)")
        return 0
    check = stages.exercise(int(from_number)) if from_number.isdigit() else None
    if check is None or before_dir is None:
        fail(f"no exercise of stage {from_number} in stages/stages.txt, or no count to hold it against")
    before = load(before_dir)
    print(f"{label}: {per_op(after['per_op'])} instructions per request;"
          f" stage {from_number}: {per_op(before['per_op'])} ({after['per_op'] / before['per_op']:.2f}x)")
    failures = lesson_failures(check, before, after, label)
    for message in failures:
        print(f"FAIL: {message}")
    if not failures:
        # What this check adds to the stage before, as its criterion says
        # (what that stage held still holds, and the suite checked it).
        claims = [stages.claim_words(claim, check["from"]) for claim in check["instructions"]]
        if "lock-free" in stages.added_expectations(check["from"]):
            claims.append(stages.EXPECTATION_WORDS["lock-free"])
        print(f"PASS: {check_name(check)}:")
        for claim in claims:
            print(f"  {claim}")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "run":
        return run(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "cmp":
        return cmp(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "stacks":
        return stacks(argv[2], argv[3])
    if len(argv) >= 3 and argv[1] == "totals":
        return totals(argv[2:])
    if len(argv) in (5, 6) and argv[1] == "lesson":
        return lesson(*argv[2:])
    fail("usage: instr.py run BENCH-BINARY OUTDIR | stacks BENCH-BINARY OUTDIR | cmp OLD-OUTDIR"
         " NEW-OUTDIR | totals LABEL=OUTDIR... | lesson FROM LABEL OUTDIR [BEFORE-OUTDIR]", 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
