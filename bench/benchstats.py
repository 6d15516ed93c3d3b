"""benchstats.py - the statistics of Go's benchstat, for benchtool.py.

benchstat (golang.org/x/perf/cmd/benchstat) summarises each benchmark's
runs as "median ± x%" and compares two sets of runs with a Mann-Whitney U
test. Neither assumes the times are normally distributed (they are not:
a benchmark is sometimes slowed down, never sped up). This module does
the same computations, so that our tables read like benchstat's:

  summary(values)      -> median, its 95% confidence interval, "± x%"
  compare(old, new)    -> the U test's two-sided p-value, and a warning
                          when there are too few runs to find anything
  delta(p, old, new)   -> "-12.34%", or "~" when p > 0.05
  shift_interval(old, new) -> how much new differs from old, and the 95%
                          interval of that difference (Hodges-Lehmann):
                          what "~" leaves out, how big a change the runs
                          can still not rule out

Python's standard library only.
"""
import math
import statistics

CONFIDENCE = 0.95
ALPHA = 0.05


# ============================ The median and its interval ====================

def median_interval_orders(n, confidence=CONFIDENCE):
    """Returns (lo, hi): the 1-based order statistics X(lo) <= median <=
    X(hi) that bound the median with at least `confidence`, as benchstat
    (go-moremath's QuantileCI) chooses them. lo < 1 or hi > n means the
    interval is unbounded on that side: too few runs.

    How many of n runs fall below the true median is Binomial(n, 1/2).
    Starting from its middle, the interval grows one order at a time
    towards the likelier side (ties towards the low side) until it holds
    `confidence` of the probability."""
    if n <= 30:
        pmf = lambda k: math.comb(n, k) / 2 ** n if 0 <= k <= n else 0.0
    else:   # benchstat approximates by a normal distribution above 30
        sigma = math.sqrt(n) / 2
        cdf = lambda x: 0.5 * math.erfc(-(x - n / 2) / (sigma * math.sqrt(2)))
        pmf = lambda k: cdf(k + 0.5) - cdf(k - 0.5) if 0 <= k <= n else 0.0
    low = math.ceil((n + 1) / 2) - 1            # the lower mode
    high = low + 1                              # the sum covers [low, high)
    covered = pmf(low)
    while covered < confidence and (pmf(low - 1) > 0 or pmf(high) > 0):
        if pmf(low - 1) >= pmf(high):
            low -= 1
            covered += pmf(low)
        else:
            covered += pmf(high)
            high += 1
    return low, high


def minimum_runs(confidence=CONFIDENCE):
    """Returns the fewest runs that give a bounded interval (6 at 95%)."""
    n = 2
    while True:
        low, high = median_interval_orders(n, confidence)
        if low >= 1 and high <= n:
            return n
        n += 1


def summary(values):
    """Returns a dict: median, lo and hi (the 95% confidence interval of
    the median; infinite with too few runs) and pct, benchstat's "± x%":
    the farther end of the interval from the median, in percent."""
    ordered = sorted(values)
    n = len(ordered)
    low, high = median_interval_orders(n)
    lo = ordered[low - 1] if low >= 1 else -math.inf
    hi = ordered[high - 1] if high <= n else math.inf
    middle = statistics.median(ordered)
    if math.isinf(lo) or math.isinf(hi):
        pct = "∞"
    elif middle == 0:
        pct = "0%"
    else:
        pct = f"{100 * max(hi / middle - 1, 1 - lo / middle):.0f}%"
    return {"median": middle, "lo": lo, "hi": hi, "pct": pct, "n": n}


# ============================ Comparing two sets of runs =====================

# go-moremath's limits for the exact U test: up to 50 runs a side when no
# two values are equal, up to 25 with ties; the normal approximation above.
EXACT_LIMIT, EXACT_LIMIT_WITH_TIES = 50, 25


