#!/usr/bin/python3
"""pictures.py - what a PNG the workbook drew shows, checked by its pixels.

  pictures.py flame PNG DEPTH
      PNG is a flame graph (flamegraph.py) DEPTH frames deep: each of its
      DEPTH rows must hold coloured boxes, and the bottom one, the root,
      must span the picture.
  pictures.py diff PNG LEVEL red|blue PERCENT
      PNG is a differential flame graph (flamediff.py): of the frames
      drawn in its row LEVEL (0 is the root), at least PERCENT of the
      width must be deep red (new, or grown the most), or deep blue
      (gone, or shrunk the most); with PERCENT 0, none may be.
  pictures.py graph PNG
      PNG is a call graph or a chart (graphviz, gnuplot): it must be no
      smaller than a box or two, and hold lines and lettering, drawn
      dark on a light ground, over more than a sliver of it.
  pictures.py lines PNG NAME=RRGGBB...
      PNG is a chart of lines (gnuplot): each line, drawn in its colour
      RRGGBB, must run across at least a third of the picture's width.

Prints one line saying what it found, or "FAIL: ..." and exits 1. A
file that is a PNG but shows nothing (all white, say) fails: the file
type is not the check, the pixels are. Reads the pictures with Pillow
(Debian's python3-pil), which the profile and perf targets install.
"""
import sys

try:
    from PIL import Image
except ImportError:
    print("pictures: Pillow is not installed; run: make deps-profile (Debian package python3-pil)",
          file=sys.stderr)
    sys.exit(2)

FLAME_ROW = 18        # flamegraph.py's pixels per frame
FLAME_MARGIN = 10     # and its margin below the root


def fail(message):
    """Prints the failure and exits with status 1."""
    print(f"FAIL: {message}")
    sys.exit(1)


def read_png(path):
    """Returns the picture as an RGB image, over white where it was
    transparent."""
    picture = Image.open(path)
    if picture.mode in ("RGBA", "LA", "P"):
        picture = picture.convert("RGBA")
        ground = Image.new("RGBA", picture.size, "white")
        picture = Image.alpha_composite(ground, picture)
    return picture.convert("RGB")


# ============================ What a picture shows ============================

def coloured(pixel):
    """Returns whether a pixel is a colour, not white, grey or black."""
    return max(pixel) - min(pixel) > 40


def dark(pixel):
    """Returns whether a pixel is ink: a line or a letter."""
    return sum(pixel) < 3 * 110


def count(picture, test):
    """Returns how many of the picture's pixels pass test."""
    return sum(number for number, pixel in picture.getcolors(picture.width * picture.height)
               if test(pixel))


def flame_row(picture, path, level, wanted):
    """Returns the one-pixel line through a flame graph's frames at level
    (0: the root), two pixels into their boxes, above their labels'
    letters; fails, saying the picture is too short for wanted, if there
    is no such line."""
    width, height = picture.size
    y = height - FLAME_MARGIN - (level + 1) * FLAME_ROW + 2
    if y < 0:
        fail(f"{path}: {width}x{height} pixels, too short for {wanted}")
    return picture.crop((0, y, width, y + 1))


def check_flame(path, depth):
    """Checks a flame graph DEPTH frames deep. Returns the line to print."""
    picture = read_png(path)
    width, height = picture.size
    rows = [count(flame_row(picture, path, level, f"{depth} frames"), coloured)
            for level in range(depth)]
    if rows[0] < 0.9 * (width - 2 * FLAME_MARGIN):
        fail(f"{path}: the root frame spans {rows[0]} of {width} pixels: want the whole width")
    empty = [level for level, pixels in enumerate(rows) if pixels == 0]
    if empty:
        fail(f"{path}: no frame drawn at depth {', '.join(map(str, empty))} of {depth}"
             f" (coloured pixels per level: {rows})")
    inked = count(picture, dark)
    if inked < 20 * depth:
        fail(f"{path}: {inked} dark pixels: the frames carry no names")
    return (f"{path}: a flame graph {width}x{height}, {depth} levels of frames, the root"
            f" {100 * rows[0] // (width - 2 * FLAME_MARGIN)}% wide, {rows[-1]} pixels at the top")


