"""The training pipeline on the shipped dataset, subsampled so that CI stays fast.

The full run (and the figures in README) is `python -m training.train_model`; here the
same code trains on a subsample of the training scenarios and is checked on the same
held-out test scenarios, against the linear baseline and MLPRegressor.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from controller.linkcost.features import FEATURE_NAMES
from controller.linkcost.model import CostModel
from training import train_model

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "linkcost.csv"
SHIPPED = ROOT / "controller" / "models" / "linkcost.npz"


def test_split_is_by_scenario_never_by_row() -> None:
    x, y, s = train_model.load(DATA)
    train, val, test = train_model.split_by_scenario(x, y, s, seed=0)
    assert not set(train.scenarios) & set(test.scenarios)
    assert not set(val.scenarios) & (set(train.scenarios) | set(test.scenarios))
    assert len(train.x) + len(val.x) + len(test.x) == len(x)


def test_training_on_a_subsample_beats_the_linear_baseline(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.npz"
    t0 = time.perf_counter()
    args = ["--subsample", "2000", "--out", str(out), "--transform", "none", "--restarts", "1"]
    assert train_model.main(args) == 0
    secs = time.perf_counter() - t0
    printed = capsys.readouterr().out
    print(printed)
    metrics = json.loads(out.with_suffix(".metrics.json").read_text())["metrics"]
    ours = metrics["NumPy network (ours)"]["r2"]
    linear = metrics["linear least squares"]["r2"]
    print(f"subsample training: NumPy R² {ours:.3f}, linear {linear:.3f}, {secs:.1f}s in all")
    assert ours >= linear
    model = CostModel.load(out)  # what the controller loads
    x = np.zeros((1, len(FEATURE_NAMES)))
    x[0, FEATURE_NAMES.index("log10_capacity_bps")] = 7.0
    assert np.all(model.predict_latency_ms(x) >= 0)


def test_the_shipped_model_loads_and_meets_its_recorded_targets() -> None:
    model = CostModel.load(SHIPPED)
    m = model.metrics
    ours = m["NumPy network (ours)"]["r2"]
    assert ours >= m["linear least squares"]["r2"]
    assert ours >= m["scikit-learn MLPRegressor"]["r2"] - 0.02
    assert m["NumPy network (ours)"]["train_s"] < 30


def test_the_shipped_model_loaded_at_run_time_reproduces_its_recorded_test_metrics() -> None:
    """The metrics were computed by the training run on the network in memory; the
    controller's load of the saved file must give exactly the same test predictions."""
    model = CostModel.load(SHIPPED)
    meta = model.net.metadata
    x, y, s = train_model.load(DATA)
    assert hashlib.sha256(DATA.read_bytes()).hexdigest()[:16] == meta["dataset"]["sha256_16"]
    test = np.isin(s, meta["split"]["test"])
    got = train_model.scores(y[test], model.predict_latency_ms(x[test]))
    recorded = meta["metrics"]["NumPy network (ours)"]
    for key in ("mae_ms", "rmse_ms", "r2"):
        assert got[key] == pytest.approx(recorded[key], rel=1e-12, abs=1e-12), key
