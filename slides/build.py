#!/usr/bin/python3
"""build.py OUTDIR [MARKDOWN] - turn slides.md (or MARKDOWN) into an offline reveal.js deck.

slides.md is ordinary pandoc Markdown with a few placeholders that pull in
what the attendee measured on their own machine:

  {{image:NAME}}        a picture, e.g. stage1-cpu (see ASSETS below)
  {{text:NAME}}         a text report, as a code block ({{text:NAME:20}}: its
                        first 20 lines; {{text:NAME:/RE/}}: the lines matching RE)
  {{diff:N}}            what stage N changed in hi.c, code only: hunks that
                        change nothing but comments are left out
  {{diff:N:1/2}}        the first half of it (the hunks split in two), for
                        a change too long for one slide
  {{diff:N:with=RE;RE}} the hunks whose code (not their comments) matches
                        one of the regular expressions, in diff order; the
                        build fails when one matches no hunk, so a slide
                        never silently shows other code than it names
  {{stages-table}}      the stages, their folders and titles (stages.txt)
  {{compare-table}}     the table `make compare` wrote
  {{delta:A:B}}         stage A -> stage B, from that table, with p-values
  {{include:PATH}}      the Markdown file PATH (from the workbook's root), as
                        it is: the challenge's answers live beside the
                        challenge, not here, where an attendee reads along

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
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "slides", "reference")
OUT = os.environ.get("OUT") or "out"


sys.path.insert(0, os.path.join(ROOT, "stages"))
import stages  # noqa: E402  (stages/stages.py: the reader of stages/stages.txt)

STAGES = [stage["folder"] for stage in stages.read()]
LAST = len(STAGES)

# name -> (the attendee's own file, the command that writes it). The call
# graphs are the -slide.png versions: fewer boxes, no _start-to-harness chain.
ASSETS = {
    "stage1-cpu.png": (f"{OUT}/stage1/profiles/cpu-slide.png", "make stage1 profile"),
    "stage2-cpu.png": (f"{OUT}/stage2/profiles/cpu-slide.png", "make stage2 profile"),
    "stage1-mem.png": (f"{OUT}/stage1/profiles/mem-slide.png", "make stage1 memprofile"),
    "stage4-block.png": (f"{OUT}/stage4/profiles/block-slide.png", "make stage4 blockprofile"),
    "stage5-block.png": (f"{OUT}/stage5/profiles/block-slide.png", "make stage5 blockprofile"),
    "stage1-flame.png": (f"{OUT}/stage1/perf/flame/flame.png", "make stage1 flame"),
    "flamediff-1-2.png": (f"{OUT}/flamediff/instructions-stage1-stage2/old.png",
                          "make flamediff OLD=1 NEW=2"),
    "flamediff-5-6.png": (f"{OUT}/flamediff/instructions-stage5-stage6/new.png",
                          "make flamediff OLD=5 NEW=6"),
    "server-flame.png": (f"{OUT}/stage{LAST}/perf/flame-server/flame.png", f"make stage{LAST} flame-server"),
    "compare.png": (f"{OUT}/compare/compare.png", "make compare"),
    "stage1-race.txt": (f"{OUT}/stage1/race.txt", "make stage1 race"),
    "stage1-dhat.txt": (f"{OUT}/stage1/perf/dhat/report.txt", "make stage1 dhat"),
    "stage4-block-check.txt": (f"{OUT}/stage4/block-check/report.txt", "make stage4 blockprofile-check"),
    "benchcmp-1-2.txt": (f"{OUT}/benchcmp/stage1-vs-stage2/benchstat.txt", "make benchcmp OLD=1 NEW=2"),
    "syscalls.txt": (f"{OUT}/stage{LAST}/perf/syscalls/report.txt", f"make stage{LAST} syscalls"),
    "offcpu.txt": (f"{OUT}/stage{LAST}/perf/offcpu/report.txt", f"make stage{LAST} offcpu"),
    "cpusplit.txt": (f"{OUT}/stage{LAST}/cpusplit/report.txt", f"make stage{LAST} cpusplit"),
    "latency.png": (f"{OUT}/stage{LAST}/latency/latency.png", f"make stage{LAST} latency"),
    "nagle.txt": (f"{OUT}/nagle/report.txt", "make nagle"),
    "pgo.txt": (f"{OUT}/stage{LAST}/pgo/report.txt", f"make stage{LAST} pgo"),
    "compare.json": (f"{OUT}/compare/compare.json", "make compare"),
    "stage3-cover.txt": (f"{OUT}/stage3/profiles/cover/summary.txt", "make stage3 cover"),
    "compare.md": (f"{OUT}/compare/compare.md", "make compare"),
    "bench.txt": (f"{OUT}/stage{LAST}/bench.txt", f"make stage{LAST} bench"),
    "instr.txt": (f"{OUT}/stage{LAST}/instr/instr.txt", f"make stage{LAST} instr"),
}


def fail(message):
    """Prints message and exits with status 1."""
    print(f"slides: {message}", file=sys.stderr)
    sys.exit(1)


def asset(name):
    """Returns (path, measured_here) for an asset: the attendee's own file
    if present (and REFERENCE_ONLY is not set), else the reference copy."""
    own = os.path.join(ROOT, ASSETS[name][0])
    if os.path.exists(own) and not os.environ.get("REFERENCE_ONLY"):
        return own, True
    reference = os.path.join(REFERENCE, name)
    if not os.path.exists(reference):
        fail(f"neither {ASSETS[name][0]} nor slides/reference/{name} exists")
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


def text(name, selection="14"):
    """Returns a text report as a code block: its first lines (selection
    "14"), or the lines that match a regular expression ("/RE/")."""
    path, measured = asset(name + ".txt")
    with open(path) as file:
        lines = file.readlines()
    if selection.startswith("/") and selection.endswith("/"):
        lines = [line for line in lines if re.search(selection[1:-1], line)]
    else:
        lines = lines[:int(selection)]
    return f"```\n{''.join(lines).rstrip()}\n```\n\n{source_note(measured)}"


def is_comment_line(line):
    """Returns 1 for a C line that holds only a comment or nothing."""
    code = line.strip()
    return code == "" or code.startswith(("/*", "*", "*/", "//"))


def without_header(path):
    """Returns the lines of a stage's hi.c without its header comment,
    which differs between stages only in the stage's title."""
    with open(os.path.join(ROOT, path)) as file:
        lines = file.read().splitlines(keepends=True)
    end = next((i for i, line in enumerate(lines) if line.startswith(" */")), -1)
    return lines[end + 1:] if lines and lines[0].startswith("/*") else lines


