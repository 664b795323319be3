"""The link-cost model: the NumPy network plus what it needs to be used safely.

A model file (.npz, written by ``training/train_model.py``) holds the network, its
input normalization, the feature names it was trained on, the range of every feature
in the training data, the target transform, the fitted load curve and the test metrics.

* Target transforms: ``delta`` (the network predicts the change of the delay over the
  next interval; the prediction is the measured ``delay_ms`` plus that change), ``none``
  (the delay itself) or ``log1p`` (log(1 + delay)). Predictions are finite and >= 0 ms.
* Idle links: a link that carries almost nothing (both ends under ``IDLE_UTILIZATION``,
  no drops) has no queue to grow; its prediction is its measured delay. So idle links
  compare by what was measured, never by how the network extrapolates capacities (a
  faster idle link never costs more than a slower one measured the same).
* Range: a link whose features fall outside the training range (widened by a margin)
  is not predicted; the caller prices it on the same scale from its measured delay. The
  :data:`~controller.linkcost.features.UNBOUNDED_FEATURES` (drops, errors) are clipped to
  the training range instead, so counting drops never makes a link look cheap.
* Load curve: re-optimization asks "what would this link cost carrying load X?", which a
  next-interval predictor cannot answer (it has never seen that load on that link). The
  model file carries a queueing curve fitted on the same training rows (M/M/1 in shape:
  ``base_ms + gain * service_ms * u / (1 - u)``, ``u`` capped at ``max_utilization``)
  that answers it on the same delay scale. Beyond the cap it grows in proportion to the
  offered load (flows that ask for twice what the link carries each get half), so two
  elephants on one path cost more than one on each, as they should.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from controller.linkcost.features import FEATURE_NAMES, UNBOUNDED_FEATURES
from controller.linkcost.nn import NeuralNetwork

RANGE_MARGIN = 0.1  # of each feature's training range, on either side
TRANSFORMS = ("none", "log1p", "delta")
DELAY_COLUMN = FEATURE_NAMES.index("delay_ms")
IDLE_UTILIZATION = 0.05
IDLE_COLUMNS = [FEATURE_NAMES.index(n) for n in ("utilization", "rx_utilization")]
DROP_COLUMN = FEATURE_NAMES.index("drops_ps")
UNBOUNDED_COLUMNS = [FEATURE_NAMES.index(n) for n in UNBOUNDED_FEATURES]
CHECKED_COLUMNS = [i for i in range(len(FEATURE_NAMES)) if i not in UNBOUNDED_COLUMNS]


def idle_rows(x: np.ndarray) -> np.ndarray:
    """Per row: both ends under ``IDLE_UTILIZATION`` and no drops (no queue to grow)."""
    return np.asarray(
        np.all(x[:, IDLE_COLUMNS] < IDLE_UTILIZATION, axis=1) & (x[:, DROP_COLUMN] <= 0)
    )


class ModelError(ValueError):
    """The model file is missing, unreadable or does not fit our features."""


@dataclass(frozen=True)
class LoadCurve:
    """Steady one-way delay of a link carrying a given load (M/M/1 in shape)."""

    base_ms: float
    gain: float
    packet_bytes: float = 1000.0
    max_utilization: float = 0.98

    def delay_ms(self, capacity_bps: float, offered: float) -> float:
        """``offered``: load over capacity (above 1: more than it carries)."""
        offered = max(offered, 0.0)
        u = min(offered, self.max_utilization)
        service_ms = self.packet_bytes * 8 / max(capacity_bps, 1.0) * 1000.0
        ms = max(0.0, self.base_ms + self.gain * service_ms * u / (1.0 - u))
        return ms * offered / u if offered > u else ms

    @classmethod
    def from_metadata(cls, meta: Any) -> LoadCurve:
        curve = cls(
            float(meta["base_ms"]),
            float(meta["gain"]),
            float(meta.get("packet_bytes", 1000.0)),
            float(meta.get("max_utilization", 0.98)),
        )
        values = (curve.base_ms, curve.gain, curve.packet_bytes, curve.max_utilization)
        if not all(math.isfinite(v) for v in values) or not 0 < curve.max_utilization < 1:
            raise ValueError("load curve values out of range")
        if curve.packet_bytes <= 0 or curve.gain < 0:
            raise ValueError("load curve values out of range")
        return curve


@dataclass
class CostModel:
    net: NeuralNetwork
    path: str
    low: np.ndarray
    high: np.ndarray
    target_transform: str
    metrics: dict[str, Any]
    load_curve: LoadCurve

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CostModel:
        try:
            net = NeuralNetwork.load(path, expected_feature_names=list(FEATURE_NAMES))
        except FileNotFoundError:
            raise ModelError(f"model file {path} not found") from None
        except ValueError as exc:
            raise ModelError(f"model file {path}: {exc}") from None
        meta = net.metadata
        try:
            low = np.asarray(meta["feature_min"], dtype=np.float64)
            high = np.asarray(meta["feature_max"], dtype=np.float64)
            transform = str(meta.get("target_transform", "none"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model file {path}: metadata lacks feature ranges ({exc})") from None
        n = len(FEATURE_NAMES)
        if low.shape != (n,) or high.shape != (n,) or transform not in TRANSFORMS:
            raise ModelError(f"model file {path}: feature ranges or target transform malformed")
        try:
            curve = LoadCurve.from_metadata(meta["load_curve"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model file {path}: no valid load curve ({exc!r})") from None
        metrics = dict(meta.get("metrics", {}))
        return cls(net, str(path), low, high, transform, metrics, curve)

    def in_range(self, x: np.ndarray) -> np.ndarray:
        """Per row: every checked feature within the training range widened by the
        margin (drops and errors are not checked: see the module docstring)."""
        span = np.maximum(self.high - self.low, 1e-9)
        lo, hi = self.low - RANGE_MARGIN * span, self.high + RANGE_MARGIN * span
        finite = np.all(np.isfinite(x), axis=1)
        cols = CHECKED_COLUMNS
        with np.errstate(invalid="ignore"):
            inside = np.all((x[:, cols] >= lo[cols]) & (x[:, cols] <= hi[cols]), axis=1)
        return np.asarray(finite & inside)

    def predict_latency_ms(self, x: np.ndarray) -> np.ndarray:
        """Predicted one-way delay (ms, >= 0, finite) for each row (idle rows: their
        measured delay)."""
        x = np.array(x, dtype=np.float64)
        idle = idle_rows(x)
        cols = UNBOUNDED_COLUMNS
        x[:, cols] = np.clip(x[:, cols], self.low[cols], self.high[cols])
        y = self.net.predict(x)[:, 0]
        if self.target_transform == "log1p":
            y = np.expm1(np.clip(y, -50, 50))
        elif self.target_transform == "delta":
            y = x[:, DELAY_COLUMN] + y
        y = np.where(idle, x[:, DELAY_COLUMN], y)
        y = np.where(np.isfinite(y), y, 0.0)
        return np.asarray(np.maximum(y, 0.0))


def cost_from_latency(latency_ms: float, ms_per_hop: float) -> float:
    """Routing cost of a link: 1 per hop plus its delay in units of ``ms_per_hop``.

    An idle link costs about 1 + its idle delay / ``ms_per_hop`` (so idle paths compare
    like hop counts); a link whose queue holds 100 ms costs about 1 + 100 / ms_per_hop.
    Every cost (predicted, measured, what-if) is on this one scale.
    """
    if not math.isfinite(latency_ms) or latency_ms < 0:
        latency_ms = 0.0
    return 1.0 + latency_ms / ms_per_hop
