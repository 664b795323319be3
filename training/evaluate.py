"""Honest evaluation of the link-cost model: leave one topology out, side by side.

    from training import evaluate
    ds = evaluate.load_dataset(Path("data/linkcost.csv"))
    report = evaluate.run_loto(ds, evaluate.default_methods(), seeds=range(5))
    print(evaluate.format_table(report))

**Data.** Any CSV with the dataset's columns (``data/README.md``). A dataset recorded
before the four delay features existed has ``latency_now_ms`` instead: the delay columns
are then derived per link (scenario, src, dst), ordered by ``t``, exactly as the
controller computes them (:func:`controller.linkcost.features.delay_features` over the
last up to ``TREND_SAMPLES`` samples); a gap of more than ``MAX_GAP_S`` starts the
link's history afresh.

**Protocol.** Each topology *family* (the topology spec before its first comma:
``twopath``, ``ring``, ...) is held out in turn; with fewer than 3 families, each
topology spec instead. For every seed, the scenarios of the other families are split
(by scenario, seeded) into a training part and a validation part (``VAL_FRACTION``).
Methods that select or stop early (the networks, gradient boosting) fit on the training
part and choose on the validation part only; closed-form methods (linear, the two
queueing formulas) fit on both parts. The held-out family is never seen before it is
scored. Per seed, the held-out predictions of all folds are pooled and scored; the
report gives the median and the interquartile range over the seeds.

**Methods.** persistence (next delay = delay now); the utilization heuristic
``c / (1 - min(u, 0.99))`` (the ``utilization`` metric's weight, put on the delay scale
by one factor ``c`` fitted by least squares on the training rows); a fitted M/M/1 (the
:class:`controller.linkcost.model.LoadCurve` shape, ``base_ms`` and ``gain`` by least
squares, ``max_utilization`` from a grid, ``packet_bytes`` 1000); linear least squares
on all features; scikit-learn's MLPRegressor and HistGradientBoostingRegressor
(development-only); and ours, the NumPy network of ``training/nn_training.py``.

**Scored as the controller predicts.** Ours is scored through
``controller.linkcost.model.CostModel.predict_latency_ms`` (drops and errors clipped to
the training range; idle links given their measured delay, see that module), so what
is scored is what the controller would use. The other learned regressors (linear,
MLPRegressor, gradient boosting) are treated the same, as drop-in replacements: all
four are fitted on the rows the controller predicts with its network and give idle
rows their measured delay. The candidates of the three non-linear ones: target
``none`` or ``delta`` x the label's change winsorized at ``CLIPS_MS`` (a robust fit:
rare jumps no longer pull every prediction up), chosen on validation by
:func:`selection_score`.

**Decision metric.** Pairs of directed links of the same scenario at the same stats
round (``|t difference| < PAIR_WINDOW_S``) whose next-interval delays differ by at least
``PAIR_MIN_DIFF_MS``: how often a method's predictions order the pair correctly (a tie
counts as a coin flip: half right, half the difference as regret) and the mean regret,
the extra measured delay of the link it prefers (ms).

**Congestion onset.** Rows whose delay now is below ``ONSET_NOW_MS`` and whose label is
above ``ONSET_LABEL_MS``: a queue about to appear. Reported apart: count, MAE, mean
predicted and mean measured delay.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from controller.linkcost.features import (
    DELAY_FEATURES,
    FEATURE_NAMES,
    TREND_SAMPLES,
    delay_features,
)
from controller.linkcost.model import CostModel, LoadCurve
from controller.linkcost.nn import NeuralNetwork
from training.nn_training import TrainableNetwork

LABEL = "latency_ms"
NOW = "latency_now_ms"
MAX_GAP_S = 2.5  # a longer gap between two rows of a link starts its delay history afresh
PAIR_WINDOW_S = 0.5
PAIR_MIN_DIFF_MS = 5.0
ONSET_NOW_MS = 5.0
ONSET_LABEL_MS = 10.0
HEURISTIC_MAX_U = 0.99  # as controller/network/weights.py
VAL_FRACTION = 0.2
MIN_FAMILIES = 3
TRANSFORMS = ("none", "delta")  # target transforms tried for every learned method
CLIPS_MS = (None, 5.0, 2.0)  # label change winsorized at +-this for training (None: as is)

DELAY = FEATURE_NAMES.index("delay_ms")
UTIL = FEATURE_NAMES.index("utilization")
COUNTER_FEATURES = tuple(n for n in FEATURE_NAMES if n not in DELAY_FEATURES)


Predictor = Callable[[np.ndarray], np.ndarray]

# --------------------------------------------------------------------------- data


def topology_family(spec: str) -> str:
    """``"ring,4,10,shaped=true"`` -> ``"ring"``: the spec before its first comma."""
    return spec.split(",", 1)[0].strip()


_SENTINEL_MS = 1e9


def controller_uses_network(x: np.ndarray) -> np.ndarray:
    """Per row: does the controller's ``CostModel.predict_latency_ms`` take this row's
    prediction from the network? (It gives idle links their measured delay instead.)
    Asked of CostModel itself, with a probe network that outputs a sentinel, so this
    follows the controller's rule wherever it is defined."""
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    probe = NeuralNetwork([len(FEATURE_NAMES), 1], ["identity"], feature_names=FEATURE_NAMES)
    probe.layers[0].weights[:] = 0.0
    probe.layers[0].biases[:] = _SENTINEL_MS
    n = len(FEATURE_NAMES)
    model = CostModel(
        net=probe,
        path="(probe)",
        low=np.full(n, -np.inf),
        high=np.full(n, np.inf),
        target_transform="none",
        metrics={},
        load_curve=LoadCurve(0.0, 0.0),
    )
    return np.asarray(model.predict_latency_ms(np.nan_to_num(x)) == _SENTINEL_MS)