def deep(pixel, hue):
    """Returns whether a pixel is flamediff.py's deepest red or blue (a
    frame new or gone: 35 in the other channels; a changed frame's
    deepest is 85)."""
    red, green, blue = pixel
    if hue == "red":
        return red > 220 and green < 60 and blue < 60
    return blue > 220 and red < 60 and green < 60


def check_diff(path, level, hue, percent):
    """Checks a differential flame graph's row. Returns the line to print."""
    row = flame_row(read_png(path), path, level, f"a row {level}")
    drawn = count(row, lambda pixel: pixel != (255, 255, 255))
    share = 100 * count(row, lambda pixel: deep(pixel, hue)) / max(drawn, 1)
    found = f"{path}: row {level} has {drawn} pixels of frames, {share:.0f}% of them deep {hue}"
    if drawn == 0:
        fail(f"{path}: nothing drawn in row {level}")
    if percent == 0 and share > 0:
        fail(f"{found}, want none")
    if share < percent:
        fail(f"{found}, want at least {percent}%")
    return found


def check_graph(path):
    """Checks a call graph or chart. Returns the line to print."""
    picture = read_png(path)
    width, height = picture.size
    if width < 100 or height < 40:
        fail(f"{path}: {width}x{height} pixels: too small to show a graph")
    total = width * height
    ground = picture.getpixel((0, 0))
    drawn = count(picture, lambda pixel: pixel != ground)
    inked = count(picture, dark)
    if drawn < 0.01 * total or inked < 0.002 * total:
        fail(f"{path}: {width}x{height} pixels, {100 * drawn / total:.2f}% drawn,"
             f" {100 * inked / total:.2f}% ink: it shows (almost) nothing")
    return (f"{path}: {width}x{height}, {100 * drawn / total:.1f}% drawn,"
            f" {100 * inked / total:.1f}% lines and lettering")


def near(pixel, colour):
    """Returns whether a pixel is colour, give or take antialiasing."""
    return sum(abs(a - b) for a, b in zip(pixel, colour)) < 60


def check_lines(path, lines):
    """Checks a chart's lines, [(name, (r, g, b))]. Returns the line to print."""
    picture = read_png(path)
    width, height = picture.size
    spans = []
    for name, colour in lines:
        columns = {x for x in range(width) for y in range(0, height, 2)
                   if near(picture.getpixel((x, y)), colour)}
        if len(columns) < width // 3:
            fail(f"{path}: the {name} line spans {len(columns)} of {width} columns")
        spans.append(f"{name} {len(columns)}")
    return f"{path}: columns each line spans, of {width}: {', '.join(spans)}"


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "flame" and argv[3].isdigit():
            print(check_flame(argv[2], int(argv[3])))
            return 0
        if len(argv) == 6 and argv[1] == "diff" and argv[3].isdigit() and argv[4] in ("red", "blue") \
                and argv[5].isdigit():
            print(check_diff(argv[2], int(argv[3]), argv[4], int(argv[5])))
            return 0
        if len(argv) == 3 and argv[1] == "graph":
            print(check_graph(argv[2]))
            return 0
        if len(argv) >= 4 and argv[1] == "lines" and all("=" in line for line in argv[3:]):
            lines = [line.split("=", 1) for line in argv[3:]]
            print(check_lines(argv[2], [(name, bytes.fromhex(colour)) for name, colour in lines]))
            return 0
    except (OSError, ValueError) as why:
        fail(f"{argv[2]}: {why}")
    print("usage: pictures.py flame PNG DEPTH | diff PNG LEVEL red|blue PERCENT | graph PNG"
          " | lines PNG NAME=RRGGBB...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