def diff_hunks(number):
    """Returns the hunks of stage number's hi.c diff against the stage
    before it that change code, each a list of lines: the header comment
    is left out, and so is a hunk that only rewords comments, so the slide
    starts with the code change. A run of more than 8 removed lines is
    collapsed to its first two and a count."""
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for index, folder in enumerate((STAGES[number - 2], STAGES[number - 1])):
            paths.append(os.path.join(scratch, f"{index}.c"))
            with open(paths[-1], "w") as file:
                file.writelines(without_header(os.path.join("stages", folder, "hi.c")))
        done = subprocess.run(["diff", "-U1", "--label", f"stage {number - 1}", "--label",
                               f"stage {number}", *paths], capture_output=True, text=True)
    hunks = []
    for line in done.stdout.splitlines()[2:]:
        if line.startswith("@@"):
            hunks.append([])
        hunks[-1].append(line)
    hunks = [hunk for hunk in hunks if code_lines(hunk)]
    return [collapse_removals(hunk) for hunk in hunks]


def collapse_removals(hunk):
    """Returns hunk with each run of more than 8 removed lines shortened to
    its first two lines and a note of how many more there were."""
    result, run = [], []
    for line in hunk + [""]:
        if line.startswith("-"):
            run.append(line)
            continue
        if len(run) > 8:
            result += run[:2] + [f"-   ... and {len(run) - 2} more lines removed"]
        else:
            result += run
        run = []
        result.append(line)
    return result[:-1]


