"""Train the link-cost model on data/linkcost.csv, after comparing it honestly.

    .venv/bin/python -m training.train_model [--data data/linkcost.csv]
        [--out controller/models/linkcost.npz] [--seeds 10] [--jobs 2] [--restarts 2]
        [--plots docs/model] [--no-plots] [--no-sklearn] [--epochs N] [--seed 0]

1. **Evaluation** (``training/evaluate.py``): leave one topology family out, for
   ``--seeds`` seeds, every method side by side on the same splits: persistence, the
   utilization heuristic, a fitted M/M/1, linear least squares, scikit-learn's
   MLPRegressor and HistGradientBoostingRegressor (development-only) and our NumPy
   network. Prints the median [interquartile range] over the seeds of R², MAE, RMSE,
   the path-choice accuracy and regret, and the congestion-onset rows; checks the
   issue's targets on those medians (and prints them, met or not); draws the plots
   into ``--plots``. ``--jobs`` worker processes share the (seed, fold) runs.
2. **The shipped model**: our network trained on every family, with ``VAL_FRACTION``
   of the scenarios (seeded) held back for early stopping and for choosing the target
   transform (``none`` or ``delta``), the winsorization of the label change and the
   restart, by the same validation criterion as in the evaluation. Like there, it is
   fitted on the rows the controller predicts with the network (idle links get their
   measured delay). Written to ``--out`` with its feature ranges (over every row of
   its training scenarios), the M/M/1 load curve fitted on all rows, the evaluation
   table as ``metrics``, the targets as measured, and this command; the same figures
   (without the ranges) go to ``--out`` with the suffix ``.metrics.json``.

Our network's hyper-parameters (``evaluate.NetConfig``: two tanh layers of 32 and 16,
Adam at 0.003, batches of 128, early stopping with patience 30) and the candidate grid
were settled by looking at validation scores inside the training folds only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from training import evaluate as ev
from training.nn_training import TrainableNetwork

ROOT = Path(__file__).resolve().parent.parent
TARGET = ev.LABEL
HIDDEN = ev.NetConfig().hidden
SEEDS = 10  # of the leave-one-topology-out evaluation (the issue asks for at least 5)
RESTARTS = 2  # seeds per candidate for the shipped model


# ----------------------------------------------------------------- simple API (scripts/bench.py)


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray
    scenarios: list[int]


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (FEATURE_NAMES order, delay columns derived if absent), label (ms) and
    scenario id per row."""
    ds = ev.load_dataset(path)
    return ds.x, ds.y, ds.scenario


def split_by_scenario(
    x: np.ndarray, y: np.ndarray, s: np.ndarray, seed: int
) -> tuple[Split, Split, Split]:
    """Train / validation / test = 70 / 15 / 15 % of the scenarios (seeded), never by row."""
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


scores = ev.scores


def to_target(y: np.ndarray, transform: str, x: np.ndarray | None = None) -> np.ndarray:
    if transform == "delta" and x is None:
        raise ValueError("the delta transform needs the features")
    return ev.to_target(y, x if x is not None else np.zeros((len(y), 1)), transform)


def from_target(t: np.ndarray, transform: str, x: np.ndarray | None = None) -> np.ndarray:
    if transform == "delta" and x is None:
        raise ValueError("the delta transform needs the features")
    return ev.from_target(t, x if x is not None else np.zeros((len(t), 1)), transform)


def train_numpy(
    train: Split, val: Split, transform: str, seed: int
) -> tuple[TrainableNetwork, float]:
    """One run of our network (evaluate.NetConfig), early-stopped on ``val``."""
    t0 = time.perf_counter()
    cfg = ev.NetConfig()
    net = ev.train_net(train.x, train.y, val.x, val.y, transform, seed, cfg)
    return net, time.perf_counter() - t0


def train_sklearn(train: Split, transform: str, seed: int) -> tuple[Any, float] | None:
    """scikit-learn's MLPRegressor with our hidden layers, or None if not installed."""
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
    model.fit(train.x, to_target(train.y, transform, train.x))
    return model, time.perf_counter() - t0


# ----------------------------------------------------------------- the shipped model


@dataclass
class Final:
    net: TrainableNetwork
    info: dict[str, Any]
    train_scenarios: list[int]
    val_scenarios: list[int]
    train_rows: np.ndarray  # every row of the training scenarios (the feature ranges)
    fit_rows: np.ndarray  # those the network is fitted on (the controller predicts them)
    candidates: list[dict[str, Any]]
    secs: float


