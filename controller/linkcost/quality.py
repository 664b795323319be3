"""Live quality of the link-cost predictions: each one against the delay then measured.

A prediction made at one cost round is for the delay measured at the next; this keeps
the last ``QUALITY_WINDOW`` such pairs per directed link, with what persistence (the
delay measured when the prediction was made) would have said, so an operator sees the
model drift, and whether it still beats the simplest baseline, where it matters: live.
Bounded: one window per link of the graph (others are dropped every round).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

QUALITY_WINDOW = 60
Edge = tuple[int, int]
Sample = tuple[float, float, float]
"""(predicted ms, persistence ms, measured ms)."""


def scores(samples: Sequence[Sample]) -> dict[str, float | int | None]:
    """MAE and R² of the predictions and of persistence against the measured delays."""
    n = len(samples)
    if n == 0:
        return {"samples": 0, "mae_ms": None, "r2": None, "persistence_mae_ms": None,
                "persistence_r2": None}  # fmt: skip
    measured = [m for _, _, m in samples]
    mean = sum(measured) / n
    ss_tot = sum((m - mean) ** 2 for m in measured)

    def r2(column: int) -> float | None:
        if n < 2 or ss_tot <= 0:
            return None
        return round(1.0 - sum((s[column] - s[2]) ** 2 for s in samples) / ss_tot, 4)

    def mae(column: int) -> float:
        return round(sum(abs(s[column] - s[2]) for s in samples) / n, 4)

    return {
        "samples": n,
        "mae_ms": mae(0),
        "r2": r2(0),
        "persistence_mae_ms": mae(1),
        "persistence_r2": r2(1),
    }


class LiveQuality:
    def __init__(self, window: int = QUALITY_WINDOW) -> None:
        self.window = window
        self._pending: dict[Edge, tuple[float, float]] = {}
        self._previous: dict[Edge, tuple[float, float]] = {}
        self._samples: dict[Edge, deque[Sample]] = {}

    def begin_round(self) -> None:
        """A cost round starts: last round's predictions await this round's delays;
        older unmatched ones are dropped."""
        self._previous, self._pending = self._pending, {}

    def measured(self, edge: Edge, delay_ms: float) -> None:
        """The link's delay measured this round: scores last round's prediction."""
        before = self._previous.pop(edge, None)
        if before is not None:
            window = self._samples.setdefault(edge, deque(maxlen=self.window))
            window.append((before[0], before[1], delay_ms))

    def predicted(self, edge: Edge, predicted_ms: float, measured_now_ms: float) -> None:
        self._pending[edge] = (predicted_ms, measured_now_ms)

    def keep_only(self, edges: Iterable[Edge]) -> None:
        live = set(edges)
        for table in (self._pending, self._previous, self._samples):
            for gone in [e for e in table if e not in live]:
                del table[gone]

    def link(self, edge: Edge) -> dict[str, float | int | None]:
        return scores(list(self._samples.get(edge, ())))

    def overall(self) -> dict[str, float | int | None]:
        return scores([s for window in self._samples.values() for s in window])
