#!/usr/bin/python3
"""build.py OUTDIR - turn slides.md into an offline reveal.js deck.

slides.md is ordinary pandoc Markdown with a few placeholders that pull in
what the attendee measured on their own machine:

  {{image:NAME}}        a picture, e.g. stage1-cpu (see ASSETS below)
  {{text:NAME}}         the first lines of a text report, as a code block
  {{diff:N}}            diff -u of stage N-1's hi.c against stage N's
  {{compare-table}}     the table `make compare` wrote
  {{delta:A:B}}         stage A -> stage B, from that table

Each asset is taken from the attendee's own output when it exists and from
slides/reference/ (measured when the workbook was built) otherwise; every
slide says which. Nothing is fetched when the deck is viewed: reveal.js
and every image are copied next to index.html.
"""
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "slides", "reference")
OUT = os.environ.get("OUT") or "out"


def read_stages():
    """Returns the stage folders of stages/stages.txt, in order."""
    with open(os.path.join(ROOT, "stages", "stages.txt")) as file:
        return [line.split()[1] for line in file if line.strip() and not line.startswith("#")]


STAGES = read_stages()
LAST = len(STAGES)

# name -> the attendee's own file (what `make ...` writes). The call graphs
# are the -slide.png versions: fewer boxes, no _start-to-harness chain.
ASSETS = {
    "stage1-cpu.png": f"{OUT}/stage1/profiles/cpu-slide.png",
    "stage2-cpu.png": f"{OUT}/stage2/profiles/cpu-slide.png",
    "stage1-mem.png": f"{OUT}/stage1/profiles/mem-slide.png",
    "stage4-block.png": f"{OUT}/stage4/profiles/block-slide.png",
    "stage5-block.png": f"{OUT}/stage5/profiles/block-slide.png",
    "server.png": f"{OUT}/stage{LAST}/profiles/server-slide.png",
    "compare.png": f"{OUT}/compare/compare.png",
    "stage1-cpu-top.txt": f"{OUT}/stage1/profiles/cpu-top.txt",
    "stage2-cpu-top.txt": f"{OUT}/stage2/profiles/cpu-top.txt",
    "stage1-mem-top.txt": f"{OUT}/stage1/profiles/mem-top.txt",
    "stage4-block-top.txt": f"{OUT}/stage4/profiles/block-top.txt",
    "server-top.txt": f"{OUT}/stage{LAST}/profiles/server-top.txt",
    "compare.json": f"{OUT}/compare/compare.json",
    "stage3-cover.txt": f"{OUT}/stage3/profiles/cover/summary.txt",
    "compare.md": f"{OUT}/compare/compare.md",
}


def fail(message):
    """Prints message and exits with status 1."""
    print(f"slides: {message}", file=sys.stderr)
    sys.exit(1)


def asset(name):
    """Returns (path, measured_here) for an asset: the attendee's own file
    if present (and REFERENCE_ONLY is not set), else the reference copy."""
    own = os.path.join(ROOT, ASSETS[name])
    if os.path.exists(own) and not os.environ.get("REFERENCE_ONLY"):
        return own, True
    reference = os.path.join(REFERENCE, name)
    if not os.path.exists(reference):
        fail(f"neither {ASSETS[name]} nor slides/reference/{name} exists")
    return reference, False


def source_note(measured):
    """Returns the line under a figure saying whose machine measured it."""
    return ("*measured on this machine*" if measured
            else "*reference numbers from the workbook's build machine: run the targets to get yours*")


def image(name, outdir):
    """Copies picture name into the deck and returns its Markdown."""
    path, measured = asset(name + ".png")
    shutil.copy(path, os.path.join(outdir, "img", name + ".png"))
    return f"![](img/{name}.png){{.callgraph}}\n\n{source_note(measured)}"


def text(name, lines=14):
    """Returns the first lines of text report name as a code block."""
    path, measured = asset(name + ".txt")
    with open(path) as file:
        head = "".join(file.readlines()[:lines]).rstrip()
    return f"```\n{head}\n```\n\n{source_note(measured)}"


