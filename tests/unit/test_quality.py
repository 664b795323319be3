"""Live model quality: the NumPy windows give the figures of the plain definition."""

from __future__ import annotations

import random

import pytest

from controller.linkcost.quality import LiveQuality


def plain(samples: list[tuple[float, float, float]]) -> dict[str, float | int | None]:
    """MAE and R² as defined, in plain Python: the reference."""
    n = len(samples)
    measured = [m for _, _, m in samples]
    mean = sum(measured) / n
    ss_tot = sum((m - mean) ** 2 for m in measured)

    def r2(c: int) -> float | None:
        return (
            None if n < 2 or ss_tot <= 0 else 1 - sum((s[c] - s[2]) ** 2 for s in samples) / ss_tot
        )

    return {"samples": n, "mae_ms": sum(abs(s[0] - s[2]) for s in samples) / n, "r2": r2(0),
            "persistence_mae_ms": sum(abs(s[1] - s[2]) for s in samples) / n,
            "persistence_r2": r2(1)}  # fmt: skip


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k] is None and b[k] is None) or a[k] == pytest.approx(b[k], abs=1e-4) for k in a
    )


def test_windows_links_and_pooled_scores_match_the_definition() -> None:
    rng = random.Random(7)
    q = LiveQuality(window=10)
    history: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
    pending: dict[tuple[int, int], tuple[float, float]] = {}
    edges = [(1, 2), (2, 1), (2, 3), (3, 2)]
    for rnd in range(25):
        q.begin_round()
        for e in edges:
            if e == (2, 3) and rnd < 20:
                continue  # measured late: a short window
            m = 2.0 if e == (3, 2) else rng.uniform(0.5, 30)  # constant: R² undefined
            q.measured(e, m)
            if e in pending:
                history.setdefault(e, []).append((*pending[e], m))
        pending = {}
        for e in edges:
            pending[e] = (rng.uniform(0.5, 30), rng.uniform(0.5, 30))
            q.predicted(e, *pending[e])
    every = q.links()
    for e in edges:
        want = plain(history[e][-10:])
        assert close(q.link(e), want) and close(every[e], want), e
    assert every[(3, 2)]["r2"] is None and every[(2, 3)]["samples"] == 5
    pooled = [s for e in edges for s in history[e][-10:]]
    assert close(q.overall(), plain(pooled))
    q.keep_only([(1, 2)])
    assert set(q.links()) == {(1, 2)} and q.overall()["samples"] == 10


def test_rows_grow_and_are_reused_keeping_every_links_window() -> None:
    q = LiveQuality(window=4)
    edges = [(i, i + 1) for i in range(300)]  # past the first allocation (64 rows)
    for rnd in range(3):
        q.begin_round()
        for i, e in enumerate(edges):
            q.measured(e, float(i + rnd))
            q.predicted(e, float(i + rnd + 1), float(i + rnd))
    assert all(q.link(e)["samples"] == 2 and q.link(e)["mae_ms"] == 0.0 for e in edges)
    q.keep_only(edges[:10])
    q.begin_round()
    q.measured((999, 1000), 1.0)  # a new link takes a freed row: starts empty
    assert q.link((999, 1000))["samples"] == 0 and len(q.links()) == 10
