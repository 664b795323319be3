"""Issue 4 plumbing: latency estimates, link features, the cost model and its use."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from controller.config import Config
from controller.linkcost.features import FEATURE_NAMES, delay_features, link_features
from controller.linkcost.latency import LatencyEstimator, echo_payload, echo_sent_at
from controller.linkcost.model import CostModel, ModelError, cost_from_latency
from controller.linkcost.stats import PortCounters, TrafficStats
from controller.network.model import LinkKey
from tests.fakes import FakeNetwork
from topologies import spec
from training.nn_training import TrainableNetwork

CAP = 10_000_000


# ------------------------------------------------------------------ latency
def test_echo_payload_round_trip_and_foreign_data() -> None:
    assert echo_sent_at(echo_payload(12.5)) == 12.5
    assert echo_sent_at(b"") is None and echo_sent_at(b"x" * 16) is None


def test_link_delay_is_travel_minus_half_rtts_clamped_and_smoothed() -> None:
    est = LatencyEstimator(alpha=0.5)
    key = LinkKey(1, 2, 2, 2)
    assert est.on_probe(key, 0.0, 0.010) is None  # no RTTs yet
    est.on_echo_reply(1, 0.0, 0.004)  # rtt 4 ms
    est.on_echo_reply(2, 0.0, 0.002)  # rtt 2 ms
    first = est.on_probe(key, 1.0, 1.013)  # 13 - 2 - 1 = 10 ms
    assert first == pytest.approx(10.0)
    second = est.on_probe(key, 2.0, 2.0)  # negative -> clamped to 0, smoothed
    assert second == pytest.approx(5.0)
    est.forget_switch(2)
    assert key not in est.link_ms and 2 not in est.rtt_s


# ------------------------------------------------------------------ features
def _traffic(rates_mbps: list[float], capacity: int = CAP) -> TrafficStats:
    ts = TrafficStats()
    tx = 0
    for i, mbps in enumerate([0.0, *rates_mbps]):
        tx += int(mbps * 1e6 / 8)
        pkts = tx // 1000
        ts.update(1, [PortCounters(2, tx, 0, pkts, 0)], float(i))
        ts.update(2, [PortCounters(2, 0, tx, 0, pkts)], float(i))
    return ts


def test_features_need_two_samples_then_describe_the_load() -> None:
    ts = TrafficStats()
    ts.update(1, [PortCounters(2, 0, 0, 0, 0)], 0.0)
    assert link_features(ts.get(1, 2), None, CAP, delays=[(0.0, 1.0)]) is None
    ts = _traffic([2, 4, 6, 8, 10])
    assert link_features(ts.get(1, 2), ts.get(2, 2), CAP) is None  # no delay measured yet
    delays = [(1.0, 1.0), (2.0, 2.0), (3.0, 4.0), (4.0, 6.0), (5.0, 8.0), (6.0, 10.0)]
    values = link_features(ts.get(1, 2), ts.get(2, 2), CAP, delays=delays)
    f = dict(zip(FEATURE_NAMES, values, strict=True))
    assert f["utilization"] == pytest.approx(1.0, rel=1e-3)
    assert f["utilization_max"] == pytest.approx(1.0, rel=1e-3)
    assert f["utilization_trend"] == pytest.approx(0.2, rel=1e-2)  # +2 Mbit/s per s on 10
    assert f["rx_utilization"] == pytest.approx(1.0, rel=1e-3)
    assert f["mean_packet_bytes"] == pytest.approx(1000, rel=1e-2)
    assert f["log10_capacity_bps"] == pytest.approx(7.0)
    assert (f["delay_ms"], f["delay_prev_ms"], f["delay_max_ms"]) == (10.0, 8.0, 10.0)
    assert f["delay_trend"] == pytest.approx(2.0)  # the last 5: +2 ms per s
    assert all(math.isfinite(v) for v in f.values())
    assert delay_features([(0.0, 3.0)]) == [3.0, 3.0, 3.0, 0.0]


# ------------------------------------------------------------------ the model file
def _tiny_model(path: Path, transform: str = "none") -> Path:
    """A model that learned latency ~ delay now + 50 ms * utilization^4 on synthetic rows
    (links of 5 to 30 Mbit/s, delays of 0.2 to 60 ms)."""
    rng = np.random.default_rng(0)
    ranges = {
        "delay_ms": (0.2, 60),
        "delay_prev_ms": (0.2, 60),
        "delay_max_ms": (0.2, 60),
        "delay_trend": (-5, 5),
        "utilization_trend": (-0.5, 0.5),
        "tx_mbps": (0, 12),
        "tx_kpps": (0, 1.5),
        "mean_packet_bytes": (0, 1500),
        "drops_ps": (0, 0),
        "errors_ps": (0, 0),
        "log10_capacity_bps": (6.7, 7.5),
        "saturated_s": (0, 10),
        "src_overload": (0, 0.5),
        "src_overload_max": (0, 0.5),
    }
    x = np.column_stack([rng.uniform(*ranges.get(n, (0, 1.1)), size=600) for n in FEATURE_NAMES])
    y = x[:, FEATURE_NAMES.index("delay_ms")] + 50 * np.minimum(x[:, 0], 1.0) ** 4
    net = TrainableNetwork(
        [len(FEATURE_NAMES), 8, 1],
        ["tanh", "identity"],
        seed=1,
        loss="mse",
        feature_names=list(FEATURE_NAMES),
    )
    net.fit(x, y[:, None], epochs=150, learning_rate=0.05, batch_size=32, scale_targets=True)
    net.metadata.update(
        feature_min=x.min(axis=0).tolist(),
        feature_max=x.max(axis=0).tolist(),
        target_transform=transform,
        metrics={"r2": 0.9},
        load_curve={"base_ms": 0.5, "gain": 2.0},
    )
    net.save(path)
    return path


def test_cost_model_load_range_and_predict(tmp_path: Path) -> None:
    model = CostModel.load(_tiny_model(tmp_path / "m.npz"))
    x = np.full((4, len(FEATURE_NAMES)), 0.5)
    x[:, FEATURE_NAMES.index("log10_capacity_bps")] = 7.0
    x[:, FEATURE_NAMES.index("drops_ps")] = x[:, FEATURE_NAMES.index("errors_ps")] = 0.0
    x[1, 0] = 1.0
    x[2, FEATURE_NAMES.index("log10_capacity_bps")] = 10.0  # a 10 Gbit/s link: never seen
    x[3, FEATURE_NAMES.index("drops_ps")] = 500.0  # drops never seen: clipped, not refused
    assert model.in_range(x).tolist() == [True, True, False, True]
    ms = model.predict_latency_ms(x[:2])
    assert np.all(ms >= 0) and ms[1] > ms[0]  # busier link, higher delay
    assert model.load_curve.delay_ms(CAP, 0.0) == pytest.approx(0.5)
    assert model.load_curve.delay_ms(CAP, 0.5) < model.load_curve.delay_ms(CAP, 0.9)
    at_cap = model.load_curve.delay_ms(CAP, 0.98)
    assert model.load_curve.delay_ms(CAP, 1.96) == pytest.approx(2 * at_cap)  # shared: grows


def test_bad_model_files_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        CostModel.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError):
        CostModel.load(tmp_path / "junk.npz")
    net = TrainableNetwork([3, 2, 1], ["tanh", "identity"], feature_names=["a", "b", "c"])
    net.save(tmp_path / "other.npz")
    with pytest.raises(ModelError):
        CostModel.load(tmp_path / "other.npz")


def test_cost_from_latency() -> None:
    assert cost_from_latency(0.0, 1.0) == 1.0
    assert cost_from_latency(100.0, 2.0) == 51.0
    assert cost_from_latency(float("nan"), 1.0) == 1.0
    assert cost_from_latency(-3.0, 1.0) == 1.0


# ------------------------------------------------------------------ in the controller
def _ring_with_model(tmp_path: Path, model: Path | None = None, **cfg: object) -> FakeNetwork:
    config = Config(
        model_path=str(model or _tiny_model(tmp_path / "m.npz")),
        link_capacity_bps={f"{a}-{b}": CAP for a in range(1, 5) for b in range(1, 5) if a != b},
        **cfg,
    )  # type: ignore[arg-type]
    net = FakeNetwork(spec.ring(4).to_networkx(), config=config)
    net.discover()
    return net


def _stats_round(
    net: FakeNetwork, t: float, busy_mbps: float, delays: dict[tuple[int, int], float] | None = None
) -> None:
    """Counters for every port; link s1->s2 (s1's port toward s2) carries busy_mbps; every
    link's measured delay is 0.5 ms unless ``delays`` says otherwise."""
    core = net.core
    for u, v in core.graph.graph.edges:
        core.graph.update_link(u, v, latency_ms=(delays or {}).get((u, v), 0.5))
    busy_port = net.link_port(1, 2)
    for dpid in core.graph.switches():
        counters = []
        for port in core.graph.ports(dpid):
            tx = int(busy_mbps * 1e6 / 8 * t) if (dpid, port) == (1, busy_port) else 0
            counters.append(PortCounters(port, tx, 0, tx // 1000, 0))
        core.on_port_stats(dpid, counters, t)


def test_predictions_drive_the_cost_metric_and_auto_switches_to_it(tmp_path: Path) -> None:
    net = _ring_with_model(tmp_path)
    core = net.core
    assert core.linkcost.model is not None and core.effective_metric() == "hop"
    for t in range(1, 5):
        _stats_round(net, float(t), busy_mbps=9.5, delays={(1, 2): 20.0})
    assert core.linkcost.update_costs(5.0) == 8  # every directed link of the ring
    assert core.effective_metric() == "cost"
    busy = core.graph.edge(1, 2)
    idle = core.graph.edge(1, 4)
    assert busy is not None and idle is not None
    assert busy.predicted_cost > idle.predicted_cost >= 1.0
    assert core.graph.graph.edges[1, 2]["cost"] == pytest.approx(busy.predicted_cost)
    # The busy link is avoided: h1 -> h2 goes round the other way under `cost`.
    path = core.router.shortest_path(1, 2, "cost")
    assert path.dpids == (1, 4, 3, 2)
    status = core.linkcost.status(6.0)
    assert status["loaded"] and status["predicted_links"] == 8
    assert status["last_prediction_age_s"] == pytest.approx(1.0)


def test_out_of_range_links_fall_back_as_configured(tmp_path: Path) -> None:
    net = _ring_with_model(tmp_path, model_fallback="utilization")
    core = net.core
    core.graph.edge(1, 2).capacity_bps = 10**10  # a link unlike anything trained on
    for t in range(1, 4):
        _stats_round(net, float(t), busy_mbps=9.5)
    core.linkcost.update_costs(4.0)
    st = core.graph.edge(1, 2)
    assert st.predicted_cost is None
    assert core.graph.graph.edges[1, 2]["cost"] == core.graph.graph.edges[1, 2]["utilization"]


def test_weights_are_never_nan_infinite_or_negative(tmp_path: Path, monkeypatch) -> None:
    net = _ring_with_model(tmp_path)
    core = net.core
    for t in range(1, 4):
        _stats_round(net, float(t), busy_mbps=5)
    bad = np.array([np.nan, np.inf, -5.0, 1e308, 0.0, 2.0, -np.inf, 3.0])
    monkeypatch.setattr(core.linkcost.model.net, "predict", lambda x: bad[: len(x), None])
    core.linkcost.update_costs(4.0)
    for _, _, data in core.graph.graph.edges(data=True):
        for metric in ("hop", "latency", "utilization", "cost"):
            w = data[metric]
            assert math.isfinite(w) and w > 0, (metric, w)


def test_missing_model_runs_on_hop_and_cost_is_the_measured_delay(tmp_path: Path) -> None:
    net = FakeNetwork(
        spec.ring(3).to_networkx(), config=Config(model_path=str(tmp_path / "missing.npz"))
    )
    net.discover()
    assert net.core.linkcost.model is None and "not found" in net.core.linkcost.model_error
    net.core.graph.update_link(1, 2, latency_ms=7.0)
    assert net.core.linkcost.update_costs(1.0) == 0
    assert net.core.effective_metric() == "hop"
    assert net.core.linkcost.status()["loaded"] is False
    assert net.core.graph.graph.edges[1, 2]["cost"] == pytest.approx(8.0)  # 1 + 7 ms / 1 ms
    assert net.core.graph.graph.edges[2, 1]["cost"] == pytest.approx(2.0)  # unmeasured: 1 ms


def test_lldp_and_echo_give_links_a_measured_latency() -> None:
    net = FakeNetwork(spec.linear(2).to_networkx())
    net.discover()
    core = net.core
    net.now += 0.5  # a later probe than discovery's (each is accepted once)
    for dpid in (1, 2):
        core.on_echo_reply(dpid, echo_payload(net.now), net.now + 0.002)
    probes = core.discovery.probes_for(1, net.now)
    probe = next(m for m in probes if m.out_ports == (net.link_port(1, 2),))
    p2 = net.link_port(2, 1)
    core.on_packet_in(2, p2, probe.data, net.now + 0.007)  # 7 ms travel - 1 - 1 = 5 ms
    st = core.graph.edge(1, 2)
    assert st.latency_ms == pytest.approx(5.0)
    assert core.graph.graph.edges[1, 2]["latency"] == pytest.approx(5.0 + 1e-3)


def test_a_link_that_carries_traffic_survives_lost_probes() -> None:
    """Sustained overload drops LLDP in the full queue; traffic across the cable keeps it."""
    net = FakeNetwork(spec.linear(2).to_networkx())
    net.discover()
    core = net.core
    p12, p21 = net.link_port(1, 2), net.link_port(2, 1)
    start = net.now
    for i in range(1, 9):  # 8 s with no LLDP at all, but bytes leave s1 and reach s2
        t = start + i
        core.on_port_stats(1, [PortCounters(p12, 10_000 * i, 0, 10 * i, 0)], t)
        core.on_port_stats(2, [PortCounters(p21, 0, 10_000 * i, 0, 10 * i)], t)
        core.tick(t)
    assert core.graph.edge(1, 2) is not None  # kept alive by its traffic
    assert core.graph.edge(2, 1) is None  # the silent direction expired
