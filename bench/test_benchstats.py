#!/usr/bin/python3
"""test_benchstats.py - benchstats.py's statistics against known answers.

Each row names what it checks, so a failure says which. The U test's
p-values are held to scipy's exact ones (Debian's python3-scipy, which
the benchmarks install) where there are no ties, the only case scipy's
exact method covers; the median's interval and the shift's interval to
their textbook values (binomial orders, the U test's critical value).
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchstats  # noqa: E402

try:
    from scipy.stats import mannwhitneyu
except ImportError:
    print("benchstats test: scipy is not installed; run: make deps-bench (python3-scipy)")
    sys.exit(1)


def check(failures, what, got, want, tolerance=1e-9):
    """Adds a failure naming what, when got is not want (within tolerance)."""
    same = abs(got - want) <= tolerance if isinstance(want, float) else got == want
    if not same:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def main():
    failures = []
    generator = random.Random(20261205)
    # The U test, exact, without ties: scipy's p-value to the last digit.
    for n1, n2 in ((4, 4), (5, 7), (10, 10), (12, 9), (25, 25), (30, 30)):
        old = [generator.random() for _ in range(n1)]
        new = [generator.random() + 0.3 for _ in range(n2)]
        want = mannwhitneyu(old, new, alternative="two-sided", method="exact").pvalue
        check(failures, f"u_test, {n1}+{n2} runs without ties", benchstats.u_test(old, new), want)
    check(failures, "u_test, all values equal", benchstats.u_test([5, 5, 5], [5, 5, 5]), 1.0)
    check(failures, "u_test, 3+3 runs never below 0.1",
          benchstats.u_test([1, 2, 3], [4, 5, 6]) >= 0.1, True)
    # The median's 95% interval: X(2) to X(9) of 10 runs (binomial orders).
    check(failures, "median interval orders for 10 runs", benchstats.median_interval_orders(10), (2, 9))
    check(failures, "fewest runs for a bounded interval", benchstats.minimum_runs(), 6)
    check(failures, "fewest runs that can reach p <= 0.05", benchstats.runs_to_detect(), 4)
    # The shift's 95% interval for 10+10 runs: the U test's two-sided
    # critical value is 23, so the 24th smallest and largest differences.
    old = list(range(10, 20))
    new = [value + 10 for value in old]
    differences = sorted(b - a for a in old for b in new)
    check(failures, "shift interval, 10+10 runs", benchstats.shift_interval(old, new),
          (10.0, differences[23], differences[-24]))
    check(failures, "shift interval, 3+3 runs: too few", benchstats.shift_interval([1, 2, 3], [4, 5, 6]),
          None)
    check(failures, "delta, not significant", benchstats.delta(0.06, 100, 50), "~")
    check(failures, "delta, significant", benchstats.delta(0.01, 100, 50), "-50.00%")
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print("benchstats: the U test matches scipy's exact p-values (6 sizes), and the median's and"
              "\n  the shift's 95% intervals their textbook orders")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
