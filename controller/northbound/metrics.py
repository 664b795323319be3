"""Prometheus exposition of the controller (``GET /metrics``), read through the view.

A custom collector builds every family at scrape time from the read-only
:class:`~controller.northbound.view.ControllerView`: nothing is kept twice, and a scrape
shows what the REST API would. Names follow Prometheus's conventions: an ``sdn_`` prefix,
base units (seconds, bits per second, ratios), ``_total`` on counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from controller.config import METRIC_CHOICES
from controller.northbound.view import ControllerView, LinkGauges
from controller.telemetry import Histogram, RestTimings

PREFIX = "sdn_"
COUNTER_HELP: dict[str, str] = {
    "packet_ins": "Packet-ins received from switches",
    "malformed": "Packet-ins refused as malformed (unparsable, multicast source)",
    "bad_inner_headers": "Packet-ins with a malformed header past Ethernet",
    "unclassified_port_drops": "Frames from ports not yet classified (waiting for LLDP)",
    "transit_misses": "Pair packets that missed a flow inside the fabric",
    "rate_limited": "Packet-ins dropped unread: their port was over packet_in_rate",
    "fabric_multicast_drops": "Broadcasts arriving on fabric ports, dropped",
    "switch_ups": "Switch handshakes completed",
    "lldp_in": "LLDP probes received",
    "lldp_rejected": "LLDP frames rejected: unsigned, forged, too old or impossible ends",
    "lldp_replayed": "LLDP probes seen twice (relayed by a host), rejected",
    "lldp_reflected": "LLDP probes received on the very port that sent them",
    "lldp_at_host_ports": "LLDP probes from or to a port with an active host, ignored",
    "floods": "Broadcasts flooded to edge ports",
    "flood_duplicates_dropped": "Copies of an already flooded broadcast, dropped",
    "arp_proxied": "ARP requests answered by the controller",
    "hosts_aged_out": "Hosts forgotten after their idle time",
    "hosts_refused": "New MACs refused (max_hosts or max_macs_per_port)",
    "moves_refused": "Host moves refused: the MAC is still active at its old, up port",
    "ip_claims_refused": "IP address claims refused (the address belongs to another host)",
    "installs_started": "Pair installations started (new pairs, re-installs, moves)",
    "moves": "Installed pairs moved to a cheaper path by re-optimization",
    "paths_installed": "Pair installations completed (flow setups)",
    "reroutes": "Pairs re-installed because a link on their path went away",
    "installs_failed": "Pair installations that failed",
    "paths_adopted": "Pairs found installed on a switch at connection and adopted",
    "found_flows_deleted": "Flows found on a switch at connection that fit no pair, deleted",
    "pairs_refused": "New host pairs not installed: the pair table held max_pairs",
    "miss_meters_on": "Switches whose table-miss entries go through per-port meters",
    "miss_meters_unsupported": "Switches without pktps drop meters",
    "miss_meters_failed": "Switches whose meters were refused",
    "duplicate_dpid_refused": "Connections claiming a dpid whose holder answered, refused",
    "stale_session_replaced": "dpid contests won by the new connection (holder silent or gone)",
    "messages_dropped_congested": "Messages not sent: the switch's send queue was full",
    "messages_lost_closing": "Messages not sent: the connection was closing",
    "switches_disconnected_stuck": "Switches disconnected because they stopped reading",
}


def _histogram(name: str, doc: str, h: Histogram) -> HistogramMetricFamily:
    buckets = [("+Inf" if b == float("inf") else repr(b), n) for b, n in h.cumulative()]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=h.total)


def _ms_to_s(value: float | None) -> float:
    return float("nan") if value is None else value / 1000.0


class ControllerCollector:
    """Every family, built from the view at each scrape."""

    def __init__(self, view: ControllerView, rest: RestTimings) -> None:
        self.view = view
        self.rest = rest

    def describe(self) -> list[Metric]:
        return []  # built at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        view = self.view
        for name, value in view.counts().items():
            doc = "Directed links" if name == "links" else f"Current {name}"
            yield GaugeMetricFamily(f"{PREFIX}{name}", doc, value=value)
        active = GaugeMetricFamily(
            f"{PREFIX}routing_metric",
            "1 for the routing metric in effect (configured 'auto' resolves to one), else 0",
            labels=["metric"],
        )
        for metric in METRIC_CHOICES:
            active.add_metric([metric], 1.0 if metric == view.active_metric() else 0.0)
        yield active
        for name, value in view.counters().items():
            yield CounterMetricFamily(
                f"{PREFIX}{name}", COUNTER_HELP.get(name, name.replace("_", " ")), value=value
            )
        yield from self._latencies()
        yield from self._model()

    def _latencies(self) -> Iterator[Metric]:
        timings = self.view.timings()
        yield _histogram(
            f"{PREFIX}flow_setup_seconds",
            "Pair installations, from the first packet to the last barrier reply",
            timings["flow_setup"],
        )
        yield _histogram(
            f"{PREFIX}barrier_rtt_seconds",
            "Round trip of an installation stage: its messages and barrier out, the reply in",
            timings["barrier_rtt"],
        )
        requests = CounterMetricFamily(
            f"{PREFIX}rest_requests",
            "REST requests by method and status",
            labels=["method", "code"],
        )
        for (method, status), n in sorted(self.rest.requests.items()):
            requests.add_metric([method, str(status)], n)
        yield requests
        yield _histogram(
            f"{PREFIX}rest_request_seconds", "REST request handling time", self.rest.latency
        )

    def _model(self) -> Iterator[Metric]:
        s: dict[str, Any] = self.view.model_summary()
        q: dict[str, Any] = s["live_quality"]
        yield GaugeMetricFamily(
            f"{PREFIX}model_loaded", "1 when a link-cost model is loaded", value=float(s["loaded"])
        )
        quality = GaugeMetricFamily(
            f"{PREFIX}model_live_r2",
            "R² of next-interval delay on live links over the rolling window, by predictor",
            labels=["predictor"],
        )
        mae = GaugeMetricFamily(
            f"{PREFIX}model_live_mae_seconds",
            "Mean absolute error of next-interval delay on live links, by predictor",
            labels=["predictor"],
        )
        for predictor, r2_key, mae_key in (
            ("model", "r2", "mae_ms"),
            ("persistence", "persistence_r2", "persistence_mae_ms"),
        ):
            r2 = q.get(r2_key)
            quality.add_metric([predictor], float("nan") if r2 is None else float(r2))
            mae.add_metric([predictor], _ms_to_s(q.get(mae_key)))
        yield quality
        yield mae
        yield GaugeMetricFamily(
            f"{PREFIX}model_live_samples", "Samples in the live-quality window",
            value=float(q.get("samples") or 0),
        )  # fmt: skip
        for key, doc in (
            ("coverage", "Share of link rounds the model predicted (the rest fell back)"),
            ("fallback_share", "Share of links on the fallback cost in the latest round"),
        ):
            value = s.get(key)
            yield GaugeMetricFamily(
                f"{PREFIX}model_{key}", doc, value=float("nan") if value is None else value
            )


# Per link direction (labels src, dst: 16-hex-digit dpids): name, help, value.
LINK_FAMILIES: tuple[tuple[str, str, Callable[[LinkGauges], float]], ...] = (
    ("link_utilization", "Link direction's tx rate / capacity", lambda g: g.utilization),
    ("link_tx_bits_per_second", "Link direction's tx rate", lambda g: g.tx_bps),
    ("link_capacity_bits_per_second", "Link direction's capacity",
     lambda g: float(g.capacity_bps)),
    ("link_delay_seconds",
     "Link direction's measured one-way delay (NaN before the first measurement)",
     lambda g: _ms_to_s(g.latency_ms)),
    ("link_predicted_delay_seconds",
     "The model's next-interval delay for the link direction (NaN without one)",
     lambda g: _ms_to_s(g.predicted_latency_ms)),
    ("link_cost",
     "Link direction's weight under the 'cost' metric (override, prediction or fallback)",
     lambda g: g.cost),
)  # fmt: skip


def link_families(gauges: list[LinkGauges]) -> list[GaugeMetricFamily]:
    """The per-link families as prometheus_client objects (the reference form)."""
    out = []
    for name, doc, read in LINK_FAMILIES:
        family = GaugeMetricFamily(f"{PREFIX}{name}", doc, labels=["dst", "src"])
        for g in gauges:
            family.add_metric([f"{g.dst:016x}", f"{g.src:016x}"], read(g))
        out.append(family)
    return out


def link_text(gauges: list[LinkGauges]) -> str:
    """The per-link families in the text format, written directly: the same bytes as
    prometheus_client's encoder gives for :func:`link_families` (a unit test compares
    them), at a fraction of its cost, which is per sample and dominates a scrape of a
    large network (6 families x 1,000 links: 45 ms -> a few ms). Safe without escaping:
    every name is a constant and every label value 16 hex digits."""
    lines: list[str] = []
    labels = [f'{{dst="{g.dst:016x}",src="{g.src:016x}"}} ' for g in gauges]
    for name, doc, read in LINK_FAMILIES:
        full = f"{PREFIX}{name}"
        lines.append(f"# HELP {full} {doc}\n# TYPE {full} gauge\n")
        lines.extend(
            f"{full}{lab}{floatToGoString(read(g))}\n"
            for lab, g in zip(labels, gauges, strict=True)
        )
    return "".join(lines)


class MetricsExporter:
    """A registry holding the controller's collector; ``render()`` is one scrape."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"
    """The classic text format (what ``generate_latest`` writes with its default
    escaping; every Prometheus since 2.0 reads it)."""

    def __init__(self, view: ControllerView, rest: RestTimings) -> None:
        self.view = view
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ControllerCollector(view, rest))

    def render(self) -> bytes:
        """Counters, histograms and model gauges through prometheus_client's encoder,
        then the per-link families (see :func:`link_text`)."""
        return generate_latest(self.registry) + link_text(self.view.link_gauges()).encode()
