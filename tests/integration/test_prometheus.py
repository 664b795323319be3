"""Tier 2: a real Prometheus (Debian's package) scrapes a live controller's /metrics, and
every query of the Grafana dashboard runs on it."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from pathlib import Path

from testbed import lab
from testbed.prometheus import prometheus
from topologies import build_topo

DASHBOARD = lab.ROOT / "docs" / "monitoring" / "grafana-dashboard.json"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_prometheus_scrapes_the_live_controller(lab_factory, tmp_path: Path) -> None:
    topo = build_topo("ring,4")
    ctl, net = lab_factory(topo)
    net.wait_discovered(ctl)
    _, lost = net.pingall()
    assert lost == 0
    health = lab.get_json(f"{ctl.rest_url}/v1/health")

    # The web view's address answers, and /metrics speaks Prometheus's text format.
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(f"{ctl.rest_url}/", timeout=5)
        raise AssertionError("/ did not redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 302 and exc.headers["Location"].endswith("/ui/")
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"{ctl.rest_url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
        ctype = resp.headers["Content-Type"]
    scrape_ms = (time.perf_counter() - t0) * 1000
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype
    assert f"sdn_switches {float(health['switches'])}" in text

    target = f"127.0.0.1:{ctl.rest_port}"
    with prometheus(tmp_path / "prom", [target]) as prom:
        lab.wait_for(lambda: prom.value('up{job="sdn"}') == 1.0, 20, "a successful scrape")
        # rate() needs two samples in its window: wait for three scrapes.
        lab.wait_for(
            lambda: (prom.value('count_over_time(up{job="sdn"}[1m])') or 0) >= 3, 20, "3 scrapes"
        )
        switches = prom.value("sdn_switches")
        links = prom.value("count(sdn_link_utilization)")
        setups = prom.value("sum(sdn_paths_installed_total)")
        packet_ins = prom.value("sdn_packet_ins_total")
        lab.http_json("PUT", f"{ctl.rest_url}/v1/metric", {"metric": "latency"})
        lab.wait_for(
            lambda: prom.value('sdn_routing_metric{metric="latency"}') == 1.0,
            10,
            "the metric change in Prometheus",
        )
        p99 = prom.value("histogram_quantile(0.99, sum by (le) (sdn_flow_setup_seconds_bucket))")
        rest_ok = prom.value('sum(sdn_rest_requests_total{code="200"})')
        dashboard = json.loads(DASHBOARD.read_text())
        queries = [
            (p["title"], t["expr"])
            for p in dashboard["panels"]
            if p["type"] != "row"
            for t in p["targets"]
        ]
        empty = []
        for title, expr in queries:
            result = prom.query(expr.replace("$instance", ".*"))  # raises on a query error
            if not result:
                empty.append(title)
    print(
        f"\nPrometheus on {target}: sdn_switches {switches}, link series {links}, flow setups "
        f"{setups}, packet-ins {packet_ins}, flow-setup "
        f"p99 {p99 if p99 is None else round(p99 * 1000, 2)} ms, REST 200s {rest_ok}; "
        f"one /metrics scrape {scrape_ms:.1f} ms ({len(text)} bytes); "
        f"{len(queries)} dashboard queries ran, empty now: {empty}"
    )
    assert switches == health["switches"] == 4
    assert links == health["links"] == 8
    assert setups is not None and setups >= 6  # pingall: every pair of the 4 hosts
    assert packet_ins is not None and packet_ins > 0
    assert p99 is not None and math.isfinite(p99) and 0 < p99 < 2.0
    assert rest_ok is not None and rest_ok >= 2
    assert empty == [], f"dashboard queries with no series on a live controller: {empty}"
