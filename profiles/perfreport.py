#!/usr/bin/python3
"""perfreport.py - turn what Linux perf recorded into the workbook's reports.

  perfreport.py flame DIR ROOT FOCUS TEMPLATE BINARY
      DIR/perf.data holds call-graph samples. Writes DIR/flame.html (the
      whole program, interactive: click to zoom, search names) and
      DIR/flame-focus.html (only what ran under the function FOCUS, e.g.
      hi_handle, or "-" for everything, kernel frames shown as one), both
      offline, from d3-flame-graph's TEMPLATE; and flame.svg and flame.png,
      the picture of the focus (flamegraph.py). Prints the share of
      samples under ROOT and under hi_handle, and the widest frames under
      ROOT that are not the workbook's own code. Too few samples under
      ROOT to show anything: says so and writes nothing.

  perfreport.py stat CSV CALLS
      Prints `perf stat -x,` output per call of the benchmark, and names the
      counters this machine does not have in one line.

  perfreport.py syscalls TRACE REQUESTS
      TRACE is `perf trace -s` or `strace -c -f` output for the live
      server; prints its system calls per request, the failing ones marked.
      A trace that lost events gets no table: it says so, and exits 4.

  perfreport.py offcpu DIR SERVER-PID REQUESTS
      DIR/perf.data holds system-wide sched_switch events with call graphs;
      prints where the server's threads were off the CPU, and for how long.
"""
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import flamegraph
from optinfo import defined_functions


def fail(message):
    """Prints message and exits with status 1."""
    print(f"perfreport: {message}", file=sys.stderr)
    sys.exit(1)


# ============================ flame ==========================================

def tree_total(node):
    """Returns the samples in node and below it."""
    return node["v"] + sum(tree_total(child) for child in node["c"])


def merged_under(node, name, found=None):
    """Returns one tree: the merge of every subtree rooted at a frame
    called name (recursion inside it is not merged twice)."""
    if found is None:
        found = {"n": name, "l": "", "v": 0, "c": []}
    if node["n"] == name:
        merge_into(found, node)
        return found
    for child in node["c"]:
        merged_under(child, name, found)
    return found


def merge_into(target, node):
    """Adds node's samples and children to target's, frame by frame."""
    target["v"] += node["v"]
    by_name = {child["n"]: child for child in target["c"]}
    for child in node["c"]:
        if child["n"] not in by_name:
            by_name[child["n"]] = {"n": child["n"], "l": child["l"], "v": 0, "c": []}
            target["c"].append(by_name[child["n"]])
        merge_into(by_name[child["n"]], child)


def kernel_collapsed(node):
    """Returns a copy of node in which each run of kernel frames is one
    frame, "(kernel)": for a picture, the system call's user-space frame
    below it says which one it was, and the kernel's own twenty frames
    would take the height the rest needs."""
    if node["l"] == "kernel":
        return {"n": "(kernel)", "l": "kernel", "v": tree_total(node), "c": []}
    return dict(node, c=[kernel_collapsed(child) for child in node["c"]])


def depth(node):
    """Returns how many frames deep the tree goes."""
    return 1 + max((depth(child) for child in node["c"]), default=0)


def frame_totals(node, totals, depths, seen=(), depth=0):
    """Adds up, per function name, the samples below every frame of it
    (counting a sample once per function even under recursion), and
    notes in DEPTHS the shallowest depth it was seen at."""
    if node["n"] not in seen:
        totals[node["n"]] += tree_total(node)
        seen = seen + (node["n"],)
    depths[node["n"]] = min(depths.get(node["n"], depth), depth)
    for child in node["c"]:
        frame_totals(child, totals, depths, seen, depth + 1)


def widest_frames(root, ours):
    """Returns (samples, name) for every function below ROOT but those in
    OURS, widest first; of frames as wide, the caller first: a call that
    spends all its samples in its callee (mg_write in send, send in the
    kernel's sendto) is the one the reader is looking for."""
    totals, depths = defaultdict(int), {}
    for child in root["c"]:
        frame_totals(child, totals, depths)
    return sorted(((count, name) for name, count in totals.items() if name not in ours),
                  key=lambda frame: (-frame[0], depths[frame[1]], frame[1]))


