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


class LiveQuality:
    """Per directed link, in rows of NumPy arrays: last round's prediction (awaiting this
    round's delay), this round's, and a ring of the last ``window`` scored samples. A
    cost round scores and records thousands of links in a few array operations
    (:meth:`measured_rows`, :meth:`predicted_rows`); the per-link methods are the same
    on one row."""

    def __init__(self, window: int = QUALITY_WINDOW) -> None:
        self.window = window
        self.rows: dict[Edge, int] = {}
        self._free: list[int] = []
        self._alloc(64)
        self._overall: dict[str, float | int | None] | None = None
        """``overall()`` until the samples change (a scrape or a page reads it often)."""

    def _alloc(self, n: int) -> None:
        self.samples = np.zeros((n, self.window, 3))
        self.count = np.zeros(n, dtype=np.int64)
        self.next = np.zeros(n, dtype=np.int64)
        self.pending = np.full((n, 2), np.nan)
        """This round's (predicted, persistence) per row; NaN: none."""
        self.previous = np.full((n, 2), np.nan)

    def row(self, edge: Edge) -> int:
        r = self.rows.get(edge)
        if r is None:
            if self._free:
                r = self._free.pop()
            else:
                r = len(self.rows)
                if r >= len(self.count):  # grow, keeping what the rows hold
                    kept = (self.samples, self.count, self.next, self.pending, self.previous)
                    self._alloc(2 * len(self.count))
                    for new, old in zip(
                        (self.samples, self.count, self.next, self.pending, self.previous),
                        kept,
                        strict=True,
                    ):
                        new[: len(old)] = old
            self.rows[edge] = r
        return r

    def row_array(self, edges: Iterable[Edge]) -> np.ndarray:
        return np.fromiter((self.row(e) for e in edges), dtype=np.int64)

    def begin_round(self) -> None:
        """A cost round starts: last round's predictions await this round's delays;
        older unmatched ones are dropped."""
        self.previous, self.pending = self.pending, np.full_like(self.pending, np.nan)

    def measured_rows(self, rows: np.ndarray, delay_ms: np.ndarray) -> None:
        """The links' delays measured this round: they score last round's predictions."""
        before = self.previous[rows]
        scored = ~np.isnan(before[:, 0])
        r = rows[scored]
        if len(r) == 0:
            return
        at = self.next[r]
        self.samples[r, at, :2] = before[scored]
        self.samples[r, at, 2] = delay_ms[scored]
        self.next[r] = (at + 1) % self.window
        self.count[r] = np.minimum(self.count[r] + 1, self.window)
        self.previous[r] = np.nan
        self._overall = None

    def predicted_rows(
        self, rows: np.ndarray, predicted_ms: np.ndarray, now_ms: np.ndarray
    ) -> None:
        self.pending[rows, 0] = predicted_ms
        self.pending[rows, 1] = now_ms

    def measured(self, edge: Edge, delay_ms: float) -> None:
        self.measured_rows(self.row_array([edge]), np.array([delay_ms]))

    def predicted(self, edge: Edge, predicted_ms: float, measured_now_ms: float) -> None:
        self.predicted_rows(self.row_array([edge]), np.array([predicted_ms]),
                            np.array([measured_now_ms]))  # fmt: skip

    def keep_only(self, edges: Iterable[Edge]) -> None:
        live = set(edges)
        for gone in [e for e in self.rows if e not in live]:
            r = self.rows.pop(gone)
            self.count[r] = self.next[r] = 0
            self.pending[r] = self.previous[r] = np.nan
            self._free.append(r)
        self._overall = None

    def _filled(self, r: int) -> np.ndarray:
        return self.samples[r, : self.count[r]]

    def link(self, edge: Edge) -> dict[str, float | int | None]:
        r = self.rows.get(edge)
        return array_scores(self._filled(r) if r is not None else np.zeros((0, 3)))

    def links(self) -> dict[Edge, dict[str, float | int | None]]:
        """:meth:`link` of every link with samples, computed together (a thousand small
        NumPy calls per link would take 50 ms at 1,000 links; this takes a few)."""
        edges = [e for e, r in self.rows.items() if self.count[r] > 0]
        if not edges:
            return {}
        idx = np.array([self.rows[e] for e in edges])
        rows, counts = self.samples[idx], self.count[idx].astype(float)
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
            filled = [self._filled(r) for r in self.rows.values() if self.count[r] > 0]
            self._overall = array_scores(np.concatenate(filled) if filled else np.zeros((0, 3)))
        return self._overall
