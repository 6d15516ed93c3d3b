#!/usr/bin/python3
"""flamediff.py - what changed from one unit to another, as flame graphs.

  flamediff.py instructions OUTDIR OLD-LABEL OLD-STACKS NEW-LABEL NEW-STACKS
      The STACKS are bench/instr.py's stacks.json: callgrind's exact
      count, instructions per call of hi_handle by call stack.
  flamediff.py time OUTDIR OLD-LABEL OLD-FLAME-DIR NEW-LABEL NEW-FLAME-DIR
      The FLAME-DIRs are make stageN flame's (perf samples of BenchmarkHi):
      each unit's samples under hi_handle, shared out of the benchmark's
      ns/op, so that both are nanoseconds per call.

Writes into OUTDIR, and prints:
  flamediff.txt   the totals, and the functions that changed most;
  new.svg/png     NEW's flame graph, each frame coloured by how its own
                  cost changed: red grew, blue shrank, the deeper the
                  colour the larger the change (the scheme of Brendan
                  Gregg's differential flame graphs); a frame new in NEW
                  is deep red;
  old.svg/png     the same over OLD's widths: what shrank, and what is
                  gone (deep blue), which NEW's picture cannot show.
The SVGs give each frame's numbers when the mouse rests on it.
"""
import json
import os
import re
import sys
from collections import defaultdict

import flamegraph
from perfreport import kernel_collapsed, merged_under, tree_total

HANDLER = "hi_handle"
UNITS = {"instructions": "instructions", "time": "ns"}


def fail(message):
    """Prints message and exits with status 1."""
    print(f"flamediff: {message}", file=sys.stderr)
    sys.exit(1)


# ============================ The two trees ===================================

def instruction_tree(path):
    """Returns instr.py's tree of instructions per call under hi_handle."""
    try:
        with open(path) as file:
            tree = json.load(file)
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error} (make flamediff makes it)")
    tree.pop("key", None)
    return tree


def time_tree(directory):
    """Returns the tree of nanoseconds per call under hi_handle from a
    perf flame directory: each frame's samples times the benchmark's
    ns/op over the samples under BenchmarkHi (the loop that ns/op times)."""
    try:
        with open(os.path.join(directory, "stacks.json")) as file:
            stacks = json.load(file)
        with open(os.path.join(directory, "bench.txt")) as file:
            bench = file.read()
    except (OSError, ValueError) as error:
        fail(f"cannot read {directory}: {error} (make stageN flame makes it)")
    ns_per_op = re.search(r"^BenchmarkHi\S*\s+\d+\s+([\d.]+) ns/op", bench, re.M)
    timed = tree_total(merged_under(stacks, "BenchmarkHi"))
    handler = kernel_collapsed(merged_under(stacks, HANDLER))
    if ns_per_op is None or timed == 0 or tree_total(handler) == 0:
        fail(f"{directory}: no BenchmarkHi line, or no samples under {HANDLER}")
    scale = float(ns_per_op[1]) / timed
    return scaled(handler, scale)


def scaled(node, factor):
    """Returns a copy of the tree with every value times factor."""
    return dict(node, v=node["v"] * factor, c=[scaled(child, factor) for child in node["c"]])


def paired(old, new):
    """Returns one tree of both: per frame (by call path), "old" and "new"
    hold each side's tree node or None."""
    pair = {"n": (old or new)["n"], "l": (old or new)["l"], "old": old, "new": new, "c": []}
    names = []
    for side in (old, new):
        for child in side["c"] if side else ():
            if child["n"] not in names:
                names.append(child["n"])
    for name in names:
        find = lambda side: next((c for c in side["c"] if c["n"] == name), None) if side else None
        pair["c"].append(paired(find(old), find(new)))
    return pair


def side_total(pair, side):
    """Returns a paired frame's cost on one side, callees included."""
    return tree_total(pair[side]) if pair[side] else 0.0


def side_self(pair, side):
    """Returns a paired frame's own cost on one side."""
    return pair[side]["v"] if pair[side] else 0.0


def drawn(pair, side):
    """Returns the tree flamegraph.py draws: the paired frames with one
    side's widths (frames that side lacks are left out), each keeping
    its pair for the colour and the tooltip."""
    return {"n": pair["n"], "l": pair["l"], "v": side_self(pair, side), "pair": pair,
            "c": [drawn(child, side) for child in pair["c"] if child[side] is not None]}


# ============================ Colours and words ===============================

def largest_self_change(pair):
    """Returns the largest change of a frame's own cost in the tree."""
    here = abs(side_self(pair, "new") - side_self(pair, "old"))
    return max([here] + [largest_self_change(child) for child in pair["c"]])


