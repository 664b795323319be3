"""Tier 2: congestion-aware routing end to end with the shipped link-cost model.

twopath, every switch link shaped to 10 Mbit/s: h1, h2 on s1; h3, h4 on s3; a short
path s1-s2-s3 and a long path s1-s4-s5-s3. A TCP flow h1->h3 saturates the short path;
then a second flow h2->h4 starts. Under `hop` it shares the short path; under `cost`
the model prices the short path's queue (its measured delay and counters) and sends it
the long way, where it gets the whole 10 Mbit/s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from testbed import lab
from topologies import build_topo

SATURATE_S = 8  # let flow 1 fill the queue and the model see it
MEASURE_S = 8


def _second_flow(lab_factory, tmp_path: Path, metric: str) -> tuple[float, list[int], dict]:
    topo = build_topo("twopath,10")
    cfg = lab.write_controller_config(topo, tmp_path / f"{metric}.toml", metric=metric)
    ctl, net = lab_factory(topo, config_file=cfg)
    net.wait_discovered(ctl)
    h1, h2, h3, h4 = (net.host(n) for n in ("h1", "h2", "h3", "h4"))
    for server, port in ((h3, 5201), (h4, 5202)):
        server.cmd(f"iperf3 -s -1 -D -p {port} --pidfile {tmp_path}/{metric}-{port}.pid")
    lab.wait_for(lambda: "5202" in h4.cmd("ss -ltn"), 10, "iperf3 servers")
    h1.cmd(
        f"timeout 60 iperf3 -c {h3.IP()} -p 5201 -t {SATURATE_S + MEASURE_S + 4} "
        f"> {tmp_path}/{metric}-flow1.json 2>&1 &"
    )
    time.sleep(SATURATE_S)
    status = lab.get_json(f"{ctl.rest_url}/v1/model")
    report = json.loads(h2.cmd(f"timeout 40 iperf3 -c {h4.IP()} -p 5202 -t {MEASURE_S} -J"))
    mbps = report["end"]["sum_received"]["bits_per_second"] / 1e6
    routes = lab.get_json(f"{ctl.rest_url}/v1/routes")
    route = next(r for r in routes if sorted(r["hosts"]) == sorted([h2.MAC(), h4.MAC()]))
    path = [int(h["dpid"], 16) for h in route["hops"]]
    if route["hosts"][0] != h2.MAC():
        path.reverse()
    for server, port in ((h3, 5201), (h4, 5202)):
        server.cmd(f"kill $(cat {tmp_path}/{metric}-{port}.pid 2>/dev/null) 2>/dev/null")
    net.stop()  # the next run builds the same bridges
    ctl.stop()
    return mbps, path, status


def test_cost_metric_routes_the_second_flow_around_the_congestion(lab_factory, tmp_path) -> None:
    hop_mbps, hop_path, _ = _second_flow(lab_factory, tmp_path, "hop")
    cost_mbps, cost_path, status = _second_flow(lab_factory, tmp_path, "cost")
    short = {(lk["src"], lk["dst"]): lk for lk in status["links"]}
    s1s2 = short.get(("0000000000000001", "0000000000000002"), {})
    print(
        f"\nsecond flow h2->h4: hop metric {hop_mbps:.2f} Mbit/s via {hop_path}; "
        f"cost metric {cost_mbps:.2f} Mbit/s via {cost_path}; ratio "
        f"{cost_mbps / hop_mbps:.2f} (target >= 1.6)"
    )
    print(
        f"model on the saturated s1->s2 before flow 2: predicted "
        f"{s1s2.get('predicted_latency_ms')} ms (cost {s1s2.get('predicted_cost')}), "
        f"measured {s1s2.get('measured_latency_ms')} ms"
    )
    assert status["loaded"], status.get("error")
    assert hop_path == [1, 2, 3]
    assert cost_path == [1, 4, 5, 3]
    assert cost_mbps >= 1.6 * hop_mbps


def test_measured_latency_rises_with_the_queue_on_a_shaped_link(lab_factory, tmp_path) -> None:
    topo = build_topo("twopath,10")
    cfg = lab.write_controller_config(topo, tmp_path / "lat.toml", metric="hop")
    ctl, net = lab_factory(topo, config_file=cfg)
    net.wait_discovered(ctl)

    def s1_s2() -> dict:
        links = lab.get_json(f"{ctl.rest_url}/v1/links")
        found = [
            lk
            for lk in links
            if lk["src"]["dpid"].endswith("1") and lk["dst"]["dpid"].endswith("2")
        ]
        assert found, f"link s1->s2 gone from the graph: {links}"
        return found[0]

    lab.wait_for(lambda: s1_s2()["latency_ms"] is not None, 15, "a first latency estimate")
    time.sleep(2)
    idle = [s1_s2()["latency_ms"] for _ in range(3) if time.sleep(0.5) is None]
    h1, h3 = net.host("h1"), net.host("h3")
    h3.cmd(f"iperf3 -s -1 -D -p 5201 --pidfile {tmp_path}/lat.pid")
    lab.wait_for(lambda: "5201" in h3.cmd("ss -ltn"), 10, "iperf3 server")
    # UDP at 12 Mbit/s into a 10 Mbit/s link: the htb queue fills.
    h1.cmd(f"timeout 30 iperf3 -c {h3.IP()} -p 5201 -u -b 12M -t 10 > /dev/null 2>&1 &")
    time.sleep(6)
    loaded = [s1_s2() for _ in range(3) if time.sleep(0.5) is None]
    h3.cmd(f"kill $(cat {tmp_path}/lat.pid 2>/dev/null) 2>/dev/null")
    busy = [lk["latency_ms"] for lk in loaded]
    # The busiest of the three readings: htb paces at 10 Mbit/s on the wire, and one
    # 1 s counter interval can straddle a burst boundary (0.897 seen once in CI).
    util = max(lk["utilization"] for lk in loaded)
    print(
        f"\ns1->s2 one-way delay: idle {[round(x, 2) for x in idle]} ms; with 12 Mbit/s "
        f"UDP on the 10 Mbit/s link {[round(x, 1) for x in busy]} ms "
        f"(utilization {util:.2f})"
    )
    idle_ms = sorted(idle)[len(idle) // 2]
    busy_ms = sorted(busy)[len(busy) // 2]
    assert busy_ms > 10 * max(idle_ms, 0.5), (idle, busy)
    assert util > 0.85