def train_final(ds: ev.Dataset, cfg: ev.NetConfig, seed: int, log: Any = print) -> Final:
    """Our network on every family; candidates (transform x clip x restart) chosen by
    ``evaluate.selection_score`` on the held-back validation scenarios."""
    train, val = ev.inner_split(ds.scenario, seed)
    t0 = time.perf_counter()
    candidates: list[dict[str, Any]] = []
    best: tuple[float, TrainableNetwork, dict[str, Any]] | None = None
    # As in the evaluation: fitted and early-stopped on the rows the controller predicts
    # with the network, chosen on every validation row as the controller predicts it.
    fit_rows, stop_rows = ev.learn_rows(ds, train), ev.learn_rows(ds, val)
    x, y = ds.x[fit_rows], ds.y[fit_rows]
    xs, ys = ds.x[stop_rows], ds.y[stop_rows]
    xv, yv = ds.x[val], ds.y[val]
    low, high = ds.x[train].min(axis=0), ds.x[train].max(axis=0)
    for tf in cfg.transforms:
        for clip in cfg.clips_ms:
            for r in range(cfg.restarts):
                run_seed = seed * 100 + r
                net = ev.train_net(x, y, xs, ys, tf, run_seed, cfg, clip)
                pred = ev.net_predictor(net, tf, low, high)(xv)
                score = ev.selection_score(yv, pred, xv[:, ev.DELAY])
                info = {
                    "transform": tf,
                    "clip_ms": clip,
                    "seed": run_seed,
                    "epochs_run": net.metadata["training"]["epochs_run"],
                    "val_score": score,
                    **{f"val_{k}": v for k, v in ev.scores(yv, pred).items()},
                }
                candidates.append(info)
                log(
                    f"  {tf:5s} clip {clip!s:4s} seed {run_seed}: validation R² "
                    f"{info['val_r2']:.4f}, MAE {info['val_mae_ms']:.3f} ms, score {score:+.4f}"
                )
                if best is None or score > best[0]:
                    best = (score, net, info)
    assert best is not None
    return Final(
        best[1],
        best[2],
        sorted(set(ds.scenario[train].tolist())),
        sorted(set(ds.scenario[val].tolist())),
        train,
        fit_rows,
        candidates,
        time.perf_counter() - t0,
    )


