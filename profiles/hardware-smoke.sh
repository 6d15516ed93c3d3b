#!/usr/bin/env bash
# hardware-smoke.sh OUT LAST - the hardware's side, inside make test.
#
#   cachelines  stages 5 and LAST's servers give visitor_count its cache
#               lines to itself (nm; no run needed, the same on every CPU);
#               stage 3's layout is printed, whatever the linker chose
#   visitcount  the BenchmarkVisitCount family side by side, briefly: four
#               comparisons, each with its p-value
#   cpusplit    the live server under wrk for a second: utilisation first,
#               and a split of a request's CPU whose parts add up
#   latency     the live server at fixed offered rates, a second each: a
#               row per rate, p50 at most p99; where a queue built up, its
#               wait well above h2load's own p99 (the coordinated omission
#               h2load's numbers hide); a PNG that draws each line
# Fails, saying which, when one does not show what it must.
set -euo pipefail

out=${1:?usage: hardware-smoke.sh OUT LAST}
last=${2:?last stage}
smoke=$out/hardware-smoke
rm -rf "$smoke"
mkdir -p "$smoke"

for stage in 3 5 "$last"; do
    profiles/cachelines.py "$out/stage$stage/server" "$out/stage$stage/hi.o" \
        "$smoke/cachelines-$stage" >"$smoke/cachelines-$stage.txt"
done
for stage in 5 "$last"; do
    python3 - "$smoke/cachelines-$stage/cachelines.json" "$stage" <<'PY' || { cat "$smoke/cachelines-$stage.txt"; exit 1; }
import json, sys
layout = json.load(open(sys.argv[1]))
stage = sys.argv[2]
if not layout["found"]:
    sys.exit(f"FAIL: stage {stage}: no {layout['hot']} in its server")
for size, names in layout["neighbours"].items():
    if names:
        sys.exit(f"FAIL: stage {stage}: {layout['hot']} shares its {size}-byte block with {', '.join(names)}")
PY
done

# Where there are more than two CPUs, the server and wrk get halves of
# them (this machine may have two: the rule is checked by itself).
python3 - <<'PY' || exit 1
import sys
sys.path.insert(0, "bench")
from cpusplit import cpu_sets
for cpus, wanted in (([0, 1], (None, None)), ([0], (None, None)), ([0, 1, 2, 3], ([0, 1], [2, 3])),
                     ([2, 5, 7, 3, 1, 0, 4, 6], ([0, 1, 2, 3], [4, 5, 6, 7])), ([0, 1, 2], ([0], [1, 2]))):
    if cpu_sets(cpus) != wanted:
        sys.exit(f"FAIL: cpusplit's CPUs for {cpus}: {cpu_sets(cpus)}, want {wanted}")
PY
DURATION=1s bench/cpusplit.py "$out/stage$last/server" "$out/stage$last/bench-uncounted" "$smoke/cpusplit" \
    >"$smoke/cpusplit.txt" 2>&1 || { cat "$smoke/cpusplit.txt"; echo "FAIL: make stage$last cpusplit"; exit 1; }
head -n 1 "$smoke/cpusplit.txt" | grep -q '^utilisation: [0-9]* CPUs' \
    || { cat "$smoke/cpusplit.txt"; echo "FAIL: cpusplit: utilisation is not its first line"; exit 1; }
python3 - "$smoke/cpusplit/cpusplit.json" <<'PY' || { cat "$smoke/cpusplit.txt"; exit 1; }
import json, sys
split = json.load(open(sys.argv[1]))
rows = {row["name"].split(" (")[0]: row["cpu_s"] for row in split["rows"]}
total = sum(rows.values())
problems = []
if split["requests"] <= 0:
    problems.append("wrk counted no request")
if any(seconds < 0 for seconds in rows.values()):
    problems.append(f"a negative part: {rows}")
for part in ("the handler", "civetweb and libc", "kernel, in the server's threads", "wrk, the load generator"):
    if not rows.get(part, 0) > 0:
        problems.append(f"no CPU time for {part!r}: {rows}")
if not 0 < split["handler_percent"] < 100:
    problems.append(f"the handler is {split['handler_percent']}% of a request")
# The parts are the busy time shared out: they add up to it, give or take
# the kernel's 10 ms ticks (the rest is what none of them accounts for).
if not 0.8 * split["busy_s"] <= total <= 1.3 * split["busy_s"]:
    problems.append(f"the parts add up to {total:.2f} s, the CPUs were busy {split['busy_s']:.2f} s")
if problems:
    sys.exit("FAIL: cpusplit: " + "; ".join(problems))
PY
grep -q '^the handler is [0-9.]*% of a request' "$smoke/cpusplit.txt" \
    || { cat "$smoke/cpusplit.txt"; echo "FAIL: cpusplit: no 'the handler is N% of a request' line"; exit 1; }
SECONDS_PER_RATE=1 bench/latency.py "$out/stage$last/server" "$smoke/latency" >"$smoke/latency.txt" 2>&1 \
    || { cat "$smoke/latency.txt"; echo "FAIL: make stage$last latency"; exit 1; }
python3 - "$smoke/latency/latency.json" <<'PY' || { cat "$smoke/latency.txt"; exit 1; }
import json, sys
run = json.load(open(sys.argv[1]))
problems = []
if len(run["rows"]) != 8:
    problems.append(f"{len(run['rows'])} rates measured, want 8")
for row in run["rows"]:
    if not (row["requests"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"] and row["queue_ms"] >= 0):
        problems.append(f"at {row['offered']:.0f} req/s: {row}")
queued = [row for row in run["rows"] if row["achieved"] < 0.9 * row["offered"]]
if not queued:
    problems.append("no rate, up to 150% of wrk's capacity, built a queue")
for row in queued:
    if not row["queue_ms"] > 2 * row["p99_ms"]:
        problems.append(f"at {row['offered']:.0f} req/s a queue built up, yet its wait"
                        f" {row['queue_ms']:.2f} ms is not above twice h2load's p99 {row['p99_ms']:.2f} ms")
if problems:
    sys.exit("FAIL: latency: " + "; ".join(problems))
PY
# The picture, by what it draws: the queue's wait (red), h2load's p50
# (blue) and p99 (grey), each across much of the plot's width.
profiles/pictures.py lines "$smoke/latency/latency.png" queue=c0392b p50=2471a3 p99=7d7d7d \
    >"$smoke/pictures.txt" || { cat "$smoke/pictures.txt"; exit 1; }
echo "hardware smoke run: visitor_count alone on its 128 bytes in stages 5 and $last; in stage 3,"
echo "  $(grep -m1 "hi.c's own" "$smoke/cachelines-3.txt" | sed 's/^ *//')"
echo "  cpusplit: $(grep -m1 '^the handler is' "$smoke/cpusplit.txt" | sed 's/ (.*//'), utilisation first,"
echo "  the parts add up;"
echo "  latency: 8 offered rates, open loop; the queue's wait past the knee, which h2load's p99 hides"