def u_test(old, new):
    """Returns the two-sided p-value of the Mann-Whitney U test, as
    benchstat (go-moremath) computes it: exact for up to 50 runs a side
    without ties and 25 with them (tie groups included, which scipy's
    exact method ignores), else the normal approximation with the tie and
    continuity corrections. All values equal: p = 1."""
    n1, n2 = len(old), len(new)
    merged = sorted([(value, 0) for value in old] + [(value, 1) for value in new])
    ties, rank_sum, start = [], 0.0, 0
    while start < len(merged):                  # midranks of each tie group
        end = start
        while end < len(merged) and merged[end][0] == merged[start][0]:
            end += 1
        rank = (start + 1 + end) / 2
        rank_sum += rank * sum(1 for _, side in merged[start:end] if side == 0)
        ties.append(end - start)
        start = end
    if len(ties) == 1:
        return 1.0
    u = rank_sum - n1 * (n1 + 1) / 2
    limit = EXACT_LIMIT if len(ties) == n1 + n2 else EXACT_LIMIT_WITH_TIES
    if n1 <= limit and n2 <= limit:
        smaller = min(u, n1 * n2 - u)
        if smaller == n1 * n2 - smaller:
            return 1.0
        return min(1.0, 2 * exact_u_cdf(n1, n2, ties, smaller))
    n = n1 + n2
    correction = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 * ((n + 1) - correction) / 12)
    centred = u - n1 * n2 / 2
    z = (centred - math.copysign(0.5, centred)) / sigma
    return 2 * min(0.5 * math.erfc(-z / math.sqrt(2)), 0.5 * math.erfc(z / math.sqrt(2)))


def exact_u_cdf(n1, n2, ties, u):
    """Returns P(U <= u) when the n1 + n2 runs, in tie groups of the given
    sizes, are split into samples of n1 and n2 at random: counts every way
    of drawing n1 of them, with doubled midranks to stay in integers."""
    ways = {(0, 0): 1}                          # (drawn, 2 * rank sum) -> count
    first = 1
    for size in ties:
        double_rank = 2 * first + size - 1
        grown = {}
        for (drawn, ranks), count in ways.items():
            for take in range(0, min(size, n1 - drawn) + 1):
                key = (drawn + take, ranks + take * double_rank)
                grown[key] = grown.get(key, 0) + count * math.comb(size, take)
        ways = grown
        first += size
    limit = 2 * u + n1 * (n1 + 1)
    hits = sum(count for (drawn, ranks), count in ways.items() if drawn == n1 and ranks <= limit)
    return hits / math.comb(n1 + n2, n1)


def runs_to_detect(alpha=ALPHA):
    """Returns the fewest runs a side with which the U test can reach
    p <= alpha at all (4 at 0.05: with 3 runs each, p is never below 0.1)."""
    n = 1
    while 2 / math.comb(2 * n, n) > alpha:
        n += 1
    return n


def delta(p, old, new):
    """Returns benchstat's delta column: the change of the median in
    percent, or "~" when the runs cannot tell it from noise (p > 0.05)."""
    if p > ALPHA:
        return "~"
    if old == new:
        return "0.00%"
    if old == 0:
        return "?"
    return f"{100 * (new / old - 1):+.2f}%"


def shift_interval(old, new, confidence=CONFIDENCE):
    """Returns (estimate, low, high): the shift from old to new, as the
    median of every difference new - old (Hodges-Lehmann), and the
    confidence interval for it that inverts the Mann-Whitney U test: the
    k-th smallest and k-th largest differences, k from U's exact
    distribution. None where there are too few runs to bound it. A p-value
    above 0.05 says only that the runs cannot tell; this says how large a
    difference they still allow."""
    n1, n2 = len(old), len(new)
    differences = sorted(b - a for a in old for b in new)
    singles = [1] * (n1 + n2)
    # The largest c with P(U <= c) <= (1 - confidence) / 2; k = c + 1.
    c = -1
    while c + 1 < n1 * n2 and exact_u_cdf(n1, n2, singles, c + 1) <= (1 - confidence) / 2:
        c += 1
    if c < 0:
        return None
    return statistics.median(differences), differences[c], differences[-c - 1]