# ----------------------------------------------------------------- reporting


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes null, NumPy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_table(report: ev.LotoReport) -> dict[str, Any]:
    """Per method: the summary (median, q25, q75 over seeds) and its training time."""
    return _clean(report.summary)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="training.train_model", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=ROOT / "data" / "linkcost.csv")
    p.add_argument("--out", type=Path, default=ROOT / "controller" / "models" / "linkcost.npz")
    p.add_argument("--seeds", type=int, default=SEEDS, help="evaluation seeds (>= 5 for make)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes for the evaluation")
    p.add_argument("--restarts", type=int, default=RESTARTS, help="shipped model: seeds each")
    p.add_argument("--seed", type=int, default=0, help="shipped model's validation split")
    p.add_argument("--epochs", type=int, default=ev.NetConfig().epochs, help="at most")
    p.add_argument("--plots", type=Path, default=ROOT / "docs" / "model")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-sklearn", action="store_true")
    args = p.parse_args(argv)
    t_start = time.perf_counter()

    ds = ev.load_dataset(args.data)
    derived = " (delay columns derived from latency_now_ms)" if ds.derived_delay_columns else ""
    print(
        f"dataset {args.data}: {len(ds)} rows, {len(set(ds.scenario.tolist()))} scenarios, "
        f"families {sorted(set(ds.family.tolist()))}{derived}"
    )
    cfg = replace(ev.NetConfig(), epochs=args.epochs)
    methods = ev.default_methods(cfg, with_sklearn=not args.no_sklearn)
    grouping, _ = ev.holdout_groups(ds)
    if grouping != "family":
        print("fewer than 3 topology families: holding out one topology spec at a time")
    print(
        f"leave-one-topology-out ({grouping}), {args.seeds} seeds, {len(methods)} methods, "
        f"{args.jobs} worker(s):"
    )
    t0 = time.perf_counter()
    report = ev.run_loto(ds, methods, range(args.seeds), jobs=args.jobs)
    loto_s = time.perf_counter() - t0
    print(f"evaluation: {loto_s:.0f}s\n")
    print(ev.format_table(report))
    targets = ev.targets(report)
    print("\ntargets (medians over seeds, held-out families):")
    for name, t in targets.items():
        figures = ", ".join(f"{k} {v:.4g}" for k, v in t.items() if k != "met")
        print(f"  {'MET' if t['met'] else 'NOT MET'}: {name} ({figures})")
    for name, row in report.summary.items():
        if "chosen" in row:
            print(f"  {name}: chosen per fold {row['chosen']}")
    oor = report.summary.get(ev.OURS, {}).get("held_out_rows_out_of_range")
    if oor:
        shares = ", ".join(f"{g} {v:.0%}" for g, v in oor.items())
        print(
            f"  held-out rows outside our network's training range (first seed; the "
            f"controller prices them from the measured delay instead): {shares}"
        )

    print("\nshipped model: every family, validation part for early stopping and choice")
    final = train_final(ds, replace(cfg, restarts=args.restarts), args.seed)
    net, info = final.net, final.info
    print(
        f"  chosen: {info['transform']}, clip {info['clip_ms']}, seed {info['seed']} "
        f"({final.secs:.0f}s for {len(final.candidates)} runs)"
    )
    curve = ev.fit_load_curve(ds.capacity_bps, ds.x[:, ev.UTIL], ds.y)
    val = np.isin(ds.scenario, final.val_scenarios)
    persistence_val = ev.scores(ds.y[val], ds.now_ms[val])

    data_hash = hashlib.sha256(args.data.read_bytes()).hexdigest()[:16]
    command = "python -m training.train_model " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    x_train = ds.x[final.train_rows]
    plots: list[str] = []
    if not args.no_plots:
        try:
            written = ev.plot_all(report, args.plots, (net.loss_history, net.val_loss_history))
        except ImportError:
            print("matplotlib not installed: no plots")
        else:
            plots = [
                str(w.relative_to(ROOT)) if w.is_relative_to(ROOT) else str(w) for w in written
            ]
    meta: dict[str, Any] = {
        "feature_min": x_train.min(axis=0).tolist(),
        "feature_max": x_train.max(axis=0).tolist(),
        "target": "one-way link delay in the next stats interval (ms)",
        "target_transform": info["transform"],
        "target_clip_ms": info["clip_ms"],
        "load_curve": ev.load_curve_metadata(curve),
        "metrics": metrics_table(report),
        "targets": _clean(targets),
        "evaluation": {
            "protocol": f"leave one topology {grouping} out",
            "held_out": report.groups,
            "seeds": report.seeds,
            "decision_pairs": report.pairs,
            "onset_rows": report.onset_rows,
            "validation_fraction": ev.VAL_FRACTION,
            "heuristic": "c / (1 - min(u, 0.99)), c fitted by least squares on training rows",
            "seconds": round(loto_s, 1),
        },
        "final": _clean(
            {
                "split": {"train": final.train_scenarios, "validation": final.val_scenarios},
                "rows": {
                    "train": int(final.train_rows.sum()),
                    "fitted (the controller predicts them with the network)": int(
                        final.fit_rows.sum()
                    ),
                    "validation": int(val.sum()),
                },
                "chosen": info,
                "validation": {
                    "ours": {k: info[f"val_{k}"] for k in ("mae_ms", "rmse_ms", "r2")},
                    "persistence": persistence_val,
                },
                "candidates": final.candidates,
                "train_s": final.secs,
            }
        ),
        "hyperparameters": _clean(asdict(replace(cfg, restarts=args.restarts))),
        "hidden_layers": list(cfg.hidden),
        "dataset": {
            "path": str(args.data.relative_to(ROOT))
            if args.data.is_relative_to(ROOT)
            else str(args.data),
            "sha256_16": data_hash,
            "rows": len(ds),
            "derived_delay_columns": ds.derived_delay_columns,
        },
        "plots": plots,
        "command": command.strip(),
    }
    net.metadata.update(meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    net.save(args.out)
    summary = {k: meta[k] for k in meta if k not in ("feature_min", "feature_max")}
    args.out.with_suffix(".metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"model -> {args.out} ({args.out.stat().st_size} bytes)")
    if plots:
        print(f"plots -> {', '.join(plots)}")
    print(f"total {time.perf_counter() - t_start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