def as_controller(predict: Predictor) -> Predictor:
    """A regressor's predictions where the controller would use its network, the
    measured delay elsewhere (idle links), >= 0: how a drop-in replacement of our
    network would be used."""

    def wrapped(x: np.ndarray) -> np.ndarray:
        return np.where(controller_uses_network(x), np.maximum(predict(x), 0.0), x[:, DELAY])

    return wrapped


@dataclass
class Dataset:
    """One row per directed link per stats interval; ``x`` in FEATURE_NAMES order."""

    x: np.ndarray
    y: np.ndarray
    scenario: np.ndarray
    t: np.ndarray
    link: np.ndarray  # "src>dst"
    topology: np.ndarray
    capacity_bps: np.ndarray
    derived_delay_columns: bool = False
    family: np.ndarray = field(init=False)
    net_rows: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.family = np.array([topology_family(str(s)) for s in self.topology], dtype=object)
        # Rows the controller predicts with the network (the rest: measured delay).
        self.net_rows = controller_uses_network(self.x)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def now_ms(self) -> np.ndarray:
        """The measured delay when the features were taken (``delay_ms``)."""
        return self.x[:, DELAY]

    def subset(self, mask: np.ndarray) -> Dataset:
        return Dataset(
            self.x[mask],
            self.y[mask],
            self.scenario[mask],
            self.t[mask],
            self.link[mask],
            self.topology[mask],
            self.capacity_bps[mask],
            self.derived_delay_columns,
        )


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def derive_delay_columns(
    scenario: Sequence[Any],
    link: Sequence[Any],
    t: Sequence[float],
    now_ms: Sequence[float],
) -> np.ndarray:
    """The DELAY_FEATURES of every row, (n, 4), from each link's ``latency_now_ms``
    history: rows of one (scenario, link) ordered by ``t``; a gap above ``MAX_GAP_S``
    restarts the history; the last up to TREND_SAMPLES samples go to ``delay_features``."""
    out = np.empty((len(t), len(DELAY_FEATURES)), dtype=np.float64)
    groups: dict[tuple[Any, Any], list[int]] = {}
    for i, key in enumerate(zip(scenario, link, strict=True)):
        groups.setdefault(key, []).append(i)
    for rows in groups.values():
        rows.sort(key=lambda i: float(t[i]))
        history: list[tuple[float, float]] = []
        for i in rows:
            ti = float(t[i])
            if history and ti - history[-1][0] > MAX_GAP_S:
                history = []
            history = [*history, (ti, float(now_ms[i]))][-TREND_SAMPLES:]
            out[i] = delay_features(history)
    return out


def load_dataset(path: Path) -> Dataset:
    """Read the dataset CSV; derive the delay columns if it predates them."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or [])
        rows = list(reader)
    has_delay = all(c in columns for c in DELAY_FEATURES)
    need = [*COUNTER_FEATURES, LABEL, "scenario", "topology", "t", "src", "dst"]
    if not has_delay:
        need.append(NOW)
    missing = [c for c in need if c not in columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    scenario = np.array([int(r["scenario"]) for r in rows])
    link = np.array([f"{r['src']}>{r['dst']}" for r in rows], dtype=object)
    t = np.array([_float(r["t"]) for r in rows])
    counters = np.array([[_float(r[n]) for n in COUNTER_FEATURES] for r in rows]).reshape(
        len(rows), len(COUNTER_FEATURES)
    )
    if has_delay:
        delays = np.array([[_float(r[n]) for n in DELAY_FEATURES] for r in rows]).reshape(
            len(rows), len(DELAY_FEATURES)
        )
    else:
        now = np.array([_float(r[NOW]) for r in rows])
        usable = np.isfinite(now) & np.isfinite(t)
        delays = np.full((len(rows), len(DELAY_FEATURES)), np.nan)
        delays[usable] = derive_delay_columns(
            scenario[usable], link[usable], t[usable], now[usable]
        )
    x = np.empty((len(rows), len(FEATURE_NAMES)))
    for j, name in enumerate(COUNTER_FEATURES):
        x[:, FEATURE_NAMES.index(name)] = counters[:, j]
    for j, name in enumerate(DELAY_FEATURES):
        x[:, FEATURE_NAMES.index(name)] = delays[:, j]
    y = np.array([_float(r[LABEL]) for r in rows])
    log_cap = x[:, FEATURE_NAMES.index("log10_capacity_bps")]
    if "capacity_bps" in columns:
        capacity = np.array([_float(r["capacity_bps"]) for r in rows])
    else:
        capacity = 10.0**log_cap
    topology = np.array([r["topology"] for r in rows], dtype=object)
    ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y) & np.isfinite(t) & (capacity > 0)
    ds = Dataset(x, y, scenario, t, link, topology, capacity, not has_delay)
    return ds.subset(ok)


# --------------------------------------------------------------------------- splits


def holdout_groups(ds: Dataset) -> tuple[str, np.ndarray]:
    """("family", labels) when at least MIN_FAMILIES topology families exist, else
    ("topology spec", labels): what leave-one-topology-out holds out in turn."""
    if len(set(ds.family.tolist())) >= MIN_FAMILIES:
        return "family", ds.family
    if len(set(ds.topology.tolist())) < 2:
        raise ValueError("leave-one-topology-out needs at least two topologies")
    return "topology spec", ds.topology


def inner_split(scenarios: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks (train, validation) over ``scenarios``: VAL_FRACTION of the distinct
    scenarios (at least one, seeded) go to validation."""
    ids = sorted(set(scenarios.tolist()))
    if len(ids) < 2:
        raise ValueError("a validation part needs at least two scenarios")
    rng = np.random.default_rng(seed)
    order = [ids[i] for i in rng.permutation(len(ids))]
    n_val = min(len(ids) - 1, max(1, round(VAL_FRACTION * len(ids))))
    val = np.isin(scenarios, order[:n_val])
    return ~val, val


