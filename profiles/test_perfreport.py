#!/usr/bin/python3
"""test_perfreport.py - perfreport.py's perf stat reader, on the perf output
of machines this one is not (profiles/testdata/perf-stat/README.md).

Each row names a sample, what its report must say and what it must not;
a failure names the sample and the line that was wanted. Exit status 1
on any failure, with every failing row listed, as Go's table tests do.
"""
import contextlib
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import perfreport  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "perf-stat")
CALLS = 10_000_000

# sample, lines the report must contain, lines it must not
CASES = [
    ("vm.csv", ["task-clock", "59.6 ns per call", "no hardware counters here", "cycles, instructions"],
     ["IPC", "not counted"]),
    ("intel-hybrid.csv", ["0.97 per cycle (IPC)", "58.1% on performance cores, 41.9% on efficiency cores",
                          "cache-misses", "3.61% of all"],
     ["not supported", "virtual machine"]),
    ("intel-hybrid-user-pinned.csv", ["2.09 per cycle (IPC)", "instructions              9,006,440,524",
                                      "not supported (this CPU has no such counter): cache-references"],
     ["virtual machine", "efficiency cores", "not counted (the counter exists"]),
    ("amd.csv", ["2.24 per cycle (IPC)", "0.11% of all", "this CPU has no such counter"],
     ["virtual machine", ":u"]),
    ("intel.csv", ["2.39 per cycle (IPC)", "cache-misses", "1.00% of all"],
     ["not supported", "not counted"]),
]


def report(sample):
    """Returns what perfreport.py stat prints for one sample."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        perfreport.stat(os.path.join(DATA, sample), CALLS)
    return out.getvalue()


def main():
    failures = []
    for sample, wanted, unwanted in CASES:
        text = report(sample)
        failures += [f"{sample}: want {line!r} in the report" for line in wanted if line not in text]
        failures += [f"{sample}: want no {line!r} in the report" for line in unwanted if line in text]
        if failures and failures[-1].startswith(sample):
            failures.append(f"{sample}: the report was:\n{text}")
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print(f"perf stat reader: {len(CASES)} kinds of machine read as they should"
              " (a VM, Intel hybrid as root and as a user, AMD, Intel)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
