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
import math
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
    """Returns a copy of the tree with every value times factor, each
    frame keeping its own samples ("s") and the factor ("k"), from which
    its sampling noise follows (noise())."""
    return dict(node, v=node["v"] * factor, s=node["v"], k=factor,
                c=[scaled(child, factor) for child in node["c"]])


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


# ============================ Noise ===========================================
# A count of samples is noisy: n samples vary by about sqrt(n) from one
# run to the next (Poisson). A change of a frame's time is told apart
# from that noise only when it is larger than NOISE_SIGMAS standard
# deviations of the difference, sqrt(n_old + n_new) samples, each side
# scaled to ns: three, not two, because a graph has dozens of frames, and
# at two one in twenty would be coloured by chance. callgrind's counts
# have no noise: every change is real.
NOISE_SIGMAS = 3

def variance(node):
    """Returns the variance of a tree node's own cost (0 if exact)."""
    return node.get("k", 0.0) ** 2 * node.get("s", 0.0) if node else 0.0


def subtree_variance(node):
    """Returns the variance of a node's cost, callees included."""
    return variance(node) + sum(subtree_variance(child) for child in node["c"])


def changed(before, after, var):
    """Returns whether a cost that went from before to after, with the
    variance var, changed by more than its noise."""
    return abs(after - before) > NOISE_SIGMAS * math.sqrt(var) and after != before


def self_changed(pair):
    """Returns whether a paired frame's own cost changed beyond its noise."""
    return changed(side_self(pair, "old"), side_self(pair, "new"),
                   variance(pair["old"]) + variance(pair["new"]))


# ============================ Colours and words ===============================

def largest_self_change(pair):
    """Returns the largest change of a frame's own cost in the tree
    (changes within the noise left out)."""
    here = abs(side_self(pair, "new") - side_self(pair, "old")) if self_changed(pair) else 0.0
    return max([here] + [largest_self_change(child) for child in pair["c"]])


def fill(largest):
    """Returns the fill function for frames: grey for no change (or one
    within the sampling noise), red as a frame's own cost grew, blue as it
    shrank, in proportion to the largest change; a frame only one side
    has is the deepest colour, which no other frame reaches."""
    def frame_fill(node):
        pair = node["pair"]
        if not self_changed(pair):
            return "rgb(225,225,225)"
        if pair["old"] is None:
            strength, grew = 1.0, True
        elif pair["new"] is None:
            strength, grew = 1.0, False
        else:
            # The deepest colour is kept for new and gone: a frame that
            # both have goes at most three quarters of the way there.
            change = side_self(pair, "new") - side_self(pair, "old")
            strength, grew = (0.75 * abs(change) / largest if largest else 0.0), change > 0
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


def function_totals(pair, side, totals, variances, seen=()):
    """Adds each function's cost on one side, callees included, counted
    once per stack even where it recurses, and its variance. Below a
    frame that only one side has (gone, or new), it goes no further:
    what runs there is gone or new with it, and counted in it, not again
    under the names of the functions it called."""
    if pair[side] is None:
        return
    if pair["n"] not in seen:
        totals[pair["n"]] += tree_total(pair[side])
        variances[pair["n"]] += subtree_variance(pair[side])
        seen = seen + (pair["n"],)
    if pair["old"] is None or pair["new"] is None:
        return
    for child in pair["c"]:
        function_totals(child, side, totals, variances, seen)


def report(pair, unit, old_label, new_label, metric):
    """Returns the text report's lines."""
    old, new = side_total(pair, "old"), side_total(pair, "new")
    how = "callgrind's count, exact" if metric == "instructions" else \
        "perf's samples, scaled to each benchmark's ns/op"
    change = amount(new - old, unit) if new < old else "+" + amount(new - old, unit)
    share = f"  ({100 * (new - old) / old:+.1f}%)" if old else ""
    lines = [f"flamediff: {unit} per call of {HANDLER}, {old_label} -> {new_label}",
             f"  ({how})",
             f"  in all   {amount(old, unit):>10} -> {amount(new, unit):>10}  {change:>10}{share}",
             "  the functions that changed most (callees included):"]
    totals = {side: defaultdict(float) for side in ("old", "new")}
    variances = defaultdict(float)
    for side in totals:
        function_totals(pair, side, totals[side], variances)
    names = set(totals["old"]) | set(totals["new"])
    names.discard(HANDLER)
    # A change within the noise, or too small to print, is no change.
    names = {name for name in names
             if changed(totals["old"][name], totals["new"][name], variances[name])
             and amount(totals["old"][name], unit) != amount(totals["new"][name], unit)}
    listed = sorted(names, key=lambda name: (-abs(totals["new"][name] - totals["old"][name]), name))[:8]
    if not listed:
        lines.append("    (none: every function costs what it did"
                     + (", within the sampling noise)" if metric == "time" else ")"))
    width = max([len(name) for name in listed] + [10])
    for name in listed:
        before, after = totals["old"][name], totals["new"][name]
        note = "gone" if after == 0 else "new" if before == 0 else f"{100 * (after - before) / before:+.0f}%"
        lines.append(f"    {name:<{width}} {amount(before, unit):>10} -> {amount(after, unit):>10}"
                     f"  {note}")
    if "[unknown]" in listed:
        lines.append("    ([unknown]: the functions perf could not name, pcre2's own among them,"
                     " summed;\n     METRIC=instructions names each)")
    if metric == "time":
        lines.append(f"  (grey, and not listed: a change within {NOISE_SIGMAS} standard deviations of its"
                     "\n   frame's sample count. Not in that test: ns/op, which scales every frame"
                     "\n   alike and moves from run to run; make benchcmp measures it)")
    return lines


# ============================ main ============================================

def main(argv):
    if len(argv) != 7 or argv[1] not in UNITS:
        print("usage: flamediff.py instructions|time OUTDIR OLD-LABEL OLD NEW-LABEL NEW", file=sys.stderr)
        return 2
    metric, outdir, old_label, old_path, new_label, new_path = argv[1:]
    for name in ("flamediff.txt", "new.svg", "new.png", "old.svg", "old.png"):
        if os.path.exists(os.path.join(outdir, name)):    # never an earlier run's
            os.remove(os.path.join(outdir, name))
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
                               + (" deep red: new" if side == "new" else " deep blue: gone")
                               + ("; grey: within the noise" if metric == "time" else ""),
                        **style)
    lines.append(f"wrote: {outdir}/\n       new.png ({new_label}'s widths), old.png ({old_label}'s:"
                 " what went), flamediff.txt;\n       in a browser, the .svg files give each frame's numbers on hover")
    with open(os.path.join(outdir, "flamediff.txt"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