def diff(number):
    """Returns stage number's hi.c diff against the stage before it."""
    old = os.path.join("stages", STAGES[number - 2], "hi.c")
    new = os.path.join("stages", STAGES[number - 1], "hi.c")
    done = subprocess.run(["diff", "-U2", old, new], cwd=ROOT, capture_output=True, text=True)
    # The whole diff, the rewritten header comment included: that comment
    # is the stage's own explanation of its change.
    return f"```diff\n{done.stdout.rstrip()}\n```"


def compare_rows():
    """Returns (rows of compare.json, measured_here)."""
    path, measured = asset("compare.json")
    with open(path) as file:
        return json.load(file)["rows"], measured


def compare_table():
    """Returns the Markdown comparison table with its source note."""
    path, measured = asset("compare.md")
    with open(path) as file:
        return file.read().rstrip() + "\n\n" + source_note(measured)


def delta(a, b):
    """Returns a small before/after table of stages a and b, from compare.json."""
    rows, measured = compare_rows()
    old, new = rows[a - 1], rows[b - 1]
    return (f"| | stage {a} | stage {b} | |\n|---|---:|---:|---:|\n"
            f"| BenchmarkHi ns/op | {old['ns']:.0f} | {new['ns']:.0f} | {old['ns'] / new['ns']:.1f}x faster |\n"
            f"| B/op | {old['bytes']:.0f} | {new['bytes']:.0f} | |\n"
            f"| allocs/op | {old['allocs']:.0f} | {new['allocs']:.0f} | |\n"
            f"| BenchmarkHiParallel ns/op | {old['parallel']:.0f} | {new['parallel']:.0f} | "
            f"{old['parallel'] / new['parallel']:.1f}x |\n\n{source_note(measured)}")


def expand(markdown, outdir):
    """Returns markdown with every {{kind:argument}} placeholder replaced
    by what it names (an image, a text report, a diff or a table)."""
    def replace(match):
        kind, _, argument = match[1].partition(":")
        if kind == "image":
            return image(argument, outdir)
        if kind == "text":
            return text(argument)
        if kind == "diff":
            return diff(int(argument))
        if kind == "compare-table":
            return compare_table()
        if kind == "delta":
            a, b = argument.split(":")
            return delta(int(a), int(b))
        fail(f"unknown placeholder {{{{{match[1]}}}}}")
    return re.sub(r"\{\{([a-z-]+(?::[^}]*)?)\}\}", replace, markdown)


def main(argv):
    """Builds the deck into argv[1]. Returns the exit status."""
    if len(argv) != 2:
        fail("usage: build.py OUTDIR")
    outdir = os.path.abspath(argv[1])
    reveal = os.path.join(ROOT, "js", "node_modules", "reveal.js")
    if not os.path.exists(os.path.join(reveal, "dist", "reveal.js")):
        fail("reveal.js is missing: run `make slides` (it runs npm ci in js/)")
    if shutil.which("pandoc") is None:
        fail("pandoc is not installed; run: make deps")
    os.makedirs(os.path.join(outdir, "img"), exist_ok=True)
    for part in ("dist", "plugin"):
        target = os.path.join(outdir, "reveal.js", part)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(reveal, part), target)
    with open(os.path.join(ROOT, "slides", "slides.md")) as file:
        markdown = expand(file.read(), outdir)
    with open(os.path.join(outdir, "slides.md"), "w") as file:
        file.write(markdown)
    done = subprocess.run([
        "pandoc", "--standalone", "--to", "revealjs", "--slide-level", "2",
        "--variable", "revealjs-url=reveal.js", "--variable", "theme=white",
        "--variable", "hash=true", "--variable", "width=1280", "--variable", "height=800",
        # pandoc lazy-loads images (data-src); a view distance past the
        # last slide makes reveal.js load them all up front.
        "--variable", "viewDistance=100", "--variable", "mobileViewDistance=100",
        "--include-in-header", os.path.join(ROOT, "slides", "style.html"),
        "--include-after-body", os.path.join(ROOT, "slides", "loaded.html"),
        "--output", os.path.join(outdir, "index.html"), os.path.join(outdir, "slides.md"),
    ])
    if done.returncode != 0:
        fail("pandoc failed")
    print(f"wrote {os.path.join(outdir, 'index.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
