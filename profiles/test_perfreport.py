#!/usr/bin/python3
"""test_perfreport.py - perfreport.py's perf stat reader, on the perf output
of machines this one is not (profiles/testdata/perf-stat/README.md), and its
system call reader, on what perf trace and strace print
(profiles/testdata/syscalls/README.md), and its ranking of flame graph frames.

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

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
CALLS = 10_000_000

# sample, lines the report must contain, lines it must not
CASES = [
    ("vm.csv", ["task-clock", "59.6 ns per call", "no hardware counters here (a virtual machine"],
     ["IPC", "not counted"]),
    ("intel-hybrid.csv", ["0.97 per cycle (IPC)", "58.1% on performance cores, 41.9% on efficiency cores",
                          "cache-misses", "3.61% of all"],
     ["not supported", "virtual machine"]),
    ("intel-hybrid-user-pinned.csv", ["2.09 per cycle (IPC)", "instructions              9,006,440,524",
                                      "not supported: cache-references", "(this CPU has no such counter)"],
     ["virtual machine", "efficiency cores", "not counted (the counter exists"]),
    ("amd.csv", ["2.24 per cycle (IPC)", "0.11% of all", "this CPU has no such counter"],
     ["virtual machine", ":u"]),
    ("intel.csv", ["2.39 per cycle (IPC)", "cache-misses", "1.00% of all"],
     ["not supported", "not counted"]),
]

# sample, {core type: {metric: percent}} the top-down reader must find
TOPDOWN_CASES = [
    ("intel-sapphire-rapids.txt", {None: {"retiring": 15.2, "bad_speculation": 3.1,
                                          "frontend_bound": 13.0, "backend_bound": 68.7}}),
    ("intel-sapphire-rapids-perf6.4.txt", {None: {"retiring": 17.2, "bad_speculation": 23.1,
                                                  "frontend_bound": 41.4, "backend_bound": 18.4}}),
    ("intel-hybrid.txt", {"cpu_core": {"retiring": 23.4, "bad_speculation": 0.8,
                                       "frontend_bound": 8.2, "backend_bound": 67.6},
                          "cpu_atom": {"retiring": 20.0, "bad_speculation": -2.3,
                                       "frontend_bound": 2.4, "backend_bound": 79.8}}),
    ("intel-tiger-lake-json-metrics.txt", {None: {"retiring": 22.2, "bad_speculation": 40.5,
                                                  "frontend_bound": 17.2, "backend_bound": 20.1}}),
    ("amd-zen4.txt", {None: {"retiring": 33.7, "bad_speculation": 0.0,
                             "frontend_bound": 65.1, "backend_bound": 1.2}}),
    ("arm64-neoverse-n2.txt", {None: {"retiring": 5.1, "bad_speculation": 0.0,
                                      "frontend_bound": 26.7, "backend_bound": 68.8}}),
    ("vm.txt", {}),
]

# sample, the first line's address, {offset: (symbols that stored, symbols
# that loaded with a HITM)}, the HITMs the report counted in all
C2C_CASES = [
    ("intel-user.txt", 0x55c8971f0080, {0x0: ({"0x00000000000013f4", "0x00000000000013e2"},
                                              {"0x00000000000013e9", "0x00000000000013e2"}),
                                        0x20: (set(), {"0x0000000000001447"})}, 381),
    ("amd-ibs.txt", 0x20ea08034080, {0x30: (set(), {"github.com/perfgo/perfgo/e"}),
                                     0x38: (set(), {"github.com/perfgo/perfgo/e"})}, 2096),
    ("intel-kernel-callchains.txt", 0xffffffffb7879600,
     {0x0: ({"refcount_dec_not_one"}, {"refcount_dec_not_one"})}, 638),
    ("vm-no-samples.txt", None, {}, 0),
]

# sample, requests wrk counted, lines the report must contain, lines it must not
SYSCALL_CASES = [
    ("perf-trace.txt", 12_934, ["recvfrom         1.00", "newfstatat       1.00   FAILS 100% of the time",
                                "calls of rarer ones"],
     ["WARNING"]),
    ("perf-trace-lost.txt", 20_294, ["perf trace lost 65,774 events", "none is shown"],
     ["recvfrom", "per request"]),
    ("strace.txt", 12_234, ["recvfrom         1.01", "newfstatat       1.00   FAILS 100% of the time"],
     ["WARNING"]),
]


def frame(name, samples, *children):
    """A flame graph frame as perf script's JSON writes it."""
    return {"n": name, "l": "", "v": samples, "c": list(children)}