# --------------------------------------------------------------------------- scores


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE (ms) and R² of ``pred`` against ``y``."""
    err = pred - y
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae_ms": float(np.mean(np.abs(err))),
        "rmse_ms": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
    }


def decision_pairs(ds: Dataset, min_diff_ms: float = PAIR_MIN_DIFF_MS) -> np.ndarray:
    """(k, 2) row indices: two different directed links of one scenario at one stats
    round (|t difference| < PAIR_WINDOW_S) whose labels differ by at least min_diff_ms."""
    found: list[np.ndarray] = []
    for s in np.unique(ds.scenario):
        rows = np.flatnonzero(ds.scenario == s)
        rows = rows[np.argsort(ds.t[rows], kind="stable")]
        ts = ds.t[rows]
        for a in range(len(rows)):
            end = int(np.searchsorted(ts, ts[a] + PAIR_WINDOW_S, side="left"))
            b = rows[a + 1 : end]
            i = rows[a]
            b = b[(ds.link[b] != ds.link[i]) & (np.abs(ds.y[b] - ds.y[i]) >= min_diff_ms)]
            if len(b):
                found.append(np.column_stack([np.full(len(b), i), b]))
    return np.vstack(found) if found else np.empty((0, 2), dtype=np.int64)


def decision_scores(y: np.ndarray, pred: np.ndarray, pairs: np.ndarray) -> dict[str, float]:
    """Share of ``pairs`` where ``pred`` prefers the less-delayed link, and the mean
    regret (ms); a tie is a coin flip."""
    if len(pairs) == 0:
        return {"pairs": 0, "accuracy": math.nan, "regret_ms": math.nan}
    i, j = pairs[:, 0], pairs[:, 1]
    gap = np.abs(y[i] - y[j])
    right = np.sign(pred[i] - pred[j]) == np.sign(y[i] - y[j])
    tie = pred[i] == pred[j]
    credit = np.where(tie, 0.5, right.astype(np.float64))
    return {
        "pairs": len(pairs),
        "accuracy": float(np.mean(credit)),
        "regret_ms": float(np.mean((1.0 - credit) * gap)),
    }


def onset_mask(ds: Dataset) -> np.ndarray:
    return (ds.now_ms < ONSET_NOW_MS) & (ds.y > ONSET_LABEL_MS)


def onset_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    if len(y) == 0:
        return {"rows": 0, "mae_ms": math.nan, "mean_pred_ms": math.nan, "mean_ms": math.nan}
    return {
        "rows": len(y),
        "mae_ms": float(np.mean(np.abs(pred - y))),
        "mean_pred_ms": float(np.mean(pred)),
        "mean_ms": float(np.mean(y)),
    }


# --------------------------------------------------------------------------- fitted formulas


def heuristic_factor(u: np.ndarray) -> np.ndarray:
    """1 / (1 - min(u, 0.99)): the ``utilization`` metric's weight."""
    return 1.0 / (1.0 - np.clip(u, 0.0, HEURISTIC_MAX_U))


def fit_heuristic(u: np.ndarray, y: np.ndarray) -> float:
    """The factor c (ms) minimising sum (c / (1 - min(u, 0.99)) - y)^2."""
    f = heuristic_factor(u)
    return float(np.dot(f, y) / np.dot(f, f))


