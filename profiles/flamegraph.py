#!/usr/bin/python3
"""flamegraph.py - a flame graph as a picture: SVG, then PNG.

  flamegraph.py STACKS.json OUT.svg OUT.png TITLE
      STACKS.json is a tree of frames as perf's flamegraph script writes
      it ({"n": name, "l": "kernel" or "", "v": samples in the frame
      itself, "c": [children]}). Writes the flame graph of the whole tree
      as SVG, and as PNG through rsvg-convert (librsvg); prints the
      picture's depth and its sample count.

The interactive flame graphs (click to zoom, search) are d3-flame-graph's
HTML pages (perfreport.py flame); this draws the still picture the slides
and the README show. Drawn here rather than photographed from the HTML:
a headless browser's screenshot of a shallow graph once came out all
white, and the picture is checked by what it contains (pictures.py).

A frame is a box as wide as its samples, its callees stacked on it; the
root is at the bottom, as in Brendan Gregg's flame graphs. Colours come
from the function's name (the same name, the same colour, in every
picture), warm for user space and blue-grey for the kernel. A frame
narrower than a pixel is left out, its samples still in its caller's
width; a label is drawn where it fits.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from xml.sax.saxutils import escape

WIDTH = 1200          # pixels, the whole graph
ROW = 18              # pixels per frame
FONT = 11             # pixels; DejaVu Sans Mono is 0.6 em wide
CHAR = FONT * 0.6
MARGIN = 10
TITLE_HEIGHT = 26
LEGEND_HEIGHT = 14


def fail(message):
    """Prints message and exits with status 1."""
    print(f"flamegraph: {message}", file=sys.stderr)
    sys.exit(1)


def total(node):
    """Returns the samples in node and below it."""
    return node["v"] + sum(total(child) for child in node["c"])


def colour(name, kernel):
    """Returns the fill of a frame: from a hash of its name, so that a
    function keeps its colour from one picture to the next."""
    value = int(hashlib.sha1(name.encode()).hexdigest()[:6], 16)
    a, b = value & 0xff, (value >> 8) & 0xff
    if kernel:
        return f"rgb({120 + a % 40},{140 + b % 40},{190 + a % 50})"
    return f"rgb({205 + a % 50},{60 + b % 150},{a % 55})"


def layout(node, x, depth, scale, boxes):
    """Appends (x, depth, width, node) to boxes for node and everything
    below it that is at least a pixel wide; x is in pixels."""
    width = total(node) * scale
    if width < 1:
        return
    boxes.append((x, depth, width, node))
    for child in sorted(node["c"], key=lambda child: child["n"]):
        layout(child, x, depth + 1, scale, boxes)
        x += total(child) * scale


def label(name, width):
    """Returns as much of name as fits in width pixels, or ""."""
    fits = int((width - 6) / CHAR)
    if fits >= len(name):
        return name
    return name[:fits - 2] + ".." if fits >= 5 else ""


def samples_tip(node, samples):
    """Returns a frame's tooltip: its samples and their share."""
    return f"{node['n']}: {total(node)} samples ({100 * total(node) / samples:.1f}%)"


def svg(tree, title, fill=None, tip=None, legend=None):
    """Returns (the SVG text, its depth in frames, its sample count).
    fill(node) and tip(node, samples) give a frame's colour and tooltip
    (by default: from its name; its samples); legend is a line of small
    print under the title."""
    fill = fill or (lambda node: colour(node["n"], node["l"] == "kernel"))
    tip = tip or samples_tip
    samples = total(tree)
    boxes = []
    layout(tree, MARGIN, 0, (WIDTH - 2 * MARGIN) / samples, boxes)
    depth = 1 + max(depth for _, depth, _, _ in boxes)
    top = TITLE_HEIGHT + (LEGEND_HEIGHT if legend else 0)
    height = top + depth * ROW + MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
             f' viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans Mono, monospace"'
             f' font-size="{FONT}">',
             f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
             f'<text x="{WIDTH / 2}" y="17" text-anchor="middle" font-size="13">{escape(title)}</text>']
    if legend:
        parts.append(f'<text x="{WIDTH / 2}" y="{TITLE_HEIGHT + 8}" text-anchor="middle">'
                     f'{escape(legend)}</text>')
    for x, level, width, node in boxes:
        y = height - MARGIN - (level + 1) * ROW
        parts.append(f'<g><title>{escape(tip(node, samples))}</title>'
                     f'<rect x="{x:.2f}" y="{y}" width="{max(width - 0.5, 0.5):.2f}" height="{ROW - 1}"'
                     f' fill="{fill(node)}"/>')
        text = label(node["n"], width)
        if text:
            parts.append(f'<text x="{x + 3:.2f}" y="{y + ROW - 5}">{escape(text)}</text>')
        parts.append("</g>")
    parts.append("</svg>\n")
    return "\n".join(parts), depth, samples


def draw(tree, svg_path, png_path, title, **style):
    """Writes the SVG and the PNG of tree (style: svg's fill, tip and
    legend). Returns (depth, samples)."""
    text, depth, samples = svg(tree, title, **style)
    with open(svg_path, "w") as file:
        file.write(text)
    if os.path.exists(png_path):
        os.remove(png_path)            # never an earlier run's picture
    if shutil.which("rsvg-convert") is None:
        fail("rsvg-convert is not installed; run: make deps-perf (Debian package librsvg2-bin)")
    done = subprocess.run(["rsvg-convert", "--format=png", "--output", png_path, svg_path],
                          capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(png_path):
        fail(f"rsvg-convert could not draw {svg_path}: {done.stderr.strip()}")
    return depth, samples


def main(argv):
    if len(argv) != 5:
        print("usage: flamegraph.py STACKS.json OUT.svg OUT.png TITLE", file=sys.stderr)
        return 2
    with open(argv[1]) as file:
        tree = json.load(file)
    if total(tree) == 0:
        fail(f"{argv[1]} holds no samples: nothing to draw")
    depth, samples = draw(tree, argv[2], argv[3], argv[4])
    print(f"{argv[3]}: {depth} frames deep, {samples} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
