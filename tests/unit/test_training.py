"""The training pipeline: data preparation, the evaluation protocol, the fitted
baselines, the decision metric, an end-to-end run on a tiny synthetic dataset, and the
shipped model.

The full run (the figures in README and in the model file) is
``python -m training.train_model`` (``make model``); here only fast pieces run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from controller.linkcost.features import DELAY_FEATURES, FEATURE_NAMES, delay_features
from controller.linkcost.model import CostModel, LoadCurve
from training import evaluate as ev
from training import train_model

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "linkcost.csv"
SHIPPED = ROOT / "controller" / "models" / "linkcost.npz"
COUNTERS = [n for n in FEATURE_NAMES if n not in DELAY_FEATURES]


# --------------------------------------------------------------------------- helpers


def _write_csv(path: Path, rows: list[dict[str, Any]], with_delay: bool = False) -> None:
    cols = ["scenario", "topology", "t", "src", "dst", "capacity_bps", *COUNTERS]
    cols += [*DELAY_FEATURES] if with_delay else []
    cols += ["latency_now_ms", "latency_ms"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, 0.0) for c in cols})


def _synthetic_rows(seed: int = 0) -> list[dict[str, Any]]:
    """3 topology families x 3 scenarios x 2 links x 30 rounds: a queue that builds with
    utilization, on top of noise."""
    rng = np.random.default_rng(seed)
    rows = []
    specs = ["twopath,10", "ring,4,10,shaped=true", "mesh,4,12,shaped=true"]
    for s in range(9):
        spec = specs[s % 3]
        for link in ("1>2", "2>1"):
            src, dst = link.split(">")
            u_path = np.clip(np.cumsum(rng.normal(0, 0.08, 31)) + 0.5, 0, 1)
            delay = 0.5 + 20 * u_path**4 + rng.exponential(0.2, 31)
            for k in range(30):
                u = float(u_path[k])
                rows.append(
                    {
                        "scenario": s,
                        "topology": spec,
                        "t": float(k),
                        "src": src,
                        "dst": dst,
                        "capacity_bps": 1e7,
                        "utilization": u,
                        "utilization_ewma": u,
                        "utilization_max": u,
                        "rx_utilization": u,
                        "tx_mbps": 10 * u,
                        "tx_kpps": 1.25 * u,
                        "mean_packet_bytes": 1000.0,
                        "log10_capacity_bps": 7.0,
                        "latency_now_ms": float(delay[k]),
                        "latency_ms": float(delay[k + 1]),
                    }
                )
    return rows


def _tiny_dataset(
    scenario: list[int], t: list[float], link: list[str], y: list[float], now: list[float]
) -> ev.Dataset:
    n = len(y)
    x = np.zeros((n, len(FEATURE_NAMES)))
    x[:, ev.DELAY] = now
    return ev.Dataset(
        x,
        np.asarray(y, dtype=float),
        np.asarray(scenario),
        np.asarray(t, dtype=float),
        np.asarray(link, dtype=object),
        np.asarray(["twopath,10"] * n, dtype=object),
        np.full(n, 1e7),
    )


# --------------------------------------------------------------------------- data


def test_topology_family_is_the_spec_before_the_first_comma() -> None:
    assert ev.topology_family("twopath,10") == "twopath"
    assert ev.topology_family("ring,4,10,shaped=true") == "ring"
    assert ev.topology_family("mesh") == "mesh"


def test_derived_delay_columns_equal_delay_features_on_a_hand_made_sequence() -> None:
    # Link a: 7 rounds, then a 3 s gap (> 2.5 s): its history restarts. Link b interleaved.
    ta = [0.0, 1.0, 2.1, 3.0, 4.0, 5.2, 6.0, 9.0, 10.0]
    ma = [1.0, 2.0, 4.0, 3.0, 10.0, 7.0, 6.5, 2.0, 2.5]
    tb = [0.0, 1.0, 2.0]
    mb = [0.3, 0.4, 0.2]
    order = [("a", t, m) for t, m in zip(ta, ma, strict=True)]
    order += [("b", t, m) for t, m in zip(tb, mb, strict=True)]
    order = order[::-1]  # the function must sort by t itself
    got = ev.derive_delay_columns(
        [0] * len(order), [o[0] for o in order], [o[1] for o in order], [o[2] for o in order]
    )
    for row, (lnk, t, _) in zip(got, order, strict=True):
        ts, ms = (ta, ma) if lnk == "a" else (tb, mb)
        i = ts.index(t)
        start = 7 if lnk == "a" and i >= 7 else 0  # the gap between 6.0 and 9.0
        hist = list(zip(ts[start : i + 1], ms[start : i + 1], strict=True))[-5:]
        assert row.tolist() == pytest.approx(delay_features(hist), abs=1e-12)
    # Spot checks against the definition.
    first_after_gap = got[[o[1] for o in order].index(9.0)]
    assert first_after_gap.tolist() == [2.0, 2.0, 2.0, 0.0]


def test_load_dataset_derives_missing_delay_columns_and_keeps_present_ones(
    tmp_path: Path,
) -> None:
    rows = _synthetic_rows()
    _write_csv(tmp_path / "old.csv", rows)
    old = ev.load_dataset(tmp_path / "old.csv")
    assert old.derived_delay_columns
    assert np.allclose(old.x[:, ev.DELAY], [r["latency_now_ms"] for r in rows])
    # A newer dataset carries the columns: they are used as they are.
    for r, d in zip(rows, old.x[:, [FEATURE_NAMES.index(n) for n in DELAY_FEATURES]], strict=True):
        r.update(dict(zip(DELAY_FEATURES, d.tolist(), strict=True)))
        r["delay_trend"] = 42.0
    _write_csv(tmp_path / "new.csv", rows, with_delay=True)
    new = ev.load_dataset(tmp_path / "new.csv")
    assert not new.derived_delay_columns
    assert np.all(new.x[:, FEATURE_NAMES.index("delay_trend")] == 42.0)
    assert set(new.family.tolist()) == {"twopath", "ring", "mesh"}


# --------------------------------------------------------------------------- baselines


def test_mm1_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(3)
    truth = LoadCurve(base_ms=0.4, gain=2.5, packet_bytes=1000.0, max_utilization=0.95)
    u = rng.uniform(0, 1.2, 4000)  # above the cap too: the fit must find the cap
    cap = rng.choice([5e6, 1e7, 2e7], 4000)
    y = ev.load_curve_delay(truth, cap, u) + rng.normal(0, 0.01, 4000)
    fit = ev.fit_load_curve(cap, u, y)
    assert fit.base_ms == pytest.approx(0.4, abs=0.01)
    assert fit.gain == pytest.approx(2.5, rel=0.01)
    assert fit.max_utilization == 0.95
    # Scalar and vectorised formulas agree.
    assert ev.load_curve_delay(fit, np.array([1e7]), np.array([0.5]))[0] == pytest.approx(
        fit.delay_ms(1e7, 0.5)
    )
    LoadCurve.from_metadata(ev.load_curve_metadata(fit))  # what CostModel.load accepts


def test_mm1_fit_never_returns_a_negative_gain() -> None:
    u = np.linspace(0, 0.9, 50)
    fit = ev.fit_load_curve(np.full(50, 1e7), u, 5.0 - u)  # delay falls with load
    assert fit.gain == 0.0 and fit.base_ms == pytest.approx(np.mean(5.0 - u))


def test_utilization_heuristic_factor_is_least_squares() -> None:
    u = np.array([0.0, 0.5, 0.99, 1.5])
    f = ev.heuristic_factor(u)
    assert f.tolist() == pytest.approx([1.0, 2.0, 100.0, 100.0])
    assert ev.fit_heuristic(u, 3.0 * f) == pytest.approx(3.0)


# --------------------------------------------------------------------------- metrics


def test_decision_metric_on_a_tiny_table() -> None:
    # Scenario 0, round t=0: links a (next 1 ms), b (next 20 ms), c (next 3 ms) -> pairs
    # (a, b) and (c, b) differ by >= 5 ms; (a, c) does not. t=0.3 is the same round.
    # Scenario 1 at the same t is another scenario: never paired with scenario 0.
    ds = _tiny_dataset(
        scenario=[0, 0, 0, 0, 1, 1],
        t=[0.0, 0.3, 0.1, 1.0, 0.0, 0.0],
        link=["a", "b", "c", "a", "a", "b"],
        y=[1.0, 20.0, 3.0, 50.0, 1.0, 2.0],
        now=[0.0] * 6,
    )
    pairs = ev.decision_pairs(ds)
    assert sorted(tuple(sorted(p)) for p in pairs.tolist()) == [(0, 1), (1, 2)]
    right = np.array([1.0, 30.0, 2.0, 0.0, 0.0, 0.0])  # orders both pairs correctly
    assert ev.decision_scores(ds.y, right, pairs) == {
        "pairs": 2,
        "accuracy": 1.0,
        "regret_ms": 0.0,
    }
    wrong_one = np.array([1.0, 2.5, 3.0, 0.0, 0.0, 0.0])  # prefers b over c: regret 17
    got = ev.decision_scores(ds.y, wrong_one, pairs)
    assert got["accuracy"] == 0.5 and got["regret_ms"] == pytest.approx(17.0 / 2)
    flat = np.zeros(6)  # every pair a tie: a coin flip
    got = ev.decision_scores(ds.y, flat, pairs)
    assert got["accuracy"] == 0.5 and got["regret_ms"] == pytest.approx((19.0 + 17.0) / 4)


def test_onset_rows_are_quiet_now_and_congested_next() -> None:
    ds = _tiny_dataset([0] * 4, [0.0, 1.0, 2.0, 3.0], ["a"] * 4, [12, 12, 8, 30], [1, 6, 1, 4])
    assert ev.onset_mask(ds).tolist() == [True, False, False, True]


def test_selection_score_is_the_worse_of_the_two_gains_over_persistence() -> None:
    y = np.array([1.0, 2.0, 3.0, 10.0])
    now = np.array([1.0, 1.0, 1.0, 1.0])
    assert ev.selection_score(y, now, now) == 0.0
    assert ev.selection_score(y, y, now) == 1.0
    assert ev.selection_score(y, now + 100.0, now) < 0.0


# --------------------------------------------------------------------------- protocol


class _Spy:
    """A method that records what it was trained on and predicts the delay now."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, ds: ev.Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Any:
        self.calls.append((train.copy(), val.copy()))
        return ev.Fitted(lambda x: x[:, ev.DELAY] + 0.0)


