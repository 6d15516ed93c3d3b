#!/usr/bin/python3
"""docs_check.py - every relative link of every Markdown file resolves.

  docs_check.py ROOT
      Reads each *.md below ROOT (not out/, work/, js/ or .git/) and
      checks each link [text](target) that is not to the web: its file or
      folder must exist, and its anchor (#section) must name a heading of
      that file, spelt as GitHub spells it (lower case, punctuation gone,
      spaces as hyphens, "-1" for a second heading of the same name).
      Prints one line per broken link, naming the file, the line and the
      link, and exits 1 when there is one.

The sample outputs marked as a reference run are slides/build.py
--check-samples's; make docs-check runs both.
"""
import os
import re
import sys

LINK = re.compile(r"(?<!!)\[(?:[^\]]|\](?!\())*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6}) +(.*?) *#*$")
SKIPPED = (".git", "out", "work", "js", "node_modules")


def anchor(title):
    """Returns GitHub's anchor for a heading: lower case, markup and
    punctuation but hyphens and underscores gone, spaces as hyphens."""
    title = re.sub(r"`|\*\*|\*|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", title)
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(path, cache={}):
    """Returns the anchors of the Markdown file at path, outside its code
    blocks, a repeated one numbered as GitHub numbers it."""
    if path not in cache:
        found, seen, in_code = set(), {}, False
        with open(path) as file:
            for line in file:
                if line.startswith("```"):
                    in_code = not in_code
                heading = None if in_code else HEADING.match(line.rstrip("\n"))
                if heading:
                    name = anchor(heading[2])
                    found.add(name if name not in seen else f"{name}-{seen[name]}")
                    seen[name] = seen.get(name, 0) + 1
        cache[path] = found
    return cache[path]


def markdown_files(root):
    """Returns the workbook's Markdown files, sorted."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED)
        found += [os.path.join(folder, name) for name in sorted(files) if name.endswith(".md")]
    return found


def broken_links(root, path):
    """Returns (line number, link, why) for each broken link of a file."""
    broken, in_code = [], False
    with open(path) as file:
        for number, line in enumerate(file, 1):
            if line.startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            for target in LINK.findall(line.replace("\\|", "|")):
                if re.match(r"[a-z]+:", target):
                    continue            # the web, or mail: not checked offline
                file_part, _, name = target.partition("#")
                linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                if not os.path.exists(linked):
                    broken.append((number, target, "no such file or folder"))
                elif name and (not linked.endswith(".md") or name not in anchors(linked)):
                    broken.append((number, target, f"no heading #{name} in {os.path.relpath(linked, root)}"))
    return broken


def main(argv):
    if len(argv) != 2:
        print("usage: docs_check.py ROOT", file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    files, links, problems = markdown_files(root), 0, []
    for path in files:
        with open(path) as file:
            links += len([t for t in LINK.findall(file.read()) if not re.match(r"[a-z]+:", t)])
        problems += [f"{os.path.relpath(path, root)}:{number}: ({target}) {why}"
                     for number, target, why in broken_links(root, path)]
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(f"links: {links} relative links in {len(files)} Markdown files, each to a file"
              " that exists, and a heading it has")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
