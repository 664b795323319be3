"""The Prometheus exposition (GET /metrics) on a fake network: names, values, labels."""

from __future__ import annotations

import dataclasses
import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controller.config import METRIC_CHOICES
from controller.northbound.metrics import COUNTER_HELP, MetricsExporter, link_families, link_text
from controller.northbound.view import ControllerView
from controller.southbound.ryu_transport import TransportCounters
from controller.southbound.sessions import SessionCounters
from controller.telemetry import Histogram, RestTimings
from tests.fakes import FakeNetwork
from topologies import spec


@pytest.fixture
def net() -> FakeNetwork:
    fn = FakeNetwork(spec.ring(6).to_networkx())  # ring of 6, host h<i> on switch i
    fn.discover()
    fn.announce_all()
    fn.deliver("h1", "h4")
    return fn


def scrape(net: FakeNetwork, rest: RestTimings | None = None) -> dict[str, list]:
    text = MetricsExporter(ControllerView(net.core), rest or RestTimings()).render().decode()
    families: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam.samples
    return families


def value(samples: list, name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v
             for k, v in labels.items())]  # fmt: skip
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def test_counts_and_counters_match_the_health_view(net: FakeNetwork) -> None:
    m = scrape(net)
    assert value(m["sdn_switches"], "sdn_switches") == 6
    assert value(m["sdn_links"], "sdn_links") == 12
    assert value(m["sdn_hosts"], "sdn_hosts") == 6
    assert value(m["sdn_routes"], "sdn_routes") == 1
    counters = ControllerView(net.core).counters()
    for name, n in counters.items():
        assert value(m[f"sdn_{name}"], f"sdn_{name}_total") == n
    assert counters["packet_ins"] > 0 and counters["paths_installed"] == 1


def test_every_counter_has_its_help_text(net: FakeNetwork) -> None:
    """A new counter gets a sentence (the metric's HELP); a removed one loses it."""
    net.core.extra_counters += [SessionCounters(), TransportCounters()]  # as app.py does
    assert set(ControllerView(net.core).counters()) == set(COUNTER_HELP)


def test_the_active_metric_is_one_hot(net: FakeNetwork) -> None:
    m = scrape(net)["sdn_routing_metric"]
    assert {s.labels["metric"] for s in m} == set(METRIC_CHOICES)
    assert [s.labels["metric"] for s in m if s.value == 1] == ["hop"]
    net.core.set_metric("latency")
    m = scrape(net)["sdn_routing_metric"]
    assert [s.labels["metric"] for s in m if s.value == 1] == ["latency"]


def test_per_link_gauges_one_series_per_direction(net: FakeNetwork) -> None:
    m = scrape(net)
    view = ControllerView(net.core)
    for family in ("utilization", "tx_bits_per_second", "delay_seconds", "cost"):
        samples = m[f"sdn_link_{family}"]
        pairs = {(s.labels["src"], s.labels["dst"]) for s in samples}
        assert len(samples) == len(pairs) == 12, family
    link = view.link(1, 2)
    assert link is not None
    labels = {"src": f"{1:016x}", "dst": f"{2:016x}"}
    assert value(m["sdn_link_cost"], "sdn_link_cost", **labels) == link.weights["cost"]
    assert value(m["sdn_link_capacity_bits_per_second"], "sdn_link_capacity_bits_per_second",
                 **labels) == link.state.capacity_bps  # fmt: skip
    delay = value(m["sdn_link_delay_seconds"], "sdn_link_delay_seconds", **labels)
    if link.state.latency_ms is None:
        assert math.isnan(delay)
    else:
        assert delay == pytest.approx(link.state.latency_ms / 1000)
    net.core.set_cost_override(1, 2, 42.0)
    m = scrape(net)
    assert value(m["sdn_link_cost"], "sdn_link_cost", **labels) == 42.0