def own_functions():
    """Returns the names of the functions the workbook's C files define
    (inlined ones too, which perf names from the debug info): every .c
    below the checkout but in its generated (out/), attendee (work/) and
    JavaScript (js/) folders."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = set()
    for folder, subfolders, files in os.walk(root):
        if folder == root:
            subfolders[:] = [name for name in subfolders if name not in ("out", "work", "js", ".git")]
        for name in files:
            if name.endswith(".c"):
                names |= defined_functions(os.path.join(folder, name))
    return names


def write_flame(path, template, stacks, title):
    """Writes one offline flame graph from d3-flame-graph's template, as
    perf's own flamegraph script does (the two placeholders)."""
    with open(template) as file:
        page = file.read()
    options = {"colorscheme": "blue-green", "context": title}
    page = page.replace("/** @options_json **/", json.dumps(options))
    page = page.replace("/** @flamegraph_json **/", json.dumps(stacks))
    with open(path, "w") as file:
        file.write(page)


# Fewer samples than this under the root, and a flame graph shows noise:
# a picture of it would be mostly empty.
MIN_SAMPLES = 20
FLAME_FILES = ("flame.html", "flame-focus.html", "flame.svg", "flame.png", "flame-focus.depth",
               "widest.txt", "kernel.txt")


def flame(directory, root_name, focus_name, template, binary):
    """The flame subcommand. Returns 0, or 1 when too little ran under
    ROOT to draw (which it says)."""
    for name in FLAME_FILES:      # never an earlier run's, beside this one's
        if os.path.exists(os.path.join(directory, name)):
            os.remove(os.path.join(directory, name))
    stacks_path = os.path.join(directory, "stacks.json")
    done = subprocess.run(["perf", "script", "report", "flamegraph", "-f", "json", "-o", stacks_path],
                          cwd=directory, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0 or not os.path.exists(stacks_path):
        fail(f"perf script report flamegraph failed:\n{done.stdout}{done.stderr}")
    with open(stacks_path) as file:
        stacks = json.load(file)
    total = tree_total(stacks)
    root = merged_under(stacks, root_name)
    focus = kernel_collapsed(stacks if focus_name == "-" else merged_under(stacks, focus_name))
    under = tree_total(root)
    if under < MIN_SAMPLES:
        print(f"flame: {under} samples ran under {root_name} ({total} in all): too few to draw"
              " anything but noise, so nothing was drawn. Run it longer (BENCHTIME=2s, or"
              " DURATION=5s for the server)", file=sys.stderr)
        return 1
    write_flame(os.path.join(directory, "flame.html"), template, stacks,
                f"{binary}: every sample, {total} in all")
    write_flame(os.path.join(directory, "flame-focus.html"), template, focus,
                f"{binary}: the {tree_total(focus)} samples under {focus_name}")
    levels, _ = flamegraph.draw(focus, os.path.join(directory, "flame.svg"),
                                os.path.join(directory, "flame.png"),
                                f"{os.path.basename(os.path.dirname(binary))}: {tree_total(focus)} samples under"
                                f" {'the server' if focus_name == '-' else focus_name}")
    with open(os.path.join(directory, "flame-focus.depth"), "w") as file:
        file.write(f"{levels}\n")
    others = widest_frames(root, own_functions() | {"[unknown]"})
    handler = tree_total(merged_under(stacks, "hi_handle"))
    print(f"{under} of {total} samples ran under {root_name} ({100 * under / total:.0f}%)"
          + (f", {handler} under hi_handle ({100 * handler / total:.0f}%)" if root_name != "hi_handle" else "")
          + ";\nthe widest frames below it outside the workbook's own code (each with what it calls):")
    for count, name in others[:6]:
        print(f"  {100 * count / under:5.1f}%  {name}")
    with open(os.path.join(directory, "widest.txt"), "w") as file:
        file.write("".join(f"{count} {name}\n" for count, name in others))
    # A user whom perf lets sample only user space (paranoid 2) gets no
    # kernel frames: the time a write() spends sending is then unseen.
    kernel = has_kernel_frames(stacks)
    with open(os.path.join(directory, "kernel.txt"), "w") as file:
        file.write("yes\n" if kernel else "no\n")
    if not kernel:
        print("(user space only: perf may not sample the kernel here, so the time spent inside"
              " system calls,\n such as mg_write's send, is not shown; make perf-allow shows it)")
    return 0


def has_kernel_frames(node):
    """Returns whether any frame of the tree ran in the kernel."""
    return node["l"] == "kernel" or any(has_kernel_frames(child) for child in node["c"])


# ============================ stat ===========================================

# perf stat -x, writes one line per counter (perf-stat(1), CSV FORMAT):
#   value,unit,event,run-time,run-percentage,metric-value,metric-unit
# The value is a number, or "<not supported>" (the CPU, or the virtual
# machine, has no such counter) or "<not counted>" (the counter exists but
# never ran for this process: on an Intel hybrid laptop, the cores of the
# type the benchmark never ran on). A user who is not root gets ":u"
# events, user space only; an Intel hybrid CPU prints each hardware event
# once per core type, "cpu_core/cycles/" and "cpu_atom/cycles/".
PMU_EVENT = re.compile(r"^(?P<pmu>[\w.-]+)/(?P<event>[\w.-]+)/(?P<modifiers>:?\w*)$")
CORE_TYPES = {"cpu_core": "performance cores", "cpu_atom": "efficiency cores"}


def stat_counters(lines):
    """Returns the counters of perf stat -x, output: a dict from the event's
    plain name (cycles, not cpu_core/cycles/:u) to a dict with "value" (the
    sum over core types, None when none counted), "unit", "parts" (the
    core types' shares) and "state" (counted, not counted, not supported)."""
    counters = {}
    for line in lines:
        fields = line.rstrip("\n").split(",")
        if line.startswith("#") or len(fields) < 3 or not fields[2]:
            continue
        raw, unit, event = fields[0], fields[1], fields[2]
        pmu = None
        match = PMU_EVENT.match(event)
        if match:
            pmu, event = match["pmu"], match["event"]
        event = re.sub(r":[ukhHGp]+$", "", event)
        counter = counters.setdefault(event, {"value": None, "unit": unit, "parts": [],
                                             "state": "not supported"})
        if raw.startswith("<not"):
            # A counter one core type lacks says more than one it has
            # but never ran: "not counted" only where nothing said that.
            if raw.startswith("<not counted") and counter["state"] == "not supported" \
                    and not counter.get("unsupported_somewhere"):
                counter["state"] = "not counted"
            elif raw.startswith("<not supported") and counter["state"] == "not counted":
                counter["state"] = "not supported"
            counter["unsupported_somewhere"] = counter.get("unsupported_somewhere") \
                or raw.startswith("<not supported")
            continue
        value = float(raw)
        counter["value"] = (counter["value"] or 0) + value
        counter["state"] = "counted"
        if pmu:
            counter["parts"].append((pmu, value))
    return counters


def stat_note(event, counters, per_call):
    """Returns what one counted event means per call of the benchmark."""
    value = counters[event]["value"]

    def counted(name):
        return counters.get(name, {}).get("value")
    if event == "task-clock":
        return f"{per_call:.1f} ns per call"
    if event == "instructions" and counted("cycles"):
        return f"{per_call:.0f} per call, {value / counted('cycles'):.2f} per cycle (IPC)"
    if event.endswith("-misses"):
        base = counted("branches" if event == "branch-misses" else event.replace("-misses", "-references"))
        return f"{per_call:.3f} per call" + (f", {100 * value / base:.2f}% of all" if base else "")
    if per_call < 0.001:
        return f"{per_call * 1e6:.2f} per million calls"
    return f"{per_call:.3f} per call"


def stat(csv_path, calls):
    """The stat subcommand. Returns 0."""
    calls = int(calls)
    with open(csv_path) as file:
        counters = stat_counters(file)
    print(f"perf stat over the measured run: {calls:,} calls of BenchmarkHi")
    for event, counter in counters.items():
        if counter["state"] != "counted":
            continue
        value, unit = counter["value"], counter["unit"]
        per_call = value * (1e6 if unit == "msec" else 1) / calls
        shown = f"{value:,.1f} {unit}" if unit else f"{value:,.0f}"
        print(f"  {event:<18} {shown:>20}   {stat_note(event, counters, per_call)}")
        if len(counter["parts"]) > 1 and value:
            shares = ", ".join(f"{100 * part / value:.1f}% on {CORE_TYPES.get(pmu, pmu)}"
                               for pmu, part in counter["parts"])
            print(f"  {'':<18} {'':>20}   ({shares})")
    not_counted = [event for event, counter in counters.items() if counter["state"] == "not counted"]
    unsupported = [event for event, counter in counters.items() if counter["state"] == "not supported"]
    if not_counted:
        print(f"not counted (the counter exists, but never ran while the benchmark did): "
              f"{', '.join(not_counted)}")
    if unsupported:
        hardware = {"cycles", "instructions", "branches", "branch-misses", "cache-references", "cache-misses"}
        none_counted = not any(counters.get(name, {}).get("state") == "counted" for name in hardware)
        if none_counted:
            print("no hardware counters here (a virtual machine without a PMU): a laptop has them")
        else:
            print(f"not supported: {', '.join(unsupported)}\n  (this CPU has no such counter)")
    return 0


# ============================ top-down ======================================

# Top-down level 1, as perf stat prints its metrics in its usual (not
# CSV) layout: "#     23.4 %  tma_retiring" on Intel, "#  26.3 %  retiring"
# on AMD (metric group PipelineL1, which adds smt_contention) and Arm
# Neoverse (TopdownL1). Hybrid Intel CPUs print a group per core type,
# "TopdownL1 (cpu_core)". The samples are in profiles/testdata/topdown/.
TOPDOWN_METRIC = re.compile(r"#\s+(?P<value>-?[\d.,]+|nan)\s*%\s+(?:tma_)?"
                            r"(?P<name>retiring|bad_speculation|frontend_bound|backend_bound|smt_contention)\b")
TOPDOWN_GROUP = re.compile(r"^\s*(?:TopdownL1|PipelineL1)\s*\((?P<pmu>[\w.-]+)\)", re.IGNORECASE)
TOPDOWN_NAMES = {
    "retiring": "useful work, retired",
    "bad_speculation": "work thrown away: mispredicted branches, machine clears",
    "frontend_bound": "slots the front end left empty: fetch and decode",
    "backend_bound": "slots stalled in the back end: memory, execution units",
    "smt_contention": "slots the other hardware thread of the core took",
}


def topdown_metrics(lines):
    """Returns {core type (None where there is one kind): {metric: percent,
    or None for nan}} from perf stat's output, in the order they came."""
    found, pmu = {}, None
    for line in lines:
        group = TOPDOWN_GROUP.match(line)
        if group:
            pmu = group["pmu"]
        metric = TOPDOWN_METRIC.search(line)
        if metric:
            value = metric["value"]
            number = None if value == "nan" else float(value.replace(",", ".") if "." not in value else value)
            found.setdefault(pmu, {})[metric["name"]] = number
    return found


def topdown(path, group):
    """The topdown subcommand: top-down level 1 from perf stat -M GROUP's
    output at path, or one line saying why there is none. Returns 0."""
    with open(path) as file:
        text = file.read()
    found = topdown_metrics(text.splitlines())
    if not found:
        why = ("this machine gives perf no hardware counters (a virtual machine without a PMU)"
               if "<not supported>" in text else
               f"this perf knows no {group} metric group for this CPU" if "Cannot find metric" in text
               else "perf printed no level 1 metric")
        print(f"top-down: not here: {why}")
        return 0
    print(f"top-down level 1 (perf stat -M {group}): where the CPU's issue slots went")
    for pmu, metrics in found.items():
        if pmu:
            print(f"  on {CORE_TYPES.get(pmu, pmu)}:")
        indent = "    " if pmu else "  "
        for name in TOPDOWN_NAMES:
            if name in metrics:
                value = metrics[name]
                shown = "  n/a" if value is None else f"{value:5.1f}%"
                print(f"{indent}{name.replace('_', ' '):<16} {shown}   {TOPDOWN_NAMES[name]}")
    return 0


# ============================ c2c ============================================

# perf c2c report --stdio's "Shared Cache Line Distribution Pareto": per
# cache line, a summary row (its HITM and store counts, its address), then
# a row per offset and code address: the shares of the line's HITMs
# (loads that found the line modified in another CPU's cache) and of its
# stores, the offset, the code address and its symbol. The columns differ
# with perf's version and the CPU (profiles/testdata/c2c/), so they are
# found by their header's names, never by position.
HEX = re.compile(r"^0x[0-9a-fA-F]+$")


def c2c_columns(header):
    """Returns the kinds of the percent columns between Num and Offset of
    the Pareto header: "hitm", "peer" or "store", in order."""
    names = [name.strip() for name in re.split(r"\s{2,}", header.lstrip("#").strip())]
    between = names[names.index("Num") + 1:names.index("Offset")]
    return ["hitm" if "hitm" in name.lower() or name in ("Rmt", "Lcl")
            else "peer" if name == "Peer" else "store" for name in between]


def c2c_lines(lines):
    """Returns the Pareto's cache lines, in its order: [{"address": int,
    "hitm": count, "offsets": {offset: {"hitm": [(share, code, symbol)],
    "store": [...]}}}]."""
    found, kinds, line = [], None, None
    in_pareto = False
    for text in lines:
        if "Shared Cache Line Distribution Pareto" in text:
            in_pareto = True
            continue
        if not in_pareto:
            continue
        if text.lstrip().startswith("#") and " Num " in text and "Offset" in text:
            kinds = c2c_columns(text)
            continue
        fields = text.split()
        if kinds is None or not fields or set(fields[0]) <= set("-|") or fields[0].startswith("---"):
            continue
        if len(fields) == len(kinds) + 2 and fields[0].isdigit() and HEX.match(fields[-1]):
            counts = [int(field) for field in fields[1:-1]]
            line = {"address": int(fields[-1], 16), "offsets": {},
                    "hitm": sum(c for c, kind in zip(counts, kinds) if kind in ("hitm", "peer"))}
            found.append(line)
            continue
        shares = [field for field in fields[:len(kinds)] if field.endswith("%")]
        if line is None or len(shares) != len(kinds):
            continue
        rest = fields[len(kinds):]
        hexes = [field for field in rest if HEX.match(field)]
        if len(hexes) < 2:
            continue
        offset, code = int(hexes[0], 16), hexes[1]
        symbol = rest[rest.index("[.]") + 1] if "[.]" in rest else \
            rest[rest.index("[k]") + 1] if "[k]" in rest else code
        entry = line["offsets"].setdefault(offset, {"hitm": [], "store": []})
        for share, kind in zip(shares, kinds):
            value = float(share.rstrip("%"))
            if value > 0 and kind in ("hitm", "peer"):
                entry["hitm"].append((value, code, symbol))
            elif value > 0 and kind == "store":
                entry["store"].append((value, code, symbol))
    return found


def c2c_hitm_total(lines):
    """Returns the HITMs the report's Trace Event Information counted, and
    the peer hits (Arm's SPE has no HITM: a load served from another
    CPU's cache is a peer hit), or None when it has no such block."""
    total = None
    for text in lines:
        match = re.match(r"^\s*Load (?:HIT )?(Local|Remote) (HITM|Peer)\s*:\s*(\d+)", text)
        if match:
            total = (total or 0) + int(match[3])
    return total


def c2c(report_path, shown=3):
    """The c2c subcommand: the lines with the most HITMs, and per offset
    who stored to it and who loaded it with a HITM. Returns 0."""
    with open(report_path) as file:
        lines = file.read().splitlines()
    total = c2c_hitm_total(lines)
    found = c2c_lines(lines)
    if total is None:
        total = sum(line["hitm"] for line in found)
    if total == 0 or not found:
        print("c2c: no load found its line modified in another CPU's cache (no HITM, no peer hit)"
              " in this run:\n"
              "  nothing written is shared on the request path, or the run was too short (BENCHTIME=)")
        return 0
    print(f"c2c: {total:,} loads found their line modified in another CPU's cache (HITM; on Arm,"
          f" a peer hit);\n  the {min(shown, len(found))} lines with most:")
    for line in found[:shown]:
        print(f"  line {line['address']:#x}: {line['hitm']:,} HITMs")
        for offset, who in sorted(line["offsets"].items()):
            what = f"+{offset:#04x}"
            parts = []
            for kind, verb in (("store", "stored to by"), ("hitm", "loaded, HITM, by")):
                largest = {}        # a symbol's largest share of a column
                for share, _, symbol in who[kind]:
                    largest[symbol] = max(share, largest.get(symbol, 0))
                if largest:
                    parts.append(verb + " " + ", ".join(
                        f"{symbol} {share:.0f}%" for symbol, share in
                        sorted(largest.items(), key=lambda item: -item[1])[:3]))
            print(f"    {what:<24} {'; '.join(parts) or 'neither'}")
    print("  (the shares are of the line's HITMs and of its stores; a false sharing is an offset\n"
          "   that only loads, next to one that stores, in the same line. For a line of the\n"
          "   program's own variables, the offsets are those of the layout below)")
    return 0


# ============================ syscalls =======================================

# The syscalls subcommand's exit status when the trace lost events.
LOST_EVENTS = 4


def syscalls(trace_path, requests):
    """The syscalls subcommand. Returns 0; 1 when none were traced; or
    LOST_EVENTS, after saying so and printing no count, when perf trace
    lost events: every count would be short."""
    requests = int(requests)
    calls, errors = defaultdict(int), defaultdict(int)
    with open(trace_path) as file:
        text = file.read()
    # perf trace reads its events after the kernel wrote them; when it falls
    # behind, the kernel drops some and perf says so, a line per batch.
    lost = sum(int(count) for count in re.findall(r"^LOST (\d+) events!", text, re.M))
    if lost:
        print(f"perf trace lost {lost:,} events: it fell behind the server, so its counts would be"
              " short,\nand none is shown")
        return LOST_EVENTS
    if "% time" in text:   # strace -c -f: % time, seconds, usecs/call, calls, [errors,] syscall
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 5 and re.fullmatch(r"[\d.]+", fields[0]) and fields[-1] != "total":
                calls[fields[-1]] += int(fields[3])
                if len(fields) == 6:
                    errors[fields[-1]] += int(fields[4])
    else:                  # perf trace -s: per thread, syscall calls errors total ...
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[1].isdigit() and fields[2].isdigit() \
                    and re.fullmatch(r"[a-z_0-9]+", fields[0]):
                calls[fields[0]] += int(fields[1])
                errors[fields[0]] += int(fields[2])
    if not calls or requests == 0:
        print("syscalls: nothing traced, or no request answered", file=sys.stderr)
        return 1
    print(f"system calls per request ({requests:,} requests; the server's threads):")
    for name in sorted(calls, key=lambda n: -calls[n]):
        per = calls[name] / requests
        if per < 0.01:
            continue
        failing = ""
        if errors[name] >= calls[name] / 100:
            failing = f"   FAILS {100 * errors[name] / calls[name]:.0f}% of the time"
        print(f"  {name:<14} {per:6.2f}{failing}")
    rare = sum(calls[n] for n in calls if calls[n] / requests < 0.01)
    if rare:
        print(f"  (and {rare:,} calls of rarer ones: start-up, new connections)")
    return 0


# ============================ offcpu =========================================

EVENT = re.compile(r"^\s*(?P<comm>.+?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s+(?P<time>[\d.]+):\s+sched:sched_switch:"
                   r".*prev_pid=(?P<prev>\d+).*prev_state=(?P<state>\S+)\s+==>.*next_pid=(?P<next>\d+)")


def wait_reason(state, frames):
    """Names why a thread left the CPU, from its state and stack."""
    if state.startswith("R"):
        return "preempted: runnable, waiting for a CPU"
    kernel = " ".join(sym for address, sym in frames if address.startswith("ffff"))
    user = [sym for address, sym in frames if not address.startswith("ffff")]
    call = re.sub(r"^(__GI_+|__libc_|__)", "", user[0].split()[0]) if user else "?"
    if "futex" in kernel:
        return f"futex, in {call}: a lock or a condition variable"
    if "poll" in kernel:
        return f"{call}: waiting for a socket (the next request, or a connection)"
    return f"{call} (kernel: {kernel.split()[2] if len(kernel.split()) > 2 else kernel})"


def offcpu(directory, server_pid, requests):
    """The offcpu subcommand. Returns 0, or 1 when the server never ran."""
    requests = int(requests)
    done = subprocess.Popen(["perf", "script", "-F", "comm,pid,tid,time,event,trace,ip,sym"],
                            cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    server_tids, comm_of = set(), {}
    left = {}                      # tid -> (time, reason) while off the CPU
    went_on = {}                   # tid -> time it last went on
    off = defaultdict(float)       # (comm, reason) -> seconds
    on = defaultdict(float)        # comm -> seconds
    event, frames = None, []

    def finish(event, frames):
        if event is None:
            return
        time = float(event["time"])
        prev, following = int(event["prev"]), int(event["next"])
        if int(event["pid"]) == server_pid:
            server_tids.add(prev)
            comm_of[prev] = event["comm"].strip()
            left[prev] = (time, wait_reason(event["state"], frames))
            if prev in went_on:
                on[comm_of[prev]] += time - went_on.pop(prev)
        if following in server_tids:
            went_on[following] = time
            if following in left:
                since, reason = left.pop(following)
                off[(comm_of[following], reason)] += time - since

    for line in done.stdout:
        match = EVENT.match(line)
        if match:
            finish(event, frames)
            event, frames = match.groupdict(), []
        elif line.strip() and event is not None:
            parts = line.split(None, 1)
            frames.append((parts[0], parts[1].strip() if len(parts) > 1 else "?"))
    finish(event, frames)
    done.wait()
    if not on and not off:
        fail("no scheduler event of the server was recorded")
    total_off = sum(off.values())
    print(f"where the server's threads spent {requests:,} requests under wrk:")
    print(f"  on a CPU:  {1e6 * sum(on.values()) / requests:8.1f} us per request, all threads"
          f" ({', '.join(f'{comm} {1e3 * t:.0f} ms' for comm, t in sorted(on.items()))})")
    print(f"  off a CPU: {1e6 * total_off / requests:8.1f} us per request, summed over threads, by reason:")
    for (comm, reason), seconds in sorted(off.items(), key=lambda item: -item[1])[:8]:
        print(f"    {100 * seconds / total_off:5.1f}%  {comm:<16} {reason}")
    return 0


def main(argv):
    if len(argv) == 7 and argv[1] == "flame":
        return flame(*argv[2:])
    if len(argv) == 4 and argv[1] == "stat":
        return stat(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "c2c":
        return c2c(argv[2])
    if len(argv) == 4 and argv[1] == "topdown":
        return topdown(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "syscalls":
        return syscalls(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "offcpu":
        return offcpu(argv[2], int(argv[3]), argv[4])
    fail("usage: perfreport.py flame DIR ROOT FOCUS TEMPLATE BINARY | stat CSV CALLS | topdown FILE GROUP"
         " | c2c REPORT"
         " | syscalls TRACE REQUESTS | offcpu DIR SERVER-PID REQUESTS")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
