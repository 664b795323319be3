"""The Grafana dashboard in docs/monitoring names only metrics the controller exports,
with labels they carry (the integration tier runs every query on a real Prometheus)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from controller.northbound.metrics import MetricsExporter
from controller.northbound.view import ControllerView
from controller.southbound.ryu_transport import TransportCounters
from controller.southbound.sessions import SessionCounters
from controller.telemetry import RestTimings
from tests.fakes import FakeNetwork
from topologies import spec

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "monitoring" / "grafana-dashboard.json"
METRIC_NAME = re.compile(r"\bsdn_[a-z0-9_]+")
PROMQL_LABELS = {"le", "instance", "job"}


def panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return [p for p in out if p["type"] != "row"]


def dashboard_queries(dash: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(panel title, expr, legend) of every query."""
    return [(p["title"], t["expr"], t.get("legendFormat", "")) for p in panels(dash)
            for t in p["targets"]]  # fmt: skip


def exported() -> dict[str, set[str]]:
    """Every sample name a scrape of a small live fake network has, with its labels."""
    net = FakeNetwork(spec.ring(4).to_networkx())
    net.discover()
    net.announce_all()
    net.deliver("h1", "h3")
    net.core.extra_counters += [SessionCounters(), TransportCounters()]  # as app.py does
    rest = RestTimings()
    rest.observe("GET", 200, 0.001)
    text = MetricsExporter(ControllerView(net.core), rest).render().decode()
    names: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            names.setdefault(s.name, set()).update(s.labels)
    return names


def test_the_dashboard_is_valid_grafana_json() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] and dash["schemaVersion"] >= 36
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in panels(dash):
        assert p["targets"], f"panel {p['title']!r} has no query"
        assert p["description"], f"panel {p['title']!r} says nothing of what it shows"
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "instance"} <= variables


def test_every_query_names_an_exported_metric_with_its_labels() -> None:
    names = exported()
    queries = dashboard_queries(json.loads(DASHBOARD.read_text()))
    assert len(queries) >= 20
    used: set[str] = set()
    for title, expr, legend in queries:
        found = METRIC_NAME.findall(expr)
        assert found, f"{title!r}: {expr!r} names no sdn_ metric"
        for name in found:
            assert name in names, f"{title!r}: {name} is not exported (have {sorted(names)})"
            used.add(name)
        labels = set().union(*(names[n] for n in found)) | PROMQL_LABELS
        for label in re.findall(r"\{\{(\w+)\}\}", legend):
            assert label in labels, f"{title!r}: legend label {label!r} not on {found}"
        for label in re.findall(r"by \(([\w, ]+)\)", expr):
            for one in label.replace(" ", "").split(","):
                assert one in labels, f"{title!r}: grouping label {one!r} not on {found}"
    # The families the issue asks for are all on the dashboard.
    for wanted in ("sdn_packet_ins_total", "sdn_paths_installed_total", "sdn_reroutes_total",
                   "sdn_moves_total", "sdn_lldp_rejected_total", "sdn_rest_requests_total",
                   "sdn_flow_setup_seconds_bucket", "sdn_barrier_rtt_seconds_bucket",
                   "sdn_rest_request_seconds_bucket", "sdn_link_utilization",
                   "sdn_link_delay_seconds", "sdn_link_predicted_delay_seconds",
                   "sdn_link_cost", "sdn_model_live_r2"):  # fmt: skip
        assert wanted in used, f"{wanted} is on no panel"


def test_the_name_check_catches_a_misspelt_metric() -> None:
    names = exported()
    assert "sdn_packet_in_total" not in names and "sdn_packet_ins_total" in names
