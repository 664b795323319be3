"""Tier 2: the REST API and pathctl against a live controller on Mininet + OVS."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

from testbed import lab
from tests.integration.ovs_flows import dump_flows, switch_graph, trace
from topologies import build_topo

PATHCTL = str(lab.ROOT / "scripts" / "pathctl")


def _put(url: str, body: object) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_paths_over_http_match_the_installed_flows(lab_factory) -> None:
    ctl, net = lab_factory(build_topo("mesh,6"))
    net.wait_discovered(ctl)
    _, lost = net.pingall()
    assert lost == 0
    _, neighbour = switch_graph(net)
    dpid_of = {sw.name: int(sw.dpid, 16) for sw in net.net.switches}
    checked = 0
    for src, dst in [("h1", "h4"), ("h2", "h5"), ("h6", "h3"), ("h1", "h2")]:
        a, b = net.host(src), net.host(dst)
        reply = lab.get_json(f"{ctl.rest_url}/v1/paths/{a.IP()}/{b.IP()}")
        api_path = [int(h["dpid"], 16) for h in reply["paths"][0]["hops"]]
        installed = [dpid_of[s] for s in trace(net, a, b, neighbour)]
        print(
            f"\n{src}->{dst}: REST {api_path}, installed {installed}, "
            f"cost {reply['paths'][0]['total_cost']}"
        )
        assert api_path == installed
        hops = reply["paths"][0]["hops"]
        assert (
            hops[0]["in_port"] == a.defaultIntf().link.intf2.node.ports[a.defaultIntf().link.intf2]
        )
        checked += 1
    assert checked == 4
    # /v1/flows for one switch lists exactly the path flows OVS holds for us.
    flows = lab.get_json(f"{ctl.rest_url}/v1/flows?dpid=0000000000000001")
    advertised = {
        (
            str(f["match"]["in_port"]),
            f["match"]["eth_src"],
            f["match"]["eth_dst"],
            f["actions"][0].split(":")[1],
        )
        for f in flows
        if f["purpose"] == "path"
    }
    on_switch = {(f["in_port"], f["dl_src"], f["dl_dst"], f["out"]) for f in dump_flows("s1")}
    print(f"s1: {len(advertised)} path flows advertised, {len(on_switch)} on the switch")
    assert advertised == on_switch


def test_metric_and_cost_override_steer_new_flows(lab_factory) -> None:
    ctl, net = lab_factory(build_topo("ring,6"))
    net.wait_discovered(ctl)
    url = ctl.rest_url
    # With the `cost` metric and an expensive s1->s2 / s2->s1, h1->h3 goes the long way.
    assert _put(f"{url}/v1/metric", {"metric": "cost"})["metric"] == "cost"
    for a, b in ((1, 2), (2, 1)):
        _put(f"{url}/v1/links/{a:016x}/{b:016x}/cost", {"cost": 50})
    assert net.ping("h1", "h3", count=2)
    route = next(r for r in lab.get_json(f"{url}/v1/routes") if "00:00:00:00:00:03" in r["hosts"])
    path = [int(h["dpid"], 16) for h in route["hops"]]
    print(f"\nh1<->h3 with cost override on s1-s2: {path}")
    assert path in ([1, 6, 5, 4, 3], [3, 4, 5, 6, 1])
    # pathctl, live: metric, path and a clear error for an unknown host.
    out = subprocess.run(
        [sys.executable, PATHCTL, "--url", url, "path", "10.0.0.1", "10.0.0.3"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    total = re.search(r"total cost ([\d.]+)", out.stdout)
    assert out.returncode == 0 and total, out.stdout + out.stderr
    # Four links, each 1 + its delay / cost_ms_per_hop: at least 4, far below the override.
    assert 4 <= float(total.group(1)) < 50, out.stdout
    bad = subprocess.run(
        [sys.executable, PATHCTL, "--url", url, "path", "10.0.0.1", "10.0.9.9"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 1 and "404" in bad.stderr
