#!/usr/bin/python3
"""slidegraph.py < PPROF-DOT > SLIDE-DOT - a call graph made to be read on a slide.

google-pprof draws every function above its node threshold, at a font size
that follows its own samples: our functions, which mostly call others, come
out as tiny boxes, thin edges carry labels nobody can read, and a stripped
library's self-calls draw loops whose counts exceed the profile's total.
The slide version keeps what the lesson is about:

  - no chain of frames every sample passes through on its way to the code
    (_start, main, the benchmark harness, a thread's start routine);
  - no edge thinner than 2% of the samples, no self-loop, and then no node
    left without an edge;
  - a label only on edges of 5% or more, with pprof's decimals;
  - every box in a font big enough to read at slide size.
"""
import re
import sys

ENTRY = re.compile(r"^(_start|__libc_start_main_impl|__libc_start_call_main|main|bench_main|measure"
                   r"|run_n|clone3?|start_thread|worker_main|bench_run_parallel)$")
THIN_EDGE = 0.02
LABELLED_EDGE = 0.05
SMALLEST_FONT, LARGEST_FONT = 16.0, 36.0


def main():
    lines = sys.stdin.read().splitlines()
    total = re.search(r"; ([\d.]+) ", lines[0]) if lines else None
    total = float(total[1]) if total else 0.0
    nodes, edges, other = {}, [], []
    for line in lines[1:]:
        node = re.match(r'^(N\d+) \[label="([^"\\]*(?:\\.[^"\\]*)*)"(.*)\];$', line)
        edge = re.match(r"^(N\d+) -> (N\d+) \[label=([\d.]+)(.*)\];$", line)
        if node:
            nodes[node[1]] = {"label": node[2], "rest": node[3], "name": node[2].split("\\n")[0]}
        elif edge:
            edges.append({"from": edge[1], "to": edge[2], "weight": float(edge[3]), "rest": edge[4]})
        elif line != "}":
            other.append(line)
    kept = {n for n, node in nodes.items() if not ENTRY.match(node["name"])}
    edges = [e for e in edges if e["from"] in kept and e["to"] in kept and e["from"] != e["to"]
             and (total == 0 or e["weight"] >= THIN_EDGE * total)]
    connected = {e["from"] for e in edges} | {e["to"] for e in edges}
    kept = {n for n in kept if n in connected or len(kept) == 1}
    print(lines[0])
    for line in other:
        print(re.sub(r"fontsize=\d+", "fontsize=18", line))
    for name, node in nodes.items():
        if name not in kept:
            continue
        size = re.search(r"fontsize=([\d.]+)", node["rest"])
        font = min(max(float(size[1]) if size else SMALLEST_FONT, SMALLEST_FONT), LARGEST_FONT)
        rest = re.sub(r"fontsize=[\d.]+", f"fontsize={font:.1f}", node["rest"])
        print(f'{name} [label="{node["label"]}"{rest}];')
    # Weights as pprof writes them: seconds of a short profile keep their
    # decimals, or every edge would read 0.
    decimals = 3 if total < 10 else 1 if total < 100 else 0
    for e in edges:
        label = f'label="{e["weight"]:.{decimals}f}", ' \
            if total == 0 or e["weight"] >= LABELLED_EDGE * total else ""
        rest = e["rest"].lstrip(", ")
        print(f'{e["from"]} -> {e["to"]} [{label}{rest}];')
    print("}")


if __name__ == "__main__":
    main()