def test_loto_never_puts_a_held_out_family_into_training(tmp_path: Path) -> None:
    _write_csv(tmp_path / "d.csv", _synthetic_rows())
    ds = ev.load_dataset(tmp_path / "d.csv")
    spy = _Spy()
    report = ev.run_loto(ds, [ev.Method("spy", spy)], seeds=[0, 1], log=lambda _: None)
    assert report.grouping == "family" and report.groups == ["mesh", "ring", "twopath"]
    assert len(spy.calls) == 2 * 3
    for (train, val), g in zip(spy.calls, report.groups * 2, strict=True):
        held = ds.family == g
        assert not (train | val)[held].any()
        assert (train | val)[~held].all() and not (train & val).any()
        # The validation part is whole scenarios.
        assert not set(ds.scenario[train].tolist()) & set(ds.scenario[val].tolist())
    pred = report.results["spy"][0].pred
    assert np.allclose(pred, ds.now_ms)  # every row predicted while held out
    s = report.summary["spy"]
    assert s["r2"]["median"] == pytest.approx(ev.scores(ds.y, ds.now_ms)["r2"])


def test_with_fewer_than_three_families_one_topology_spec_is_held_out() -> None:
    ds = _tiny_dataset([0, 1, 2], [0.0, 0.0, 0.0], ["a"] * 3, [1, 2, 3], [1, 2, 3])
    ds.topology = np.array(["twopath,10", "twopath,5", "ring,4"], dtype=object)
    ds.family = np.array(["twopath", "twopath", "ring"], dtype=object)
    grouping, labels = ev.holdout_groups(ds)
    assert grouping == "topology spec" and labels.tolist() == ds.topology.tolist()


