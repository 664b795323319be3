"""The link-cost model: the NumPy network plus what it needs to be used safely.

A model file (.npz, written by ``training/train_model.py``) holds the network, its
input normalization, the feature names it was trained on, the range of every feature
in the training data, the target transform and the test metrics. At run time a link
whose features fall outside that range (with a margin) is not predicted; the
controller falls back for it as configured.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from controller.linkcost.features import FEATURE_NAMES
from controller.linkcost.nn import NeuralNetwork

RANGE_MARGIN = 0.1  # of each feature's training range, on either side


class ModelError(ValueError):
    """The model file is missing, unreadable or does not fit our features."""


@dataclass
class CostModel:
    net: NeuralNetwork
    path: str
    low: np.ndarray
    high: np.ndarray
    target_transform: str
    metrics: dict[str, Any]

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
        if low.shape != (n,) or high.shape != (n,) or transform not in ("none", "log1p"):
            raise ModelError(f"model file {path}: feature ranges or target transform malformed")
        return cls(net, str(path), low, high, transform, dict(meta.get("metrics", {})))

    def in_range(self, x: np.ndarray) -> np.ndarray:
        """Per row: every feature within the training range widened by the margin."""
        span = np.maximum(self.high - self.low, 1e-9)
        lo, hi = self.low - RANGE_MARGIN * span, self.high + RANGE_MARGIN * span
        finite = np.all(np.isfinite(x), axis=1)
        with np.errstate(invalid="ignore"):
            inside = np.all((x >= lo) & (x <= hi), axis=1)
        return np.asarray(finite & inside)

    def predict_latency_ms(self, x: np.ndarray) -> np.ndarray:
        """Predicted one-way delay (ms, >= 0, finite) for each row."""
        y = self.net.predict(x)[:, 0]
        if self.target_transform == "log1p":
            y = np.expm1(np.clip(y, -50, 50))
        y = np.where(np.isfinite(y), y, 0.0)
        return np.asarray(np.maximum(y, 0.0))


def cost_from_latency(latency_ms: float, ms_per_hop: float) -> float:
    """Routing cost of a link: 1 per hop plus its delay in units of ``ms_per_hop``.

    An idle link costs about 1 (so idle paths compare like hop counts); a link whose
    queue holds 100 ms costs about 1 + 100 / ms_per_hop.
    """
    if not math.isfinite(latency_ms) or latency_ms < 0:
        latency_ms = 0.0
    return 1.0 + latency_ms / ms_per_hop