def load_curve_delay(curve: LoadCurve, capacity_bps: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Vectorised :meth:`LoadCurve.delay_ms`."""
    offered = np.maximum(u, 0.0)
    uc = np.minimum(offered, curve.max_utilization)
    service_ms = curve.packet_bytes * 8 / np.maximum(capacity_bps, 1.0) * 1000.0
    ms = np.maximum(0.0, curve.base_ms + curve.gain * service_ms * uc / (1 - uc))
    over = offered > uc
    return np.asarray(np.where(over, ms * offered / np.where(over, uc, 1.0), ms))


MAX_UTILIZATION_GRID = (0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995)


def fit_load_curve(
    capacity_bps: np.ndarray,
    u: np.ndarray,
    y: np.ndarray,
    packet_bytes: float = 1000.0,
    grid: Iterable[float] = MAX_UTILIZATION_GRID,
) -> LoadCurve:
    """The M/M/1-shaped LoadCurve fitted by least squares: for each cap in ``grid``,
    base_ms and gain >= 0 in closed form; the cap with the smallest squared error wins."""
    best: tuple[float, LoadCurve] | None = None
    for cap in grid:
        probe = LoadCurve(0.0, 1.0, packet_bytes, cap)
        g = load_curve_delay(probe, capacity_bps, u)
        a = np.column_stack([np.ones_like(g), g])
        (base, gain), *_ = np.linalg.lstsq(a, y, rcond=None)
        if gain < 0:
            base, gain = float(np.mean(y)), 0.0
        sse = float(np.sum((base + gain * g - y) ** 2))
        if best is None or sse < best[0] - 1e-12 * max(1.0, best[0]):
            best = (sse, LoadCurve(float(base), float(gain), packet_bytes, cap))
    assert best is not None
    return best[1]


def load_curve_metadata(curve: LoadCurve) -> dict[str, float]:
    return {
        "base_ms": curve.base_ms,
        "gain": curve.gain,
        "packet_bytes": curve.packet_bytes,
        "max_utilization": curve.max_utilization,
    }


# --------------------------------------------------------------------------- methods


@dataclass
class Fitted:
    predict: Predictor
    info: dict[str, Any] = field(default_factory=dict)
    net: TrainableNetwork | None = None  # ours only (learning curves)


@dataclass(frozen=True)
class Method:
    """``fit(data, train_mask, val_mask, seed)``: train on the train part (closed-form
    methods may also use the validation part), choose on the validation part only."""

    name: str
    fit: Callable[[Dataset, np.ndarray, np.ndarray, int], Fitted]
    development_only: bool = False


def to_target(y: np.ndarray, x: np.ndarray, transform: str) -> np.ndarray:
    if transform == "delta":
        return y - x[:, DELAY]
    if transform == "log1p":
        return np.log1p(np.maximum(y, 0.0))
    return y


def from_target(out: np.ndarray, x: np.ndarray, transform: str) -> np.ndarray:
    """Delay (ms, >= 0) from the target scale, as CostModel.predict_latency_ms does."""
    if transform == "delta":
        out = x[:, DELAY] + out
    elif transform == "log1p":
        out = np.expm1(np.clip(out, -50, 50))
    out = np.where(np.isfinite(out), out, 0.0)
    return np.asarray(np.maximum(out, 0.0))


def fit_persistence(ds: Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Fitted:
    return Fitted(lambda x: np.array(x[:, DELAY], dtype=np.float64))


def fit_heuristic_method(ds: Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Fitted:
    rows = train | val
    c = fit_heuristic(ds.x[rows, UTIL], ds.y[rows])
    return Fitted(lambda x: c * heuristic_factor(x[:, UTIL]), {"c_ms": c})


def fit_mm1_method(ds: Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Fitted:
    rows = train | val
    curve = fit_load_curve(ds.capacity_bps[rows], ds.x[rows, UTIL], ds.y[rows])
    log_cap = FEATURE_NAMES.index("log10_capacity_bps")

    def predict(x: np.ndarray) -> np.ndarray:
        return load_curve_delay(curve, 10.0 ** x[:, log_cap], x[:, UTIL])

    return Fitted(predict, load_curve_metadata(curve))


MIN_NET_ROWS = 50


def learn_rows(ds: Dataset, mask: np.ndarray) -> np.ndarray:
    """The rows of ``mask`` a learned regressor is fitted on: those the controller
    predicts with its network (all of ``mask`` if fewer than MIN_NET_ROWS)."""
    rows = mask & ds.net_rows
    return rows if rows.sum() >= MIN_NET_ROWS else mask


def fit_linear(ds: Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Fitted:
    rows = learn_rows(ds, train | val)
    a = np.hstack([ds.x[rows], np.ones((int(rows.sum()), 1))])
    coef, *_ = np.linalg.lstsq(a, ds.y[rows], rcond=None)
    return Fitted(as_controller(lambda x: np.hstack([x, np.ones((len(x), 1))]) @ coef))


Candidate = tuple[dict[str, Any], Predictor, TrainableNetwork | None]


def selection_score(y: np.ndarray, pred: np.ndarray, now_ms: np.ndarray) -> float:
    """How a candidate is chosen on validation rows: its improvement over persistence
    on the worse of the two, min(1 - MSE / MSE_persistence, 1 - MAE / MAE_persistence).
    Higher is better; one criterion for every learned method."""
    err, base = pred - y, now_ms - y
    mse_gain = 1.0 - float(np.mean(err**2)) / max(float(np.mean(base**2)), 1e-12)
    mae_gain = 1.0 - float(np.mean(np.abs(err))) / max(float(np.mean(np.abs(base))), 1e-12)
    return min(mse_gain, mae_gain)


def _select(ds: Dataset, val: np.ndarray, candidates: Iterable[Candidate]) -> Fitted:
    """The candidate with the highest :func:`selection_score` on the validation rows."""
    best: tuple[float, Fitted] | None = None
    xv, yv = ds.x[val], ds.y[val]
    for info, predict, net in candidates:
        pred = predict(xv)
        score = selection_score(yv, pred, xv[:, DELAY])
        info = {**info, "val_score": score, **{f"val_{k}": v for k, v in scores(yv, pred).items()}}
        if best is None or score > best[0]:
            best = (score, Fitted(predict, info, net))
    assert best is not None
    return best[1]


def clip_label(y: np.ndarray, x: np.ndarray, clip_ms: float | None) -> np.ndarray:
    """The label for training: its change from the delay now winsorized to +-clip_ms (a
    robust fit: a rare jump no longer drags every idle link's prediction up)."""
    if clip_ms is None:
        return y
    now = x[:, DELAY]
    return now + np.clip(y - now, -clip_ms, clip_ms)


@dataclass(frozen=True)
class NetConfig:
    """Our network's hyper-parameters (chosen on inner validation, see train_model)."""

    hidden: tuple[int, ...] = (32, 16)
    activation: str = "tanh"
    epochs: int = 300
    learning_rate: float = 0.003
    batch_size: int = 128
    patience: int = 30
    transforms: tuple[str, ...] = TRANSFORMS
    clips_ms: tuple[float | None, ...] = CLIPS_MS
    restarts: int = 1


def train_net(
    x: np.ndarray,
    y: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    transform: str,
    seed: int,
    cfg: NetConfig,
    clip_ms: float | None = None,
) -> TrainableNetwork:
    """One run of our network on the transformed (and winsorized) target, early-stopped
    on (xv, yv) treated the same way."""
    net = TrainableNetwork(
        [len(FEATURE_NAMES), *cfg.hidden, 1],
        [cfg.activation] * len(cfg.hidden) + ["identity"],
        seed=seed,
        loss="mse",
        feature_names=list(FEATURE_NAMES),
    )
    net.fit(
        x,
        to_target(clip_label(y, x, clip_ms), x, transform)[:, None],
        epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        batch_size=cfg.batch_size,
        normalize_inputs=True,
        scale_targets=True,
        validation=(xv, to_target(clip_label(yv, xv, clip_ms), xv, transform)[:, None]),
        patience=cfg.patience,
        optimizer="adam",
    )
    return net


def runtime_model(
    net: TrainableNetwork, transform: str, low: np.ndarray, high: np.ndarray
) -> CostModel:
    """The network wrapped as the controller uses it (``CostModel``: drops and errors
    clipped to the training range [low, high], idle links at their measured delay, the
    inverse transform, >= 0), so that what is scored is what the controller predicts."""
    return CostModel(
        net=net,
        path="(in memory)",
        low=np.asarray(low, dtype=np.float64),
        high=np.asarray(high, dtype=np.float64),
        target_transform=transform,
        metrics={},
        load_curve=LoadCurve(0.0, 0.0),
    )


def net_predictor(
    net: TrainableNetwork, transform: str, low: np.ndarray, high: np.ndarray
) -> Predictor:
    return runtime_model(net, transform, low, high).predict_latency_ms


def make_ours(cfg: NetConfig) -> Callable[[Dataset, np.ndarray, np.ndarray, int], Fitted]:
    def fit(ds: Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Fitted:
        def runs() -> Iterable[Candidate]:
            # Fitted and early-stopped on the rows the controller predicts with the
            # network; the range (and the scores) over all rows.
            fit_rows, stop_rows = learn_rows(ds, train), learn_rows(ds, val)
            x, y = ds.x[fit_rows], ds.y[fit_rows]
            xv, yv = ds.x[stop_rows], ds.y[stop_rows]
            low, high = ds.x[train].min(axis=0), ds.x[train].max(axis=0)
            for tf in cfg.transforms:
                for clip in cfg.clips_ms:
                    for r in range(cfg.restarts):
                        run_seed = seed * 100 + r
                        net = train_net(x, y, xv, yv, tf, run_seed, cfg, clip)
                        info = {
                            "transform": tf,
                            "clip_ms": clip,
                            "seed": run_seed,
                            "epochs": net.metadata["training"]["epochs_run"],
                        }
                        yield info, net_predictor(net, tf, low, high), net

        return _select(ds, val, runs())

    return fit


def make_sklearn(kind: str) -> Callable[[Dataset, np.ndarray, np.ndarray, int], Fitted]:
    """scikit-learn's MLPRegressor (same hidden layers as ours, standardized inputs) or
    HistGradientBoostingRegressor; the target transform and winsorization chosen on
    validation as for ours."""

    def fit(ds: Dataset, train: np.ndarray, val: np.ndarray, seed: int) -> Fitted:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        def runs() -> Iterable[Candidate]:
            for tf, clip in ((tf, clip) for tf in TRANSFORMS for clip in CLIPS_MS):
                model: Any
                if kind == "mlp":
                    model = make_pipeline(
                        StandardScaler(),
                        MLPRegressor(
                            hidden_layer_sizes=NetConfig().hidden,
                            activation="tanh",
                            max_iter=200,
                            early_stopping=True,
                            n_iter_no_change=20,
                            random_state=seed,
                        ),
                    )
                else:
                    model = HistGradientBoostingRegressor(
                        max_iter=300, early_stopping=True, random_state=seed
                    )
                rows = learn_rows(ds, train)
                x = ds.x[rows]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(x, to_target(clip_label(ds.y[rows], x, clip), x, tf))

                def predict(x: np.ndarray, m: Any = model, tf: str = tf) -> np.ndarray:
                    return from_target(np.asarray(m.predict(x), dtype=np.float64), x, tf)

                yield {"transform": tf, "clip_ms": clip}, as_controller(predict), None

        return _select(ds, val, runs())

    return fit


PERSISTENCE = "persistence (delay now)"
HEURISTIC = "utilization heuristic c/(1-u)"
MM1 = "fitted M/M/1"
LINEAR = "linear least squares"
MLP = "scikit-learn MLPRegressor"
HGB = "scikit-learn HistGradientBoosting"
OURS = "NumPy network (ours)"


def default_methods(cfg: NetConfig | None = None, with_sklearn: bool = True) -> list[Method]:
    """Every method of the comparison, ours last (scikit-learn's if it is installed)."""
    methods = [
        Method(PERSISTENCE, fit_persistence),
        Method(HEURISTIC, fit_heuristic_method),
        Method(MM1, fit_mm1_method),
        Method(LINEAR, fit_linear),
    ]
    if with_sklearn:
        if importlib.util.find_spec("sklearn") is None:
            print("scikit-learn not installed: its rows are skipped")
        else:
            methods += [
                Method(MLP, make_sklearn("mlp"), True),
                Method(HGB, make_sklearn("hgb"), True),
            ]
    methods.append(Method(OURS, make_ours(cfg or NetConfig())))
    return methods


# --------------------------------------------------------------------------- protocol


@dataclass
class SeedResult:
    """One method, one seed: pooled held-out scores and what each fold did."""

    overall: dict[str, float]
    decision: dict[str, float]
    onset: dict[str, float]
    per_group: dict[str, dict[str, float]]
    folds: list[dict[str, Any]]
    train_s: float
    pred: np.ndarray  # held-out prediction of every row
    curves: dict[str, tuple[list[float], list[float]]]  # ours: per held-out group


@dataclass
class LotoReport:
    grouping: str
    groups: list[str]
    seeds: list[int]
    methods: list[str]
    results: dict[str, list[SeedResult]]
    pairs: int
    onset_rows: int
    y: np.ndarray
    group_of_row: np.ndarray
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def learning_curves(self) -> dict[str, tuple[list[float], list[float]]]:
        """Our network's training and validation loss per epoch, first seed, per fold."""
        runs = self.results.get(OURS)
        return runs[0].curves if runs else {}


@dataclass
class _Job:
    ds: Dataset
    methods: Sequence[Method]
    labels: np.ndarray
    groups: list[str]
    pairs: np.ndarray
    onset: np.ndarray


_JOB: _Job | None = None  # what forked workers read (closures do not pickle)


def fold_masks(
    ds: Dataset, labels: np.ndarray, group: str, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, held-out) row masks of one fold: the held-out group's rows
    are in neither of the first two."""
    held = labels == group
    tr, va = inner_split(ds.scenario[~held], seed)
    train, val = np.zeros(len(ds), bool), np.zeros(len(ds), bool)
    train[np.flatnonzero(~held)[tr]] = True
    val[np.flatnonzero(~held)[va]] = True
    return train, val, held


@dataclass
class _FoldResult:
    pred: np.ndarray  # on the held-out rows
    info: dict[str, Any]
    secs: float
    curve: tuple[list[float], list[float]] | None


def _run_fold(job: _Job, seed: int, k: int) -> dict[str, _FoldResult]:
    """Every method on fold k (held out: groups[k]) of one seed."""
    train, val, held = fold_masks(job.ds, job.labels, job.groups[k], seed * 1000 + k)
    out = {}
    for m in job.methods:
        t0 = time.perf_counter()
        fitted = m.fit(job.ds, train, val, seed)
        secs = time.perf_counter() - t0
        net, info = fitted.net, dict(fitted.info)
        curve = None
        if net is not None:
            curve = (list(net.loss_history), list(net.val_loss_history))
            # Rows the controller would not predict (priced from their measured delay).
            xt = job.ds.x[train]
            probe = runtime_model(net, "none", xt.min(axis=0), xt.max(axis=0))
            info["out_of_range"] = float(1.0 - np.mean(probe.in_range(job.ds.x[held])))
        out[m.name] = _FoldResult(fitted.predict(job.ds.x[held]), info, secs, curve)
    return out


def _worker(task: tuple[int, int]) -> tuple[int, int, dict[str, _FoldResult]]:
    from threadpoolctl import threadpool_limits

    assert _JOB is not None
    with threadpool_limits(1):
        return task[0], task[1], _run_fold(_JOB, *task)


def run_loto(
    ds: Dataset,
    methods: Sequence[Method],
    seeds: Iterable[int],
    jobs: int = 1,
    log: Callable[[str], None] = print,
) -> LotoReport:
    """Leave-one-topology-out for every method and seed (see the module docstring);
    ``jobs`` > 1 runs the (seed, fold) tasks in that many forked worker processes."""
    global _JOB
    grouping, labels = holdout_groups(ds)
    groups = sorted(set(labels.tolist()))
    seeds = list(seeds)
    job = _Job(ds, methods, labels, groups, decision_pairs(ds), onset_mask(ds))
    tasks = [(seed, k) for seed in seeds for k in range(len(groups))]
    done: dict[tuple[int, int], dict[str, _FoldResult]] = {}
    t0 = time.perf_counter()

    def note(seed: int, k: int) -> None:
        if len(done) % len(groups) == 0:
            log(f"  {len(done)}/{len(tasks)} folds done, {time.perf_counter() - t0:.0f}s")

    if jobs > 1 and len(tasks) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _JOB = job
        # One thread per worker: OpenMP (gradient boosting) would otherwise spin
        # threads of every worker against each other on a small machine.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=ctx) as pool:
                for seed, k, res in pool.map(_worker, tasks):
                    done[(seed, k)] = res
                    note(seed, k)
        finally:
            _JOB = None
    else:
        for seed, k in tasks:
            done[(seed, k)] = _run_fold(job, seed, k)
            note(seed, k)

    results: dict[str, list[SeedResult]] = {}
    for m in methods:
        results[m.name] = []
        for seed in seeds:
            pred = np.full(len(ds), np.nan)
            per_group, folds, curves, secs = {}, [], {}, 0.0
            for k, g in enumerate(groups):
                fr = done[(seed, k)][m.name]
                held = labels == g
                pred[held] = fr.pred
                per_group[g] = scores(ds.y[held], fr.pred)
                folds.append({"held_out": g, **fr.info})
                secs += fr.secs
                if fr.curve is not None:
                    curves[g] = fr.curve
            results[m.name].append(
                SeedResult(
                    scores(ds.y, pred),
                    decision_scores(ds.y, pred, job.pairs),
                    onset_scores(ds.y[job.onset], pred[job.onset]),
                    per_group,
                    folds,
                    secs,
                    pred,
                    curves,
                )
            )
    report = LotoReport(
        grouping,
        groups,
        seeds,
        [m.name for m in methods],
        results,
        len(job.pairs),
        int(job.onset.sum()),
        ds.y,
        labels,
    )
    report.summary = summarize(report)
    return report


def _med_iqr(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    if np.all(np.isnan(v)):
        return {"median": math.nan, "q25": math.nan, "q75": math.nan}
    q25, med, q75 = np.nanpercentile(v, [25, 50, 75])
    return {"median": float(med), "q25": float(q25), "q75": float(q75)}


def _choice(fold: dict[str, Any]) -> str:
    clip = fold.get("clip_ms")
    return f"{fold['transform']}, " + ("no clip" if clip is None else f"clip {clip:g} ms")


def summarize(report: LotoReport) -> dict[str, dict[str, Any]]:
    """Per method: median and IQR over seeds of every pooled score, per held-out group
    R² and MAE medians, what the folds chose, and the training time per seed."""
    out: dict[str, dict[str, Any]] = {}
    for name in report.methods:
        runs = report.results[name]
        row: dict[str, Any] = {}
        for key in ("r2", "mae_ms", "rmse_ms"):
            row[key] = _med_iqr([r.overall[key] for r in runs])
        for key in ("accuracy", "regret_ms"):
            row[f"decision_{key}"] = _med_iqr([r.decision[key] for r in runs])
        for key in ("mae_ms", "mean_pred_ms"):
            row[f"onset_{key}"] = _med_iqr([r.onset[key] for r in runs])
        row["onset_mean_ms"] = runs[0].onset["mean_ms"]
        row["per_group"] = {
            g: {
                "r2": _med_iqr([r.per_group[g]["r2"] for r in runs])["median"],
                "mae_ms": _med_iqr([r.per_group[g]["mae_ms"] for r in runs])["median"],
            }
            for g in report.groups
        }
        if any("out_of_range" in f for f in runs[0].folds):
            row["held_out_rows_out_of_range"] = {
                f["held_out"]: f["out_of_range"] for f in runs[0].folds
            }
        chosen = [_choice(f) for r in runs for f in r.folds if "transform" in f]
        if chosen:
            row["chosen"] = {c: chosen.count(c) for c in sorted(set(chosen))}
        row["train_s_per_seed"] = float(np.median([r.train_s for r in runs]))
        out[name] = row
    return out


def targets(report: LotoReport) -> dict[str, dict[str, Any]]:
    """The issue's training targets, checked on the medians (never assumed)."""
    s = report.summary
    if OURS not in s:
        return {}
    ours, pers = s[OURS], s[PERSISTENCE]
    res = {
        "ours beats persistence on R²": {
            "ours": ours["r2"]["median"],
            "persistence": pers["r2"]["median"],
            "met": ours["r2"]["median"] > pers["r2"]["median"],
        },
        "ours beats persistence on MAE": {
            "ours": ours["mae_ms"]["median"],
            "persistence": pers["mae_ms"]["median"],
            "met": ours["mae_ms"]["median"] < pers["mae_ms"]["median"],
        },
    }
    if HEURISTIC in s:
        h = s[HEURISTIC]
        res["ours beats the utilization heuristic on path-choice regret"] = {
            "ours": ours["decision_regret_ms"]["median"],
            "utilization heuristic": h["decision_regret_ms"]["median"],
            "met": ours["decision_regret_ms"]["median"] < h["decision_regret_ms"]["median"],
        }
    return res


def _fmt(d: dict[str, float], digits: int) -> str:
    if math.isnan(d["median"]):
        return "n/a"
    return f"{d['median']:.{digits}f} [{d['q25']:.{digits}f}, {d['q75']:.{digits}f}]"


def format_table(report: LotoReport) -> str:
    """Markdown: median [q25, q75] over seeds of the pooled held-out scores."""
    head = (
        "| method | R² | MAE (ms) | RMSE (ms) | pair accuracy | regret (ms) | "
        "onset MAE (ms) | onset mean predicted (ms) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for name in report.methods:
        r = report.summary[name]
        lines.append(
            f"| {name} | {_fmt(r['r2'], 3)} | {_fmt(r['mae_ms'], 3)} | {_fmt(r['rmse_ms'], 2)} "
            f"| {_fmt(r['decision_accuracy'], 3)} | {_fmt(r['decision_regret_ms'], 2)} "
            f"| {_fmt(r['onset_mae_ms'], 2)} | {_fmt(r['onset_mean_pred_ms'], 2)} |"
        )
    onset_ms = next(iter(report.summary.values()))["onset_mean_ms"] if report.summary else 0.0
    lines.append("")
    lines.append(
        f"Held out in turn ({report.grouping}): {', '.join(report.groups)}; seeds "
        f"{report.seeds}; {report.pairs} decision pairs (same scenario and round, next "
        f"delays >= {PAIR_MIN_DIFF_MS:g} ms apart); {report.onset_rows} onset rows "
        f"(delay now < {ONSET_NOW_MS:g} ms, next > {ONSET_LABEL_MS:g} ms; measured mean "
        f"{onset_ms:.2f} ms). Heuristic: c / (1 - min(u, 0.99)), c fitted by least "
        "squares on the training rows. Learned regressors scored as the controller "
        "predicts (idle links at their measured delay)."
    )
    lines.append("")
    lines.append(f"| R² per held-out {report.grouping} | " + " | ".join(report.groups) + " |")
    lines.append("|---" * (len(report.groups) + 1) + "|")
    for name in report.methods:
        pg = report.summary[name]["per_group"]
        lines.append(
            f"| {name} | " + " | ".join(f"{pg[g]['r2']:.3f}" for g in report.groups) + " |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots


def plot_all(
    report: LotoReport,
    out_dir: Path,
    final_curve: tuple[list[float], list[float]] | None = None,
) -> list[Path]:
    """learning_curve.png (ours, the chosen run of each fold of the first seed, and the
    shipped model), predicted_vs_measured.png (first seed, held-out rows),
    per_topology.png (median R² per held-out group); dpi 100."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    dpi = 100

    # Learning curves of ours: one panel per held-out group (first seed) + the final model.
    panels = [(f"held out: {g}", c) for g, c in report.learning_curves.items()]
    if final_curve is not None:
        panels.append(("shipped model (all families)", final_curve))
    if panels:
        cols = min(3, len(panels))
        rows = math.ceil(len(panels) / cols)
        fig, grid = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.6 * rows), squeeze=False)
        axes = grid.reshape(1, -1)
        for ax in axes[0][len(panels) :]:
            ax.set_visible(False)
        for ax, (title, (train, val)) in zip(axes[0], panels, strict=False):
            ax.plot(range(1, len(train) + 1), train, label="training")
            if val:
                ax.plot(range(1, len(val) + 1), val, label="validation")
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("epoch")
            ax.tick_params(labelsize=7)
        axes[0][0].set_ylabel("MSE (scaled target)")
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / "learning_curve.png"
        fig.savefig(path, dpi=dpi, pil_kwargs={"optimize": True})
        plt.close(fig)
        written.append(path)

    # Predicted vs measured on the held-out folds (first seed), ours and persistence.
    shown = [n for n in (OURS, PERSISTENCE) if n in report.results]
    if shown:
        fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 4.0), squeeze=False)
        y = np.maximum(report.y, 0.05)
        for ax, name in zip(axes[0], shown, strict=True):
            pred = np.maximum(report.results[name][0].pred, 0.05)
            for g in report.groups:
                m = report.group_of_row == g
                ax.scatter(y[m], pred[m], s=2, alpha=0.4, label=str(g), rasterized=True)
            lo, hi = 0.05, float(max(y.max(), pred.max())) * 1.2
            ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("measured next delay (ms)")
            ax.set_ylabel("predicted (ms)")
            r2 = report.results[name][0].overall["r2"]
            ax.set_title(f"{name}, held out (R² {r2:.3f})", fontsize=9)
        axes[0][0].legend(fontsize=7, markerscale=3)
        fig.tight_layout()
        path = out_dir / "predicted_vs_measured.png"
        fig.savefig(path, dpi=dpi, pil_kwargs={"optimize": True})
        plt.close(fig)
        written.append(path)

    # R² per held-out group and method (median over seeds), clipped at -1 for display.
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    width = 0.8 / max(1, len(report.methods))
    xs = np.arange(len(report.groups))
    for k, name in enumerate(report.methods):
        vals = [report.summary[name]["per_group"][g]["r2"] for g in report.groups]
        ax.bar(xs + k * width, np.maximum(vals, -1.0), width, label=name)
    ax.set_xticks(xs + width * (len(report.methods) - 1) / 2)
    ax.set_xticklabels([str(g) for g in report.groups])
    ax.set_ylim(-1.0, 1.0)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("R² on the held-out family (bars clipped at -1)")
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    path = out_dir / "per_topology.png"
    fig.savefig(path, dpi=dpi, pil_kwargs={"optimize": True})
    plt.close(fig)
    written.append(path)
    return written
