"""One cost scale (issue 11, point 5) and live quality (point 6).

Every link's cost is 1 + a delay / ``cost_ms_per_hop``: predicted where the model can
judge the link, else from its measured delay (never below an idle predicted link's).
Checked with a small synthetic model and with the shipped one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controller.config import Config
from controller.linkcost.model import CostModel
from controller.linkcost.quality import LiveQuality, scores
from controller.linkcost.stats import PortCounters
from tests.fakes import FakeNetwork
from tests.unit.test_linkcost import _tiny_model
from topologies import spec

SHIPPED = Config().model_file()


@pytest.fixture(params=["synthetic", "shipped"])
def model_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "shipped":
        assert SHIPPED is not None and SHIPPED.exists()
        return SHIPPED
    return _tiny_model(tmp_path / "m.npz")


def capacities(path: Path) -> tuple[int, int]:
    """Two capacities inside the model's training range (slower, faster)."""
    from controller.linkcost.features import FEATURE_NAMES

    m = CostModel.load(path)
    i = FEATURE_NAMES.index("log10_capacity_bps")
    lo, hi = m.low[i], m.high[i]
    return int(10 ** (lo + 0.25 * (hi - lo))), int(10 ** (lo + 0.75 * (hi - lo)))


def ring(path: Path, capacity: int) -> FakeNetwork:
    cfg = Config(
        model_path=str(path),
        link_capacity_bps={
            f"{a}-{b}": capacity for a in range(1, 5) for b in range(1, 5) if a != b
        },
    )
    net = FakeNetwork(spec.ring(4).to_networkx(), config=cfg)
    net.discover()
    return net


