"""Latency histograms as plain values: what the Prometheus exporter publishes.

Fixed bucket bounds, counts per bucket, a sum and a count: constant memory whatever the
traffic, no dependency on a metrics library (the exporter converts at scrape time).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

SETUP_BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
"""A flow setup: from the first packet of a pair to the ingress switch's barrier reply."""
RTT_BUCKETS_S = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)
REST_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


@dataclass
class Histogram:
    """Observations counted into buckets ``le`` each bound (the last, +Inf, implied)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"bucket bounds must increase strictly: {self.bounds}")
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        value = max(0.0, value)
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= it) per bucket, +Inf last: Prometheus's form."""
        out, running = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


REST_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"})


@dataclass
class RestTimings:
    """REST requests by method and status, and their latency (bounded label sets: an
    unknown method counts as ``OTHER``, a status is one of HTTP's three-digit codes)."""

    latency: Histogram = field(default_factory=lambda: Histogram(REST_BUCKETS_S))
    requests: Counter[tuple[str, int]] = field(default_factory=Counter)

    def observe(self, method: str, status: int, seconds: float) -> None:
        method = method.upper() if method.upper() in REST_METHODS else "OTHER"
        status = status if 100 <= status <= 599 else 0
        self.requests[(method, status)] += 1
        self.latency.observe(seconds)