def fill(largest):
    """Returns the fill function for frames: grey for no change, red as
    a frame's own cost grew, blue as it shrank, in proportion to the
    largest change; a frame only one side has is the deepest colour."""
    def frame_fill(node):
        pair = node["pair"]
        if pair["old"] is None:
            strength, grew = 1.0, True
        elif pair["new"] is None:
            strength, grew = 1.0, False
        else:
            change = side_self(pair, "new") - side_self(pair, "old")
            if change == 0:
                return "rgb(225,225,225)"
            strength, grew = (abs(change) / largest if largest else 0.0), change > 0
        fade = round(235 - 200 * strength)
        return f"rgb(255,{fade},{fade})" if grew else f"rgb({fade},{fade},255)"
    return frame_fill


def amount(value, unit):
    """Returns a cost as the report prints it."""
    return f"{value:,.0f}" if unit == "instructions" else f"{value:,.1f}"


def tip(unit, old_label, new_label):
    """Returns the tooltip function: both sides' costs of the frame."""
    def frame_tip(node, _):
        pair = node["pair"]
        old, new = side_total(pair, "old"), side_total(pair, "new")
        change = f"{100 * (new - old) / old:+.1f}%" if old else "new"
        return (f"{pair['n']}: {amount(old, unit)} -> {amount(new, unit)} {unit} per call"
                f" ({change}; {old_label} -> {new_label}, callees included; its own:"
                f" {amount(side_self(pair, 'old'), unit)} -> {amount(side_self(pair, 'new'), unit)})")
    return frame_tip


def function_totals(pair, side, totals, seen=()):
    """Adds each function's cost on one side, callees included, counted
    once per stack even where it recurses."""
    if pair[side] is None:
        return
    if pair["n"] not in seen:
        totals[pair["n"]] += tree_total(pair[side])
        seen = seen + (pair["n"],)
    for child in pair["c"]:
        function_totals(child, side, totals, seen)


def report(pair, unit, old_label, new_label, metric):
    """Returns the text report's lines."""
    old, new = side_total(pair, "old"), side_total(pair, "new")
    how = "callgrind's count, exact" if metric == "instructions" else \
        "perf's samples, scaled to each benchmark's ns/op"
    lines = [f"flamediff: {unit} per call of {HANDLER}, {old_label} -> {new_label}",
             f"  ({how})",
             f"  in all   {amount(old, unit):>10} -> {amount(new, unit):>10}"
             f"  {amount(new - old, unit).rjust(10) if new < old else '+' + amount(new - old, unit)}"
             f"  ({100 * (new - old) / old:+.1f}%)" if old else "",
             "  the functions that changed most (callees included):"]
    totals = {side: defaultdict(float) for side in ("old", "new")}
    for side in totals:
        function_totals(pair, side, totals[side])
    names = set(totals["old"]) | set(totals["new"])
    names.discard(HANDLER)
    # A change too small to print is no change.
    names = {name for name in names
             if amount(totals["old"][name], unit) != amount(totals["new"][name], unit)}
    changes = sorted(names, key=lambda name: -abs(totals["new"][name] - totals["old"][name]))
    if not changes:
        lines.append("    (none: every function costs what it did)")
    if "[unknown]" in changes[:8]:
        lines.append("    ([unknown]: the functions perf could not name, pcre2's own among them,"
                     " summed;\n     METRIC=instructions names each)")
    width = max([len(name) for name in changes[:8]] + [10])
    for name in changes[:8]:
        before, after = totals["old"][name], totals["new"][name]
        note = "gone" if after == 0 else "new" if before == 0 else f"{100 * (after - before) / before:+.0f}%"
        lines.append(f"    {name:<{width}} {amount(before, unit):>10} -> {amount(after, unit):>10}"
                     f"  {note}")
    return lines


# ============================ main ============================================

def main(argv):
    if len(argv) != 7 or argv[1] not in UNITS:
        print("usage: flamediff.py instructions|time OUTDIR OLD-LABEL OLD NEW-LABEL NEW", file=sys.stderr)
        return 2
    metric, outdir, old_label, old_path, new_label, new_path = argv[1:]
    unit = UNITS[metric]
    read = instruction_tree if metric == "instructions" else time_tree
    pair = paired(read(old_path), read(new_path))
    os.makedirs(outdir, exist_ok=True)
    lines = report(pair, unit, old_label, new_label, metric)
    style = {"fill": fill(largest_self_change(pair)), "tip": tip(unit, old_label, new_label)}
    old, new = side_total(pair, "old"), side_total(pair, "new")
    for side, label, total in (("new", new_label, new), ("old", old_label, old)):
        png = os.path.join(outdir, f"{side}.png")
        flamegraph.draw(drawn(pair, side), os.path.join(outdir, f"{side}.svg"), png,
                        f"{HANDLER}, {old_label} -> {new_label}: {amount(old, unit)} -> {amount(new, unit)}"
                        f" {unit} per call; widths: {label}'s",
                        legend="red: its own cost grew, blue: shrank (the deeper, the more);"
                               + (" deep red: new" if side == "new" else " deep blue: gone"),
                        **style)
    lines.append(f"wrote: {outdir}/\n       new.png ({new_label}'s widths), old.png ({old_label}'s:"
                 " what went), flamediff.txt;\n       in a browser, the .svg files give each frame's numbers on hover")
    with open(os.path.join(outdir, "flamediff.txt"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