def test_end_to_end_on_a_tiny_dataset_writes_a_model_the_controller_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = tmp_path / "d.csv", tmp_path / "m.npz"
    _write_csv(data, _synthetic_rows())
    args = ["--data", str(data), "--out", str(out), "--seeds", "1", "--jobs", "1"]
    args += ["--no-sklearn", "--no-plots", "--epochs", "3", "--restarts", "1"]
    assert train_model.main(args) == 0
    printed = capsys.readouterr().out
    assert "persistence (delay now)" in printed and "targets" in printed
    model = CostModel.load(out)
    meta = model.net.metadata
    assert meta["target_transform"] in ("none", "delta")
    assert set(meta["metrics"]) == {
        ev.PERSISTENCE,
        ev.HEURISTIC,
        ev.MM1,
        ev.LINEAR,
        ev.OURS,
    }
    assert len(meta["feature_min"]) == len(FEATURE_NAMES)
    assert meta["command"].startswith("python -m training.train_model")
    ds = ev.load_dataset(data)
    pred = model.predict_latency_ms(ds.x)
    assert np.all(np.isfinite(pred)) and np.all(pred >= 0)
    summary = json.loads(out.with_suffix(".metrics.json").read_text())
    assert summary["metrics"][ev.OURS]["r2"]["median"] == meta["metrics"][ev.OURS]["r2"]["median"]