def pages(hunks, count):
    """Returns the hunks' lines shared out into count pages of about equal
    length, in order: a page ends at a hunk's end where one is near, else a
    long hunk is cut at a line it leaves unchanged, and goes on under an
    "@@ ... @@ (continued)" line."""
    total = sum(len(hunk) for hunk in hunks)
    size = -(-total // count)   # lines per page, rounded up
    result, page = [], []
    for hunk in hunks:
        if page and len(page) + len(hunk) > size and len(result) < count - 1 \
                and len(page) >= size // 2:
            result.append(page)
            page = []
        for line in hunk:
            if len(page) >= size and line.startswith(" ") and len(result) < count - 1:
                result.append(page)
                page = ["@@ ... @@ (continued)"]
            page.append(line)
    result.append(page)
    return result + [[]] * (count - len(result))


def code_lines(hunk):
    """Returns the lines a hunk adds or removes that hold code, without
    their + or -: what a with= pattern is matched against."""
    return [line[1:] for line in hunk[1:] if line[:1] in "+-" and not is_comment_line(line[1:])]


def chosen_hunks(argument, hunks, patterns):
    """Returns the hunks whose code matches one of patterns (regular
    expressions, ";"-separated), in order; fails naming a pattern that
    matches none."""
    chosen = set()
    for pattern in patterns.split(";"):
        if not pattern:
            fail(f"{{{{diff:{argument}}}}}: an empty pattern would match every hunk")
        matched = {i for i, hunk in enumerate(hunks)
                   if any(re.search(pattern, line) for line in code_lines(hunk))}
        if not matched:
            fail(f"{{{{diff:{argument}}}}}: no hunk of that diff changes code matching {pattern!r}")
        chosen |= matched
    return [hunks[i] for i in sorted(chosen)]


def diff(argument):
    """Returns a diff slide's code block: stage N's change ("N"), the
    hunks whose code matches a pattern ("N:with=RE;RE"), or page P of Q
    ("N:P/Q") for a change too long for one slide."""
    number, _, selection = argument.partition(":")
    if not number.isdigit() or not 2 <= int(number) <= len(STAGES):
        fail(f"{{{{diff:{argument}}}}}: stage {number} has no stage before it to diff "
             f"against (stages 2 to {len(STAGES)} do)")
    hunks = diff_hunks(int(number))
    if not re.fullmatch(r"(with=.+|\d+/\d+)?", selection):
        fail(f"{{{{diff:{argument}}}}}: after the stage, with=PATTERN or a page P/Q")
    if selection.startswith("with="):
        lines = [line for hunk in chosen_hunks(argument, hunks, selection[len("with="):])
                 for line in hunk]
    elif selection:
        index, count = (int(x) for x in selection.split("/"))
        if not 1 <= index <= count:
            fail(f"{{{{diff:{argument}}}}}: page {index} of {count} does not exist")
        lines = pages(hunks, count)[index - 1]
    else:
        lines = [line for hunk in hunks for line in hunk]
    body = "\n".join(lines)
    return f"```diff\n{body}\n```"


def compare_rows():
    """Returns (rows of compare.json, measured_here)."""
    path, measured = asset("compare.json")
    with open(path) as file:
        return json.load(file)["rows"], measured


def compare_table():
    """Returns the Markdown comparison table with its source note."""
    path, measured = asset("compare.md")
    with open(path) as file:
        blocks = file.read().strip().split("\n\n")
    # The prose around the table (how it was measured, CPU-wait warnings)
    # in small print, so that the table keeps the slide.
    blocks = [block if block.startswith("|") else f"::: small\n{block}\n:::" for block in blocks]
    return "\n\n".join(blocks) + "\n\n" + source_note(measured)


def delta(a, b):
    """Returns a before/after table of stages a and b from compare.json:
    medians with their 95% confidence intervals, and benchstat's delta
    with its p-value where b follows a."""
    rows, measured = compare_rows()
    old, new = rows[a - 1], rows[b - 1]

    def change(key):
        if b != a + 1 or key + "_p" not in new:
            return ""
        return f"{new[key + '_delta']} (p={new[key + '_p']:.3f})"

    instructions = 100 * (new["instructions"] / old["instructions"] - 1)
    return (f"| | stage {a} | stage {b} | delta |\n|---|---:|---:|---:|\n"
            f"| BenchmarkHi ns/op | {old['ns']:.0f} ± {old['ns_pct']} | {new['ns']:.0f} ± {new['ns_pct']} "
            f"| {change('ns')} |\n"
            f"| instructions/op | {old['instructions']:.0f} | {new['instructions']:.0f} "
            f"| {instructions:+.1f}% (exact) |\n"
            f"| B/op | {old['bytes']:.0f} | {new['bytes']:.0f} | |\n"
            f"| allocs/op | {old['allocs']:.0f} | {new['allocs']:.0f} | |\n"
            f"| BenchmarkHiParallel ns/op | {old['parallel']:.0f} ± {old['parallel_pct']} | "
            f"{new['parallel']:.0f} ± {new['parallel_pct']} | {change('parallel')} |\n\n"
            f"{source_note(measured)}")


def stages_table():
    """Returns the stages as a Markdown table: number and folder, title."""
    rows = [f"| {stage['number']} `{stage['folder']}` | {stage['title']} |" for stage in stages.read()]
    return "\n".join(["| stage | what it changes |", "|---|---|", *rows])


def expand(markdown, outdir):
    """Returns markdown with every {{kind:argument}} placeholder replaced
    by what it names (an image, a text report, a diff or a table)."""
    def replace(match):
        kind, _, argument = match[1].partition(":")
        if kind == "image":
            return image(argument, outdir)
        if kind == "text":
            name, _, selection = argument.partition(":")
            return text(name, selection or "14")
        if kind == "diff":
            return diff(argument)
        if kind == "compare-table":
            return compare_table()
        if kind == "stages-table":
            return stages_table()
        if kind == "delta":
            a, b = argument.split(":")
            return delta(int(a), int(b))
        if kind == "include":
            return included(argument)
        fail(f"unknown placeholder {{{{{match[1]}}}}}")
    return re.sub(r"\{\{([a-z-]+(?::[^}]*)?)\}\}", replace, markdown)


def included(path):
    """Returns the Markdown file at path, from the workbook's root, without
    its leading HTML comment (which says what the file is for)."""
    try:
        with open(os.path.join(ROOT, path)) as file:
            text = file.read()
    except OSError as error:
        fail(f"{{{{include:{path}}}}}: {error}")
    return re.sub(r"\A<!--.*?-->\n*", "", text, flags=re.S).rstrip("\n")


MARKER = re.compile(r"^<!-- reference: (\S+) -->$")


def marked_files():
    """Returns the Markdown files of the workbook that quote a reference
    run, each sample after a "<!-- reference: NAME -->" line (the top
    README's reference sections live in their folders' READMEs)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(name for name in subfolders
                               if name not in (".git", "out", "work", "js", "node_modules"))
        for name in sorted(files):
            if name.endswith(".md"):
                path = os.path.join(folder, name)
                with open(path) as file:
                    if any(MARKER.match(line) for line in file.read().split("\n")):
                        found.append(path)
    return found


def with_reference(path):
    """Returns the Markdown file at path with each sample-output block that
    follows a "<!-- reference: NAME -->" line rewritten from
    slides/reference/NAME: the block's first line (the command) stays, the
    rest is the file. So the sample output comes from the run that made
    the deck's reference figures."""
    where = os.path.relpath(path, ROOT)
    with open(path) as file:
        lines = file.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        marker = MARKER.match(lines[i])
        i += 1
        if not marker:
            continue
        if i + 1 >= len(lines) or not lines[i].startswith("```") or not lines[i + 1].startswith("$ "):
            fail(f"{where}: {marker[1]}: the marker must be followed by ``` and a $ command line")
        out += lines[i:i + 2]
        if "```" not in lines[i + 2:]:
            fail(f"{where}: {marker[1]}: the block after the marker is never closed with ```")
        end = lines.index("```", i + 2)
        reference = os.path.join(REFERENCE, marker[1])
        if not os.path.exists(reference):
            fail(f"{where}: {marker[1]}: no such file in slides/reference/")
        with open(reference) as file:
            out += file.read().rstrip("\n").split("\n")
        i = end
    return "\n".join(out)


def refresh_reference():
    """Copies every asset this machine measured into slides/reference/,
    writes its README.md (what made each file, where and when) and the
    sample blocks of every file that quotes them, for `make reference`.
    Returns the exit status."""
    missing = [own for own, _ in ASSETS.values() if not os.path.exists(os.path.join(ROOT, own))]
    if missing:
        fail("not measured yet: " + ", ".join(missing))
    for name, (own, _) in ASSETS.items():
        shutil.copy(os.path.join(ROOT, own), os.path.join(REFERENCE, name))
    with open(os.path.join(REFERENCE, "README.md"), "w") as file:
        file.write(reference_readme())
    marked = marked_files()
    for path in marked:
        text = with_reference(path)   # read in full before the file is opened to write
        with open(path, "w") as file:
            file.write(text)
    print(f"copied {len(ASSETS)} measurements into {REFERENCE}, and the samples into"
          f" {', '.join(os.path.relpath(path, ROOT) for path in marked)}")
    return 0


def machine():
    """Returns this machine in a few words: CPU model, CPU count, system."""
    model, arm = "unknown CPU", {}
    with open("/proc/cpuinfo") as file:
        for line in file:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
                break
            if key.strip() in ("CPU implementer", "CPU part"):
                arm.setdefault(key.strip(), value.strip())
    if model == "unknown CPU" and arm:    # arm64 names its CPU by numbers only
        model = f"arm64 CPU (implementer {arm.get('CPU implementer')}, part {arm.get('CPU part')})"
    system = "Linux"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as file:
            fields = dict(line.rstrip("\n").split("=", 1) for line in file if "=" in line)
        system = fields.get("PRETTY_NAME", system).strip('"')
    return f"{model}, {os.cpu_count()} CPUs, {system}"


def reference_readme():
    """Returns slides/reference/README.md: each file and what made it."""
    rows = "\n".join(f"| `{name}` | `{command}` |" for name, (_, command) in sorted(ASSETS.items()))
    return f"""# Reference measurements

What the deck shows, and the READMEs quote, before you have measured
anything yourself. `make reference` took them all in one run on
{time.strftime("%Y-%m-%d")}, on {machine()},
and wrote this file. Every slide that uses one of them says so; `make
slides` uses your own results instead wherever they exist.

| file | made by |
|------|---------|
{rows}
"""


def check_samples():
    """Fails unless every sample output marked as a reference run is the
    reference file's, and at least one is marked."""
    marked = marked_files()
    if not marked:
        fail("no Markdown file has a <!-- reference: NAME --> marker: the sample outputs are gone")
    for path in marked:
        with open(path) as file:
            if file.read() != with_reference(path):
                fail(f"{os.path.relpath(path, ROOT)}: a sample output differs from slides/reference/:"
                     " run `make reference` (or copy the file's text into the marked block)")
    blocks = sum(1 for path in marked for line in open(path).read().split("\n") if MARKER.match(line))
    print(f"sample outputs: {blocks} in {len(marked)} files, each the reference run's")
    return 0


def main(argv):
    """Builds the deck into argv[1]. Returns the exit status."""
    if argv[1:] == ["--refresh-reference"]:
        return refresh_reference()
    if argv[1:] == ["--check-samples"]:
        return check_samples()
    if len(argv) not in (2, 3):
        fail("usage: build.py OUTDIR [MARKDOWN] | --refresh-reference | --check-samples")
    source = os.path.abspath(argv[2]) if len(argv) == 3 else os.path.join(ROOT, "slides", "slides.md")
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
    with open(source) as file:
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
        "--output", os.path.join(outdir, "index.html"), os.path.join(outdir, "slides.md"),
    ])
    if done.returncode != 0:
        fail("pandoc failed")
    print(f"wrote {os.path.join(outdir, 'index.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
