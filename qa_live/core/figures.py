"""How figures are printed and summarised, the same on every surface (docs/metrics.md).

The console counters, the transcript, the statistics pages, the downloads, the API and the
report paragraph all read rates and answer times through these, so one rule rounds them all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: The percentiles of answer times every surface reports: the median and the 90th.
PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True)
class Rate:
    """A share such as the answer rate: kept as the exact fraction, printed by one rule.

    The rule (docs/metrics.md, "Rounding"): a percentage with one decimal, rounded *down*, so a
    rate is never shown higher than it is; 100% only when the fraction is exactly 1; "—" when
    the denominator is zero (undefined).
    """

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The share between 0 and 1, or None when undefined."""
        if self.denominator == 0:
            return None
        return self.numerator / self.denominator

    @property
    def per_mille(self) -> int | None:
        """The share in tenths of a percent, rounded down (exact integer arithmetic)."""
        if self.denominator == 0:
            return None
        return (self.numerator * 1000) // self.denominator

    def percent(self) -> str:
        """The share as printed: '100%', '99.3%', '0%' or '—'."""
        tenths = self.per_mille
        if tenths is None:
            return "—"
        if self.numerator == self.denominator:
            return "100%"
        if self.numerator == 0:
            return "0%"
        return f"{tenths // 10}.{tenths % 10}%"

    def fraction(self) -> str:
        """The exact fraction, e.g. '158/159'."""
        return f"{self.numerator}/{self.denominator}"

    def __str__(self) -> str:
        return self.percent()


def whole_seconds(seconds: float) -> int:
    """A duration as whole seconds for people: halves round up (2.5 s reads 3 s), as JS does."""
    return math.floor(seconds + 0.5)


def percentile(values: dict[int, float], n: int, p: float) -> float | None:
    """The p-th percentile of n sorted values, of which `values` holds the needed 1-based ranks.

    Linear interpolation between the closest ranks (PostgreSQL's percentile_cont): the value at
    position p·(n−1) of the 0-based sorted list.
    """
    if n <= 0:
        return None
    position = p * (n - 1)
    low = int(position)
    frac = position - low
    below = values[low + 1]
    if frac == 0 or low + 2 > n:
        return below
    return below + (values[low + 2] - below) * frac


def needed_ranks(n: int, ps: tuple[float, ...]) -> set[int]:
    """The 1-based ranks percentile() needs for each p, out of n values."""
    ranks: set[int] = set()
    for p in ps:
        low = int(p * (n - 1))
        ranks.add(low + 1)
        if low + 2 <= n:
            ranks.add(low + 2)
    return ranks


def answer_time_percentiles(histogram: Sequence[tuple[int, int]], answered: int,
                            ps: tuple[float, ...] = PERCENTILES) -> dict[float, float | None]:
    """Percentiles of seconds from asking to the first answer, over answered valid questions.

    `histogram` is (seconds waited, questions) in order of the wait, summed by the database
    (live.metrics.wait_counts, or the stored rows of stats.stored); the ranks are found by
    walking those counts.
    """
    if answered <= 0:
        return {p: None for p in ps}
    ranks = sorted(needed_ranks(answered, ps))
    values: dict[int, float] = {}
    seen = 0
    for value, count in histogram:
        while ranks and ranks[0] <= seen + count:
            values[ranks.pop(0)] = float(value)
        seen += count
        if not ranks:
            break
    if ranks:  # the questions changed between the two queries; say nothing
        return {p: None for p in ps}
    return {p: percentile(values, answered, p) for p in ps}
