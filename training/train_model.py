"""Train the link-cost model on data/linkcost.csv and compare it with two baselines.

    .venv/bin/python -m training.train_model [--data data/linkcost.csv]
        [--out controller/models/linkcost.npz] [--subsample N] [--seed 0] [--no-sklearn]

The split is by scenario (train / validation / test = 70 / 15 / 15 % of the scenarios,
seeded), never by row: rows of one scenario are strongly correlated in time, so a row
split would leak. Prints MAE, RMSE and R^2 (of the one-way delay in ms) on the test
scenarios for: the from-scratch NumPy network (trained by training/nn_training.py; the
controller loads it with controller/linkcost/nn.py), a linear least-squares baseline,
and scikit-learn's MLPRegressor (a development-only dependency) with the same hidden
layers, on the same split and with the same selection (every target transform and
--restarts seeds, the best on the validation scenarios kept). Writes the model with its
feature ranges, metrics and this command into --out, and the metrics next to it as JSON.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from controller.linkcost.features import FEATURE_NAMES
from training.nn_training import TrainableNetwork

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = (32, 16)
TARGET = "latency_ms"


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray
    scenarios: list[int]


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, label (ms) and scenario id per row."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [
            c for c in (*FEATURE_NAMES, TARGET, "scenario") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise SystemExit(f"{path}: missing columns {missing}")
        rows = list(reader)
    x = np.array([[float(r[n]) for n in FEATURE_NAMES] for r in rows], dtype=np.float64)
    y = np.array([float(r[TARGET]) for r in rows], dtype=np.float64)
    s = np.array([int(r["scenario"]) for r in rows])
    ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
    return x[ok], y[ok], s[ok]


def split_by_scenario(
    x: np.ndarray, y: np.ndarray, s: np.ndarray, seed: int
) -> tuple[Split, Split, Split]:
    ids = sorted(set(s.tolist()))
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    n_test = max(1, round(0.15 * len(ids)))
    n_val = max(1, round(0.15 * len(ids)))
    test, val, train = ids[:n_test], ids[n_test : n_test + n_val], ids[n_test + n_val :]

    def part(chosen: list[int]) -> Split:
        mask = np.isin(s, chosen)
        return Split(x[mask], y[mask], sorted(chosen))

    return part(train), part(val), part(test)


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    err = pred - y
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae_ms": float(np.mean(np.abs(err))),
        "rmse_ms": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
    }


def to_target(y: np.ndarray, transform: str) -> np.ndarray:
    return np.log1p(np.maximum(y, 0.0)) if transform == "log1p" else y


def from_target(t: np.ndarray, transform: str) -> np.ndarray:
    out = np.expm1(np.clip(t, -50, 50)) if transform == "log1p" else t
    return np.maximum(out, 0.0)


RESTARTS = 4  # random restarts (seeds); the one with the best validation R² is kept


def train_numpy(
    train: Split, val: Split, transform: str, seed: int
) -> tuple[TrainableNetwork, float]:
    net = TrainableNetwork(
        [len(FEATURE_NAMES), *HIDDEN, 1],
        ["tanh", "tanh", "identity"],
        seed=seed,
        loss="mse",
        feature_names=list(FEATURE_NAMES),
    )
    t0 = time.perf_counter()
    net.fit(
        train.x,
        to_target(train.y, transform)[:, None],
        epochs=400,
        learning_rate=0.003,
        batch_size=200,
        normalize_inputs=True,
        scale_targets=True,
        validation=(val.x, to_target(val.y, transform)[:, None]),
        patience=40,
        optimizer="adam",
    )
    return net, time.perf_counter() - t0


def train_linear(train: Split) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    a = np.hstack([train.x, np.ones((len(train.x), 1))])
    coef, *_ = np.linalg.lstsq(a, train.y, rcond=None)
    return coef, time.perf_counter() - t0


def predict_linear(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))]) @ coef


def train_sklearn(train: Split, transform: str, seed: int) -> tuple[Any, float] | None:
    try:
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return None
    model = make_pipeline(
        StandardScaler(),
        MLPRegressor(
            hidden_layer_sizes=HIDDEN,
            activation="tanh",
            max_iter=400,
            early_stopping=True,
            n_iter_no_change=40,
            random_state=seed,
        ),
    )
    t0 = time.perf_counter()
    model.fit(train.x, to_target(train.y, transform))
    return model, time.perf_counter() - t0


def table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| model | MAE (ms) | RMSE (ms) | R² | training time (s) |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['mae_ms']:.3f} | {r['rmse_ms']:.3f} | {r['r2']:.4f} | "
            f"{r['train_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="training.train_model", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=ROOT / "data" / "linkcost.csv")
    p.add_argument("--out", type=Path, default=ROOT / "controller" / "models" / "linkcost.npz")
    p.add_argument("--subsample", type=int, default=0, help="train on at most N rows (CI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--transform", choices=("auto", "none", "log1p"), default="auto")
    p.add_argument("--no-sklearn", action="store_true")
    p.add_argument("--restarts", type=int, default=RESTARTS, help="seeds tried per transform")
    args = p.parse_args(argv)

    x, y, s = load(args.data)
    train, val, test = split_by_scenario(x, y, s, args.seed)
    if args.subsample and len(train.x) > args.subsample:
        keep = np.random.default_rng(args.seed).choice(len(train.x), args.subsample, replace=False)
        train = Split(train.x[keep], train.y[keep], train.scenarios)
    print(
        f"rows: train {len(train.x)} ({len(train.scenarios)} scenarios), validation "
        f"{len(val.x)} ({len(val.scenarios)}), test {len(test.x)} ({len(test.scenarios)}); "
        f"test scenarios {test.scenarios}"
    )

    # The target transform and the restart are chosen on the validation scenarios,
    # never on test; the reported training time is all the runs together.
    transforms = ["none", "log1p"] if args.transform == "auto" else [args.transform]
    best: tuple[float, str, TrainableNetwork] | None = None
    np_secs = 0.0
    for tf in transforms:
        for restart in range(args.restarts):
            net, secs = train_numpy(train, val, tf, args.seed + restart)
            np_secs += secs
            r2 = scores(val.y, from_target(net.predict(val.x)[:, 0], tf))["r2"]
            print(
                f"numpy network, target {tf}, seed {args.seed + restart}: "
                f"validation R² {r2:.4f} ({secs:.1f}s)"
            )
            if best is None or r2 > best[0]:
                best = (r2, tf, net)
    assert best is not None
    _, transform, net = best

    results: dict[str, dict[str, float]] = {}
    results["NumPy network (ours)"] = {
        **scores(test.y, from_target(net.predict(test.x)[:, 0], transform)),
        "train_s": np_secs,
    }
    coef, lin_secs = train_linear(train)
    results["linear least squares"] = {
        **scores(test.y, predict_linear(coef, test.x)),
        "train_s": lin_secs,
    }
    if not args.no_sklearn:
        # The same selection for the baseline: every transform and restart, best on
        # validation, total time.
        sk_best: tuple[float, str, Any] | None = None
        sk_secs = 0.0
        for tf in transforms:
            for restart in range(args.restarts):
                sk = train_sklearn(train, tf, args.seed + restart)
                if sk is None:
                    break
                model, secs = sk
                sk_secs += secs
                r2 = scores(val.y, from_target(model.predict(val.x), tf))["r2"]
                if sk_best is None or r2 > sk_best[0]:
                    sk_best = (r2, tf, model)
        if sk_best is None:
            print("scikit-learn not installed: MLPRegressor row skipped")
        else:
            _, sk_tf, model = sk_best
            results["scikit-learn MLPRegressor"] = {
                **scores(test.y, from_target(model.predict(test.x), sk_tf)),
                "train_s": sk_secs,
            }
    print(table(results))

    data_hash = hashlib.sha256(args.data.read_bytes()).hexdigest()[:16]
    command = "python -m training.train_model " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    net.metadata.update(
        {
            "feature_min": train.x.min(axis=0).tolist(),
            "feature_max": train.x.max(axis=0).tolist(),
            "target": "one-way link delay in the next stats interval (ms)",
            "target_transform": transform,
            "metrics": results,
            "split": {
                "train": train.scenarios,
                "validation": val.scenarios,
                "test": test.scenarios,
            },
            "dataset": {
                "path": str(args.data.relative_to(ROOT))
                if args.data.is_relative_to(ROOT)
                else str(args.data),
                "sha256_16": data_hash,
                "rows": len(x),
            },
            "command": command.strip(),
            "hidden_layers": list(HIDDEN),
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    net.save(args.out)
    args.out.with_suffix(".metrics.json").write_text(
        json.dumps(
            {
                "metrics": results,
                "target_transform": transform,
                "split": net.metadata["split"],
                "dataset": net.metadata["dataset"],
                "command": net.metadata["command"],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"model -> {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