def test_split_by_scenario_never_by_row() -> None:
    x, y, s = train_model.load(DATA)
    assert x.shape == (len(y), len(FEATURE_NAMES))
    train, val, test = train_model.split_by_scenario(x, y, s, seed=0)
    assert not set(train.scenarios) & set(test.scenarios)
    assert not set(val.scenarios) & (set(train.scenarios) | set(test.scenarios))
    assert len(train.x) + len(val.x) + len(test.x) == len(x)


# --------------------------------------------------------------------------- shipped model


def test_the_shipped_model_records_the_evaluation_of_every_method() -> None:
    model = CostModel.load(SHIPPED)
    m = model.metrics
    for name in (ev.PERSISTENCE, ev.HEURISTIC, ev.MM1, ev.LINEAR, ev.MLP, ev.HGB, ev.OURS):
        row = m[name]
        for key in ("r2", "mae_ms", "decision_accuracy", "decision_regret_ms"):
            assert math.isfinite(row[key]["median"]), (name, key)
            assert row[key]["q25"] <= row[key]["median"] <= row[key]["q75"]
    meta = model.net.metadata
    assert len(meta["evaluation"]["seeds"]) >= 5
    assert meta["target_transform"] == meta["final"]["chosen"]["transform"]
    # The targets are recorded as measured, met or not.
    for t in meta["targets"].values():
        assert isinstance(t["met"], bool)


def test_the_shipped_model_reproduces_its_recorded_validation_scores_and_load_curve() -> None:
    """Computed by the training run on the network in memory; the controller's load of
    the saved file must give the same validation predictions, and the load curve is the
    M/M/1 fit on the dataset's rows."""
    model = CostModel.load(SHIPPED)
    meta = model.net.metadata
    assert hashlib.sha256(DATA.read_bytes()).hexdigest()[:16] == meta["dataset"]["sha256_16"]
    ds = ev.load_dataset(DATA)
    val = np.isin(ds.scenario, meta["final"]["split"]["validation"])
    got = ev.scores(ds.y[val], model.predict_latency_ms(ds.x[val]))
    recorded = meta["final"]["validation"]["ours"]
    for key in ("mae_ms", "rmse_ms", "r2"):
        assert got[key] == pytest.approx(recorded[key], rel=1e-9, abs=1e-12), key
    curve = ev.fit_load_curve(ds.capacity_bps, ds.x[:, ev.UTIL], ds.y)
    assert model.load_curve == curve
    train = np.isin(ds.scenario, meta["final"]["split"]["train"])
    assert np.allclose(model.low, ds.x[train].min(axis=0))
    assert np.allclose(model.high, ds.x[train].max(axis=0))
