#!/usr/bin/python3
"""locknames.py LOCKS PROGRAM - which mutexes the threads waited for, by name.

LOCKS is what profiles/contention.c writes beside its profile
(PROFILE.locks): per mutex, its address, its contended lock calls, the
nanoseconds they waited, and the file it lies in with its offset there
("(the program)" is PROGRAM itself; "-" is memory no file maps, such as
a heap block). Prints one line per mutex, the longest wait first:

  shared_match_lock (stages/04-zero-alloc/hi.c:31): 417,563 contended calls, 209.8 ms waiting

A mutex in a variable is named by the symbol table (nm, with the line
that defines it where the debug information says); one inside a larger
variable, such as a struct, by that variable and where in it; one in a
heap block by its address alone, since no name points to it. Exits 1
when LOCKS is missing or holds no mutex.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MUTEX_SIZE = 40       # sizeof(pthread_mutex_t) on Linux, x86-64 and arm64


def symbols(path):
    """Returns [(start, size, name, where)] for the data and code symbols
    defined in the file at path: its symbol table, or where it was
    stripped (Debian's libraries), its dynamic one."""
    found = []
    for extra in ([], ["-D"]):
        done = subprocess.run(["nm", "-S", "-l", "--defined-only", *extra, path],
                              capture_output=True, text=True)
        for line in done.stdout.splitlines():
            match = re.match(r"([0-9a-f]+) ([0-9a-f]+) \w (\S+)\s*(\S*)", line)
            if match:
                where = match[4]
                if where.startswith(ROOT + "/"):
                    where = os.path.relpath(where, ROOT)
                found.append((int(match[1], 16), int(match[2], 16), match[3], where))
        if found:
            break
    return found


def name_of(offset, table):
    """Returns how the mutex at offset in a file with symbols table is
    named: its variable, or the variable it lies in; None if none."""
    for start, size, name, where in table:
        if start <= offset < start + max(size, 1):
            inside = "" if offset == start and size <= MUTEX_SIZE else \
                f", at +{offset - start} of its {size} bytes"
            return f"{name} ({where or 'no line'}{inside})"
    return None


def lines(locks_path, program):
    """Returns the report's lines, the longest wait first."""
    rows, tables = [], {}
    with open(locks_path) as file:
        for line in file:
            fields = line.split(None, 4)
            if len(fields) != 5:
                continue
            address, count, wait_ns, where, offset = fields
            offset = offset.strip()
            name = None
            if where != "-":
                path = program if where == "(the program)" else where
                tables.setdefault(path, symbols(path))
                name = name_of(int(offset, 16), tables[path])
                if name is None:
                    name = f"a mutex in {os.path.basename(path)} at +{offset}, no symbol names it"
            else:
                name = f"a mutex at {address}, in memory no file maps (a heap block): no name"
            rows.append((int(wait_ns), int(count), name))
    return [f"  {name}: {count:,} contended calls, {wait_ns / 1e6:.1f} ms waiting"
            for wait_ns, count, name in sorted(rows, reverse=True)]


def main(argv):
    if len(argv) != 3:
        print("usage: locknames.py LOCKS PROGRAM", file=sys.stderr)
        return 2
    if not os.path.exists(argv[1]):
        print(f"locknames: no {argv[1]}: the contention profiler wrote no list of locks",
              file=sys.stderr)
        return 1
    report = lines(argv[1], argv[2])
    if not report:
        print(f"locknames: {argv[1]} names no mutex", file=sys.stderr)
        return 1
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