# A server's handler whose every sample is in its socket write, which
# spends them all in the kernel: each frame of the chain is as wide as
# the next, and the widest must be the outermost, the write itself.
SEND_CHAIN = frame("handle_request", 0, frame("hi_handle", 0, frame(
    "mg_write", 0, frame("__libc_send", 0, frame("tcp_sendmsg", 60))), frame("pcre2_match", 9)))

# tree, functions that are the workbook's own, the widest names wanted, in order
FRAME_CASES = [
    ("a send chain", SEND_CHAIN, {"hi_handle"}, ["mg_write", "__libc_send", "tcp_sendmsg", "pcre2_match"]),
    ("a send chain, mg_write ours", SEND_CHAIN, {"hi_handle", "mg_write"},
     ["__libc_send", "tcp_sendmsg", "pcre2_match"]),
]


def report(read, *args):
    """Returns what one of perfreport.py's readers prints for ARGS."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        read(*args)
    return out.getvalue()


def check(sample, text, wanted, unwanted):
    """Returns a failure per line of WANTED missing from TEXT, or of
    UNWANTED in it, and then TEXT itself when there was any."""
    failures = [f"{sample}: want {line!r} in the report" for line in wanted if line not in text]
    failures += [f"{sample}: want no {line!r} in the report" for line in unwanted if line in text]
    return failures + [f"{sample}: the report was:\n{text}"] if failures else []


def main():
    failures = []
    for sample, wanted, unwanted in CASES:
        text = report(perfreport.stat, os.path.join(TESTDATA, "perf-stat", sample), CALLS)
        failures += check(sample, text, wanted, unwanted)
    for sample, wanted in TOPDOWN_CASES:
        with open(os.path.join(TESTDATA, "topdown", sample)) as file:
            found = perfreport.topdown_metrics(file.read().splitlines())
        if found != wanted:
            failures.append(f"{sample}: top-down read as {found},\n  want {wanted}")
    text = report(perfreport.topdown, os.path.join(TESTDATA, "topdown", "vm.txt"), "TopdownL1")
    failures += check("vm.txt", text, ["top-down: not here: this machine gives perf no hardware counters"],
                      ["retiring"])
    if len(text.splitlines()) != 1:
        failures.append(f"vm.txt: want one line where there are no counters, got:\n{text}")
    for sample, address, offsets, hitm in C2C_CASES:
        with open(os.path.join(TESTDATA, "c2c", sample)) as file:
            lines = file.read().splitlines()
        found = perfreport.c2c_lines(lines)
        total = perfreport.c2c_hitm_total(lines)
        total = sum(line["hitm"] for line in found) if total is None else total
        first = found[0] if found else {"address": None, "offsets": {}}
        read = {offset: ({s for _, _, s in who["store"]}, {s for _, _, s in who["hitm"]})
                for offset, who in first["offsets"].items()}
        if (first["address"], read, total) != (address, offsets, hitm):
            failures.append(f"{sample}: c2c read line {first['address']}, offsets {read}, {total} HITMs;\n"
                            f"  want line {address}, offsets {offsets}, {hitm} HITMs")
    for sample, requests, wanted, unwanted in SYSCALL_CASES:
        text = report(perfreport.syscalls, os.path.join(TESTDATA, "syscalls", sample), requests)
        failures += check(sample, text, wanted, unwanted)
    for case, tree, ours, wanted in FRAME_CASES:
        names = [name for _, name in perfreport.widest_frames(tree, ours)]
        if names != wanted:
            failures.append(f"{case}: the widest frames are {names}, want {wanted}")
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print(f"perf stat reader: {len(CASES)} kinds of machine read as they should (a VM, Intel"
              " hybrid\n  as root and as a user, AMD, Intel); top-down reader: "
              f"{len(TOPDOWN_CASES)} machines' perf stat -M\n  (Intel, Intel hybrid, AMD Zen 4, Arm Neoverse, a VM);"
              f" perf c2c reader: {len(C2C_CASES)} reports (Intel, AMD IBS,\n  kernel call chains, none);"
              " system call reader:"
              f" {len(SYSCALL_CASES)} traces (perf trace,\n  one that lost events, strace);"
              f" flame graph ranking: {len(FRAME_CASES)} trees")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