def test_a_cut_link_leaves_the_per_link_series(net: FakeNetwork) -> None:
    net.link_down(1, 2)
    m = scrape(net)
    pairs = {(s.labels["src"], s.labels["dst"]) for s in m["sdn_link_utilization"]}
    assert (f"{1:016x}", f"{2:016x}") not in pairs and len(pairs) == 10
    assert value(m["sdn_links"], "sdn_links") == 10


def test_flow_setup_and_barrier_histograms_count_the_installation(net: FakeNetwork) -> None:
    m = scrape(net)
    setups = m["sdn_flow_setup_seconds"]
    assert value(setups, "sdn_flow_setup_seconds_count") == 1
    assert value(setups, "sdn_flow_setup_seconds_bucket", le="+Inf") == 1
    rtts = m["sdn_barrier_rtt_seconds"]
    stages = value(rtts, "sdn_barrier_rtt_seconds_count")
    assert stages >= 2  # h1 -> h4 on a ring of 6: at least two switches, one stage each
    net.deliver("h2", "h5")
    m = scrape(net)
    assert value(m["sdn_flow_setup_seconds"], "sdn_flow_setup_seconds_count") == 2


def test_model_gauges_before_any_live_sample(net: FakeNetwork) -> None:
    m = scrape(net)
    loaded = ControllerView(net.core).model_summary()["loaded"]
    assert value(m["sdn_model_loaded"], "sdn_model_loaded") == float(bool(loaded))
    assert value(m["sdn_model_live_samples"], "sdn_model_live_samples") == 0
    r2 = m["sdn_model_live_r2"]
    assert {s.labels["predictor"] for s in r2} == {"model", "persistence"}
    assert all(math.isnan(s.value) for s in r2)  # no samples yet: NaN, not a made-up 0


def test_rest_requests_by_method_and_status() -> None:
    rest = RestTimings()
    rest.observe("GET", 200, 0.0004)
    rest.observe("get", 200, 0.003)
    rest.observe("PUT", 401, 0.001)
    rest.observe("BREW", 418, 0.001)  # an unknown method is one label value, not a new one
    m = scrape(FakeNetwork(spec.linear(2).to_networkx()), rest)
    req = m["sdn_rest_requests"]
    assert value(req, "sdn_rest_requests_total", method="GET", code="200") == 2
    assert value(req, "sdn_rest_requests_total", method="PUT", code="401") == 1
    assert value(req, "sdn_rest_requests_total", method="OTHER", code="418") == 1
    lat = m["sdn_rest_request_seconds"]
    assert value(lat, "sdn_rest_request_seconds_count") == 4
    assert value(lat, "sdn_rest_request_seconds_bucket", le="0.0005") == 1
    assert value(lat, "sdn_rest_request_seconds_sum") == pytest.approx(0.0054)


def test_histogram_buckets_are_cumulative_and_bounds_checked() -> None:
    h = Histogram((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 3.0, -1.0):
        h.observe(v)
    assert h.cumulative() == [(0.1, 3), (1.0, 4), (float("inf"), 5)]
    assert h.count == 5 and h.total == pytest.approx(3.65)
    with pytest.raises(ValueError, match="increase"):
        Histogram((1.0, 0.5))


def test_the_fast_link_encoder_writes_what_prometheus_client_would(net: FakeNetwork) -> None:
    net.core.set_cost_override(1, 2, 1e7)  # a large value: Go's exponent form
    view = ControllerView(net.core)
    gauges = view.link_gauges()
    gauges[0] = dataclasses.replace(gauges[0], latency_ms=0.125, utilization=1 / 3)
    registry = CollectorRegistry(auto_describe=False)

    class Links:
        def collect(self):  # type: ignore[no-untyped-def]
            return link_families(gauges)

    registry.register(Links())  # type: ignore[arg-type]
    assert link_text(gauges) == generate_latest(registry).decode()
    assert "1e+07" in link_text(gauges) and "NaN" in link_text(gauges)


def test_the_exposition_is_the_classic_text_format() -> None:
    assert MetricsExporter.content_type == "text/plain; version=0.0.4; charset=utf-8"
