#!/usr/bin/python3
"""cachelines.py - which variables share a cache line with the one every
request writes (make stageN cachelines).

  cachelines.py BINARY OBJECT OUTDIR [HOT]

BINARY is the linked program (make stageN cachelines: the server; make
stageN c2c: the benchmark it ran), OBJECT the unit's own hi.o, HOT the variable
every request writes (visitor_count). Prints the unit's variables by
64-byte cache line, then whether HOT has its line to itself, and writes
the same as OUTDIR/cachelines.json for the checks in make test:

  {"line": 64, "hot": "visitor_count", "found": true,
   "neighbours": {"64": [...], "128": [...]}, "lines": [...]}

neighbours["64"] are the variables in HOT's 64-byte line, ["128"] those
in its aligned pair of lines (Intel's L2 prefetcher fetches lines in
pairs; Apple's CPUs have 128-byte lines).

The layout is the linker's: nm reads it from the binary, no run needed.
Where every request also reads one of those neighbours, each read after
another CPU has counted waits for the line to come back (false sharing);
perf c2c sees that happen, where the CPU lets it (make stageN c2c).
"""
import json
import os
import subprocess
import sys

LINE = 64
DATA_TYPES = set("bBdDgGsSvV")


def data_symbols(path):
    """Returns nm's defined data symbols of path: (address, size, name), by
    address. A symbol without a size (_end, __bss_start: the linker's
    marks, not variables) is left out."""
    done = subprocess.run(["nm", "-n", "-S", "--defined-only", path],
                          capture_output=True, text=True, check=True)
    symbols = []
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in DATA_TYPES:
            symbols.append((int(fields[0], 16), int(fields[1], 16) or 1, fields[3]))
    return symbols


def lines_of(address, size, line=LINE):
    """Returns the numbers of the line-sized blocks that address..size touches."""
    return range(address // line, (address + size - 1) // line + 1)


def sharing(symbols, hot, line):
    """Returns the names of the symbols other than hot that touch one of
    hot's line-sized blocks, or None when hot is not among symbols."""
    hot_symbols = [s for s in symbols if s[2] == hot]
    if not hot_symbols:
        return None
    hot_lines = set(lines_of(hot_symbols[0][0], hot_symbols[0][1], line))
    return [name.split("@")[0] for address, size, name in symbols
            if name != hot and hot_lines & set(lines_of(address, size, line))]


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary, obj, outdir = argv[1:4]
    hot = argv[4] if len(argv) == 5 else "visitor_count"
    own = {name for _, _, name in data_symbols(obj)}
    symbols = data_symbols(binary)
    ours = [s for s in symbols if s[2] in own]
    # Every variable in a line that holds one of ours: theirs matter too.
    shown_lines = sorted({n for address, size, _ in ours for n in lines_of(address, size)})
    print(f"cachelines: the variables of {os.path.basename(os.path.dirname(obj))}'s hi.c in"
          f" {binary}, by {LINE}-byte line (nm -n -S)")
    table = []
    for number in shown_lines:
        start = number * LINE
        names = [(address, size, name) for address, size, name in symbols
                 if number in lines_of(address, size)]
        table.append({"line": hex(start),
                      "variables": [{"name": n, "address": hex(a), "size": s, "ours": n in own}
                                    for a, s, n in names]})
        for index, (address, size, name) in enumerate(names):
            where = f"+{address - start:#04x}" if address >= start else "(cont.)"
            notes = ([] if name in own else ["not hi.c's"]) + (["every request writes it"]
                                                                  if name == hot else [])
            print(f"  {hex(start) if index == 0 else '':>8}  {where:>7}  {name.split('@')[0]:<18}"
                  f" {size:>4} B" + (f"   <- {'; '.join(notes)}" if notes else ""))
    neighbours = {str(line): sharing(symbols, hot, line) for line in (LINE, 2 * LINE)}
    found = neighbours[str(LINE)] is not None
    if not found:
        print(f"{hot}: not in this program (renamed, or gone): nothing to say of its line")
    elif neighbours[str(LINE)]:
        mine = [name for name in neighbours[str(LINE)] if name in own]
        others = [name for name in neighbours[str(LINE)] if name not in own]
        print(f"{hot} shares its {LINE}-byte line with:")
        if mine:
            print(f"  hi.c's own, which the handler may read: {', '.join(mine)}")
        if others:
            print(f"  others', which a request may never touch: {', '.join(others)}")
        print("  a CPU that touches one of them after another CPU counted waits for the line to come"
              "\n  back (false sharing)")
    elif neighbours[str(2 * LINE)]:
        print(f"{hot} has its {LINE}-byte line to itself, but shares the pair Intel's prefetcher"
              f" fetches\n  together (an Apple CPU's 128-byte line) with"
              f" {', '.join(neighbours[str(2 * LINE)])}")
    else:
        print(f"{hot} has its {LINE}-byte line to itself, and the aligned pair of lines"
              f" ({2 * LINE} bytes):\n  no false sharing with it")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "cachelines.json"), "w") as file:
        json.dump({"line": LINE, "hot": hot, "found": found, "neighbours": neighbours,
                   "lines": table}, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
