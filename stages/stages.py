#!/usr/bin/python3
"""stages.py - Python's reader of stages/stages.txt, and the check that
every copy of a stage's title a reader sees agrees with it.

  import stages; stages.read()   the stages, as dicts (bench/instr.py,
                                 slides/build.py)
  stages.exercise(N)             what make work FROM=N is checked with
  stages.py criterion N          that check, in words: what make work
                                 FROM=N prints, and its guide must state
  stages.py adds N               what it expects that stage N does not
                                 (race-free, zero-alloc, lock-free), a line each
  stages.py check                make test's title-check: each stage's
                                 folder has hi.c and README.md, hi.c's first
                                 comment line reads " * Stage N: TITLE.",
                                 README.md's heading "# Stage N: TITLE", and
                                 the top README's table row N starts with the
                                 title; each guide's Exercise section states
                                 its criterion; every mismatch is reported,
                                 by file

The shell and make have the other reader, stages/stages.sh.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def rows(path=os.path.join(HERE, "stages.txt")):
    """Returns every row of the file as a dict: number (an int, or "open"
    for the open exercise's row), folder, expects (a set, empty for "-"),
    instructions (a list of claims, empty for "-") and title."""
    result = []
    with open(path) as file:
        for line in file:
            if not line.strip() or line.startswith("#"):
                continue
            number, folder, expects, instructions, title = line.split(None, 4)
            result.append({"number": int(number) if number.isdigit() else number, "folder": folder,
                           "expects": set() if expects == "-" else set(expects.split(",")),
                           "instructions": [] if instructions == "-" else instructions.split(","),
                           "title": title.strip()})
    return result


def read(path=os.path.join(HERE, "stages.txt")):
    """Returns the stages as dicts (rows() without the open row), in order."""
    return [row for row in rows(path) if isinstance(row["number"], int)]


def exercise(number):
    """Returns the check of make work FROM=number, or None when there is
    no such stage: a dict with "from" (number), "checked_as" (the stage
    whose suite expectations apply: the next one, or the last itself),
    "title", "expects" (a set: race is dropped, a workspace may keep its
    race or fix it) and "instructions" (the claims against stage number).
    It is the next stage's row; after the last, the open row's claim with
    the last stage's expects."""
    table = rows()
    numbers = [row["number"] for row in table]
    if number not in numbers or not isinstance(number, int):
        return None
    following = table[numbers.index(number) + 1] if numbers.index(number) + 1 < len(table) else None
    if following is None:
        return None
    last = [row for row in table if isinstance(row["number"], int)][-1]
    checked = following if isinstance(following["number"], int) else last
    return {"from": number, "checked_as": checked["number"], "title": following["title"],
            "expects": checked["expects"] - {"race"}, "instructions": following["instructions"]}


# What each expectation and claim means, in the words make work and the
# guides use.
EXPECTATION_WORDS = {
    "race-free": "no data race (ThreadSanitizer stays quiet, and every visitor number is"
                 " handed out once)",
    "zero-alloc": "nothing allocated in BenchmarkHi (0 B/op, 0 allocs/op)",
    "lock-free": "no pthread lock called on the request path",
}


def claim_words(claim, before):
    """Returns an instructions claim against stage before, in words."""
    factor = re.fullmatch(r"<=([\d.]+)x", claim)
    absolute = re.fullmatch(r"<=(\d+)", claim)
    if claim == "=":
        return f"the same instructions per request as stage {before}, within 1%"
    if claim == "<":
        return f"fewer instructions per request than stage {before}"
    if factor:
        return f"at most {factor[1]} times stage {before}'s instructions per request"
    if absolute:
        return f"at most {absolute[1]} instructions per request"
    raise ValueError(f"unknown claim {claim!r} in stages.txt")


def added_expectations(number):
    """Returns, sorted, what the exercise of stage number expects that
    the stage itself does not: what its copy, unchanged, must fail."""
    here = next(row for row in read() if row["number"] == number)
    return sorted(exercise(number)["expects"] - here["expects"])


def criterion(number):
    """Returns what make work FROM=number checks, in one sentence: what
    the next stage adds to this one's expectations, and its claims."""
    parts = [EXPECTATION_WORDS[name] for name in added_expectations(number)]
    parts += [claim_words(claim, number) for claim in exercise(number)["instructions"]]
    return "the shared suite passes, with " + ", and ".join(parts)


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


def section(path, heading):
    """Returns the text of the "## heading" section of a Markdown file,
    or "" when it has none."""
    if not os.path.exists(path):
        return ""
    with open(path) as file:
        match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", file.read(), re.M | re.S)
    return match[1] if match else ""


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
        sentence = (f"`make work test` checks your copy as stage {exercise(number)['checked_as']}:"
                    f" it passes when {criterion(number)}.")
        guide = os.path.join(where, "README.md")
        if sentence not in " ".join(section(os.path.join(ROOT, guide), "Exercise").split()):
            problems.append(f"{guide}: its Exercise section does not say, in these words:"
                            f" {sentence!r} (stages.py criterion {number})")
        row = first_line(readme, rf"\| {number} \| ")
        cells = [cell.strip() for cell in (row or "").split("|")]
        if len(cells) < 4 or not cells[3].startswith(title):
            problems.append(f"README.md: the table's row for stage {number} is {row!r};"
                            f" its third column must start with the title {title!r}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        print("stages/stages.txt is where a stage's title and its exercise's check are written;"
              " the copies above follow it")
        return 1
    print(f"stages: {len(read())} titles, each the same in its hi.c, its README.md and the top README;\n"
          "  each guide states its exercise's check as make work prints it")
    return 0


def main(argv):
    """Runs one subcommand. Returns the exit status."""
    if argv == ["check"]:
        return check()
    if len(argv) == 2 and argv[0] in ("criterion", "adds") and argv[1].isdigit() \
            and exercise(int(argv[1])) is not None:
        number = int(argv[1])
        print(criterion(number) if argv[0] == "criterion" else "\n".join(added_expectations(number)))
        return 0
    print("usage: stages.py check | criterion N | adds N (N: a stage)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
