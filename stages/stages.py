#!/usr/bin/python3
"""stages.py - Python's reader of stages/stages.txt, and the check that
every copy of a stage's title a reader sees agrees with it.

  import stages; stages.read()   the stages, as dicts (bench/instr.py,
                                 slides/build.py)
  stages.py check                make test's title-check: each stage's
                                 folder has hi.c and README.md, hi.c's first
                                 comment line reads " * Stage N: TITLE.",
                                 README.md's heading "# Stage N: TITLE", and
                                 the top README's table row N starts with the
                                 title; every mismatch is reported, by file

The shell and make have the other reader, stages/stages.sh.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read(path=os.path.join(HERE, "stages.txt")):
    """Returns the stages as dicts, in order: number, folder, expects (a
    set), instructions (a list of claims, empty for "-") and title."""
    result = []
    with open(path) as file:
        for line in file:
            if not line.strip() or line.startswith("#"):
                continue
            number, folder, expects, instructions, title = line.split(None, 4)
            result.append({"number": int(number), "folder": folder,
                           "expects": set(expects.split(",")),
                           "instructions": [] if instructions == "-" else instructions.split(","),
                           "title": title.strip()})
    return result


def first_line(path, pattern):
    """Returns the first line of the file at path that matches pattern
    (stripped of its newline), or None; "missing" when there is no file."""
    if not os.path.exists(path):
        return "missing"
    with open(path) as file:
        for line in file:
            if re.match(pattern, line):
                return line.rstrip("\n")
    return None


def check():
    """The check subcommand. Returns 0 when every copy agrees, else 1."""
    problems = []
    readme = os.path.join(ROOT, "README.md")
    for stage in read():
        number, title, folder = stage["number"], stage["title"], stage["folder"]
        where = os.path.join("stages", folder)
        wants = [
            (os.path.join(where, "hi.c"), r" \* Stage \d+:", f" * Stage {number}: {title}."),
            (os.path.join(where, "README.md"), r"# ", f"# Stage {number}: {title}"),
        ]
        for path, pattern, want in wants:
            got = first_line(os.path.join(ROOT, path), pattern)
            if got != want:
                problems.append(f"{path}: {got!r}, want {want!r} (stage {number} in stages/stages.txt)")
        row = first_line(readme, rf"\| {number} \| ")
        cells = [cell.strip() for cell in (row or "").split("|")]
        if len(cells) < 4 or not cells[3].startswith(title):
            problems.append(f"README.md: the table's row for stage {number} is {row!r};"
                            f" its third column must start with the title {title!r}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        print("stages/stages.txt is where a stage's title is written; the copies above follow it")
        return 1
    print(f"stages: {len(read())} titles, each the same in its hi.c, its README.md and the top README")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        sys.exit(check())
    print("usage: stages.py check", file=sys.stderr)
    sys.exit(2)