def rounds(
    net: FakeNetwork,
    n: int,
    load: dict[tuple[int, int], float] | None = None,
    delays: dict[tuple[int, int], float] | None = None,
    drops: dict[tuple[int, int], float] | None = None,
    start: float = 1.0,
) -> None:
    """``n`` stats rounds, one per second: per link (u, v), a tx load (share of its
    capacity), a measured delay (ms; 0.5 by default) and drops per second at u."""
    core = net.core
    for k in range(n):
        t = start + k
        for u, v in core.graph.graph.edges:
            core.graph.update_link(u, v, latency_ms=(delays or {}).get((u, v), 0.5))
        for dpid in core.graph.switches():
            counters = []
            for port in core.graph.ports(dpid):
                tx = rx = dropped = 0
                for peer in core.graph.graph.successors(dpid):
                    out, back = core.graph.edge(dpid, peer), core.graph.edge(peer, dpid)
                    if out.src_port == port:
                        tx = int((load or {}).get((dpid, peer), 0.0) * out.capacity_bps / 8 * t)
                        dropped = int((drops or {}).get((dpid, peer), 0.0) * t)
                    if back is not None and back.dst_port == port:
                        rx = int((load or {}).get((peer, dpid), 0.0) * back.capacity_bps / 8 * t)
                counters.append(
                    PortCounters(port, tx, rx, tx // 1000, rx // 1000, tx_dropped=dropped)
                )
            core.on_port_stats(dpid, counters, t)
        core.linkcost.update_costs(t + 0.5)


def cost(net: FakeNetwork, u: int, v: int) -> float:
    return float(net.core.graph.graph.edges[u, v]["cost"])


def test_a_congested_link_with_drops_costs_more_than_an_idle_one(model_path: Path) -> None:
    slow, _ = capacities(model_path)
    net = ring(model_path, slow)
    rounds(net, 6, load={(1, 2): 1.0}, delays={(1, 2): 25.0}, drops={(1, 2): 300.0})
    st = net.core.graph.edge(1, 2)
    assert st.predicted_cost is not None  # drops never put a link out of range
    assert cost(net, 1, 2) > cost(net, 1, 4) + 5  # well above an idle link
    assert net.core.router.shortest_path(1, 2, "cost").dpids == (1, 4, 3, 2)


def test_a_faster_idle_link_never_costs_more_than_a_slower_idle_one(model_path: Path) -> None:
    slow, fast = capacities(model_path)
    net = ring(model_path, slow)
    net.core.graph.edge(1, 2).capacity_bps = fast
    rounds(net, 6)
    assert net.core.graph.edge(1, 2).predicted_cost is not None
    assert net.core.graph.edge(1, 4).predicted_cost is not None
    assert cost(net, 1, 2) <= cost(net, 1, 4)
    # and idle links cost about 1 + their idle delay / cost_ms_per_hop
    assert cost(net, 1, 4) == pytest.approx(1.5, abs=0.05)


def test_an_out_of_range_link_never_costs_less_than_an_in_range_idle_one(
    model_path: Path,
) -> None:
    slow, _ = capacities(model_path)
    net = ring(model_path, slow)
    net.core.graph.edge(1, 2).capacity_bps = 10**11  # 100 Gbit/s: never trained on
    rounds(net, 6, delays={(1, 2): 0.05})  # and it even measures faster
    st = net.core.graph.edge(1, 2)
    assert st.predicted_cost is None and st.fallback_cost is not None
    idle_predicted = max(cost(net, u, v) for u, v in net.core.graph.graph.edges if (u, v) != (1, 2))
    assert cost(net, 1, 2) >= idle_predicted
    # A link out of range that measures a queue is priced by that queue, same scale.
    rounds(net, 2, delays={(1, 2): 40.0}, start=7.0)
    assert cost(net, 1, 2) == pytest.approx(41.0)
    status = net.core.linkcost.status(10.0)
    assert status["fallback_links"] == 1 and status["fallback_share"] == pytest.approx(1 / 8)


def test_live_quality_scores_each_prediction_against_the_delay_then_measured(
    model_path: Path,
) -> None:
    slow, _ = capacities(model_path)
    net = ring(model_path, slow)
    rounds(net, 8)
    live = net.core.linkcost.status(20.0)
    overall = live["live_quality"]
    # 8 links, predicted from round 2 on (two counter samples), scored a round later.
    assert overall["samples"] >= 8 * 5
    assert overall["mae_ms"] == pytest.approx(0.0, abs=0.1)  # idle: predicted = measured
    per_link = {(x["src"], x["dst"]): x["quality"] for x in live["links"]}
    assert all(q["samples"] >= 5 for q in per_link.values())


def test_live_quality_windows_are_bounded_and_follow_the_links() -> None:
    q = LiveQuality(window=3)
    for k in range(10):
        q.begin_round()
        q.measured((1, 2), float(k))
        q.predicted((1, 2), float(k) + 1.0, float(k))  # always right: next = k + 1
        q.predicted((2, 1), 5.0, 5.0)
    assert q.link((1, 2)) == {
        "samples": 3, "mae_ms": 0.0, "r2": 1.0, "persistence_mae_ms": 1.0,
        "persistence_r2": -0.5,
    }  # fmt: skip
    assert q.link((2, 1))["samples"] == 0  # never measured: nothing scored
    q.keep_only([(2, 1)])
    assert q.overall()["samples"] == 0
    assert scores([])["mae_ms"] is None
    assert scores([(1.0, 1.0, 2.0)])["r2"] is None  # one sample: no R²


def test_what_if_prices_load_on_the_same_scale_from_the_load_curve(model_path: Path) -> None:
    slow, _ = capacities(model_path)
    net = ring(model_path, slow)
    rounds(net, 4)
    lc = net.core.linkcost
    idle = lc.what_if("cost", 1, 2, 0.0)
    half = lc.what_if("cost", 1, 2, 0.5 * slow)
    full = lc.what_if("cost", 1, 2, 1.2 * slow)
    assert 1.0 <= idle < half < full and np.isfinite(full)
    curve = lc.model.load_curve
    assert full == pytest.approx(1.0 + curve.delay_ms(slow, 1.2))
