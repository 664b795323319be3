"""Live quality of the link-cost predictions: each one against the delay then measured.

A prediction made at one cost round is for the delay measured at the next; this keeps
the last ``QUALITY_WINDOW`` such pairs per directed link, with what persistence (the
delay measured when the prediction was made) would have said, so an operator sees the
model drift, and whether it still beats the simplest baseline, where it matters: live.
Bounded: one window per link of the graph (others are dropped every round).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

QUALITY_WINDOW = 60
Edge = tuple[int, int]
Sample = tuple[float, float, float]
"""(predicted ms, persistence ms, measured ms)."""


def scores(samples: Sequence[Sample]) -> dict[str, float | int | None]:
    """MAE and R² of the predictions and of persistence against the measured delays."""
    return array_scores(np.array(samples, dtype=float).reshape(-1, 3))


def array_scores(data: np.ndarray) -> dict[str, float | int | None]:
    """:func:`scores` of rows (predicted, persistence, measured)."""
    n = len(data)
    if n == 0:
        return {"samples": 0, "mae_ms": None, "r2": None, "persistence_mae_ms": None,
                "persistence_r2": None}  # fmt: skip
    measured = data[:, 2]
    ss_tot = float(np.sum((measured - measured.mean()) ** 2))

    def r2(column: int) -> float | None:
        if n < 2 or ss_tot <= 0:
            return None
        return round(1.0 - float(np.sum((data[:, column] - measured) ** 2)) / ss_tot, 4)

    def mae(column: int) -> float:
        return round(float(np.mean(np.abs(data[:, column] - measured))), 4)

    return {
        "samples": n,
        "mae_ms": mae(0),
        "r2": r2(0),
        "persistence_mae_ms": mae(1),
        "persistence_r2": r2(1),
    }


class Window:
    """The latest ``size`` samples of one link, in a fixed NumPy ring (no per-sample
    objects: pooling 1,000 links' windows is one concatenation)."""

    def __init__(self, size: int) -> None:
        self.rows = np.zeros((size, 3))
        self.count = 0
        self.next = 0

    def append(self, sample: Sample) -> None:
        self.rows[self.next] = sample
        self.next = (self.next + 1) % len(self.rows)
        self.count = min(self.count + 1, len(self.rows))

    def filled(self) -> np.ndarray:
        return self.rows[: self.count]


class LiveQuality:
    def __init__(self, window: int = QUALITY_WINDOW) -> None:
        self.window = window
        self._pending: dict[Edge, tuple[float, float]] = {}
        self._previous: dict[Edge, tuple[float, float]] = {}
        self._samples: dict[Edge, Window] = {}
        self._overall: dict[str, float | int | None] | None = None
        """``overall()`` until the samples change (a scrape or a page reads it often)."""

    def begin_round(self) -> None:
        """A cost round starts: last round's predictions await this round's delays;
        older unmatched ones are dropped."""
        self._previous, self._pending = self._pending, {}

    def measured(self, edge: Edge, delay_ms: float) -> None:
        """The link's delay measured this round: scores last round's prediction."""
        before = self._previous.pop(edge, None)
        if before is not None:
            window = self._samples.get(edge)
            if window is None:
                window = self._samples[edge] = Window(self.window)
            window.append((before[0], before[1], delay_ms))
            self._overall = None

    def predicted(self, edge: Edge, predicted_ms: float, measured_now_ms: float) -> None:
        self._pending[edge] = (predicted_ms, measured_now_ms)

    def keep_only(self, edges: Iterable[Edge]) -> None:
        live = set(edges)
        for table in (self._pending, self._previous, self._samples):
            for gone in [e for e in table if e not in live]:
                del table[gone]
        self._overall = None

    def link(self, edge: Edge) -> dict[str, float | int | None]:
        window = self._samples.get(edge)
        return array_scores(window.filled() if window is not None else np.zeros((0, 3)))

    def links(self) -> dict[Edge, dict[str, float | int | None]]:
        """:meth:`link` of every link with samples, computed together (a thousand small
        NumPy calls per link would take 50 ms at 1,000 links; this takes a few)."""
        edges = list(self._samples)
        if not edges:
            return {}
        rows = np.stack([self._samples[e].rows for e in edges])  # (links, window, 3)
        counts = np.array([self._samples[e].count for e in edges], dtype=float)
        valid = np.arange(self.window)[None, :] < counts[:, None]
        measured = np.where(valid, rows[:, :, 2], 0.0)
        mean = measured.sum(axis=1) / counts
        ss_tot = np.where(valid, (rows[:, :, 2] - mean[:, None]) ** 2, 0.0).sum(axis=1)
        err = np.where(valid[:, :, None], rows[:, :, :2] - rows[:, :, 2:3], 0.0)
        sse, mae = (err**2).sum(axis=1), np.abs(err).sum(axis=1) / counts[:, None]
        out = {}
        for i, edge in enumerate(edges):
            scorable = counts[i] >= 2 and ss_tot[i] > 0
            r2 = [round(1.0 - float(sse[i, c]) / float(ss_tot[i]), 4) if scorable else None
                  for c in (0, 1)]  # fmt: skip
            out[edge] = {"samples": int(counts[i]), "mae_ms": round(float(mae[i, 0]), 4),
                         "r2": r2[0], "persistence_mae_ms": round(float(mae[i, 1]), 4),
                         "persistence_r2": r2[1]}  # fmt: skip
        return out

    def overall(self) -> dict[str, float | int | None]:
        """Every link's window pooled; kept until the samples change."""
        if self._overall is None:
            filled = [w.filled() for w in self._samples.values()]
            self._overall = array_scores(np.concatenate(filled) if filled else np.zeros((0, 3)))
        return self._overall
