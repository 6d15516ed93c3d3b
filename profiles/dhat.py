#!/usr/bin/python3
"""dhat.py BENCH-BINARY OUTDIR - heap quality, not just volume, per call.

Runs BenchmarkHi for DHAT_CALLS (2000) calls under valgrind's DHAT, which
follows every heap block from malloc to free: how many bytes of it were
ever read and written, and how long it lived. Prints, per allocation site
under hi_handle(), the bytes per call and what became of them:

     per call blocks read written      lifetime  allocated in
     20,480 B    1.0   1%      1%     741 instr  pcre2_match_8 <- color_is_valid (hi.c:50)

A block that is allocated on every call and hardly touched is the easiest
allocation to take away: that is stage 4's lesson. The raw profile goes
to OUTDIR/dhat.json, for DHAT's own viewer (the line printed at the end).
"""
import json
import os
import re
import shutil
import subprocess
import sys

HANDLER = "hi_handle"
VIEWER = "/usr/libexec/valgrind/dh_view.html"


def fail(message):
    """Prints message and exits with status 1."""
    print(f"dhat: {message}", file=sys.stderr)
    sys.exit(1)


def frame_name(frame):
    """Returns "function (file:line)" from a DHAT frame such as
    "0x10A5A2: color_is_valid (hi.c:43)" or "0x48C30D6: pcre2_match_8 (in
    /usr/lib/...libpcre2-8.so)", the library reduced to nothing."""
    text = re.sub(r"^0x[0-9A-Fa-f]+: ", "", frame)
    return re.sub(r" \(in [^)]*\)$", "", text)


def main(argv):
    if len(argv) != 3:
        fail("usage: dhat.py BENCH-BINARY OUTDIR")
    binary, outdir = argv[1], argv[2]
    calls = int(os.environ.get("DHAT_CALLS") or 2000)
    if shutil.which("valgrind") is None:
        fail("valgrind is not installed; run: make deps (Debian package valgrind)")
    os.makedirs(outdir, exist_ok=True)
    profile = os.path.join(outdir, "dhat.json")
    env = dict(os.environ, BENCH="^BenchmarkHi$", BENCHTIME=f"{calls}x", COUNT="1")
    done = subprocess.run(["valgrind", "--tool=dhat", f"--dhat-out-file={profile}", binary],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(profile):
        fail(f"{binary} under DHAT failed:\n{done.stdout}{done.stderr[-2000:]}")
    with open(profile) as file:
        data = json.load(file)
    # The harness calls the handler once to warm up, then `calls` times.
    handler_calls = calls + 1
    sites = {}
    for point in data["pps"]:
        frames = [frame_name(data["ftbl"][index]) for index in point["fs"]]
        names = [frame.split(" (")[0] for frame in frames]
        if HANDLER not in names:
            continue   # start-up, the harness: not the handler's
        # One site per path from malloc up to the handler: the harness's
        # frames below it differ between the warm-up and the measured run.
        path = tuple(frames[1:names.index(HANDLER)])
        site = sites.setdefault(path, {"tb": 0, "tbk": 0, "tl": 0, "rb": 0, "wb": 0})
        for key in site:
            site[key] += point[key]
    if not sites:
        # The finding of a zero-allocation stage, not an error.
        print(f"DHAT: {handler_calls:,} calls of {HANDLER}: nothing allocated per request,"
              " and nothing at set-up either")
        return 0
    # A site that allocated on fewer than half the calls is one-time set-up
    # (a thread's first match data, say), not a cost per request.
    per_call = {path: site for path, site in sites.items() if site["tbk"] * 2 >= handler_calls}
    once = {path: site for path, site in sites.items() if path not in per_call}
    total = sum(site["tb"] for site in per_call.values())
    if per_call:
        print(f"DHAT: {handler_calls:,} calls of {HANDLER} allocated {total / handler_calls:,.0f} bytes"
              f" per call, at {len(per_call)} site{'s' if len(per_call) != 1 else ''}"
              f"{',' if once else ':'}")
    else:
        print(f"DHAT: {handler_calls:,} calls of {HANDLER}: nothing allocated per request,")
    if once:
        print("  and a few blocks once, at set-up (a thread's first match data, say):")
    print(f"  {'per call':>9} {'blocks':>6} {'read':>4} {'written':>7} {'lifetime':>13}  allocated in")
    rows = sorted(per_call.items(), key=lambda item: -item[1]["tb"])[:8]
    rows += sorted(once.items(), key=lambda item: -item[1]["tb"])[:3]
    for path, site in rows:
        size = (f"{site['tb'] / handler_calls:>7,.0f} B" if path in per_call
                else f"once {site['tb']:>5,} B")
        lifetime = site["tl"] / max(site["tbk"], 1)
        # pcre2's unnamed frames under the function that called into it
        # say nothing the function's name does not: left out.
        shown = list(path)
        while len(shown) > 1 and shown[0].startswith("???"):
            shown.pop(0)
        where = " <- ".join(shown)
        line = (f"  {size:>9} {site['tbk'] / handler_calls:>6.1f} {100 * site['rb'] / site['tb']:>3.0f}%"
                f" {100 * site['wb'] / site['tb']:>6.0f}% {lifetime:>7,.0f} instr  ")
        # The allocation site's chain on the same line where it fits.
        print(line + where if len(line + where) <= 100 else f"{line.rstrip()}\n      {where}")
    print("  (read and written: bytes accessed per byte allocated, 100% = each byte once;")
    print("   lifetime: instructions from malloc to free)")
    if any("???" in frame for path, _ in rows for frame in path[1:]):
        print("  (???: a frame valgrind cannot name, inside a stripped library)")
    print(f"DHAT's viewer: open file://{VIEWER} in a browser,")
    print(f"  click \"Load...\" and choose {os.path.abspath(profile)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
