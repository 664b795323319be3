"""Tier 2: shortest-path forwarding on real OVS + Mininet, looped topologies included."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import time

import networkx as nx
import pytest

from testbed import lab
from tests.integration.ovs_flows import switch_graph, table_miss_packets, trace
from topologies import build_topo

# (topology, hosts to sample for the flow check)
TOPOLOGIES = ["linear,4", "ring,6", "mesh,6", "fattree,4", "abilene", "nsfnet"]


@pytest.mark.parametrize("spec", TOPOLOGIES)
def test_pingall_no_storm_and_flows_follow_shortest_paths(lab_factory, spec: str) -> None:
    topo = build_topo(spec)
    ctl, net = lab_factory(topo)
    net.wait_discovered(ctl)
    before = ctl.health()
    assert before is not None
    miss_before = table_miss_packets(net)
    t0 = time.monotonic()
    sent, lost = net.pingall(timeout_s=2)
    elapsed = time.monotonic() - t0
    after = ctl.health()
    assert after is not None
    hosts = len(net.net.hosts)
    pairs = hosts * (hosts - 1) // 2
    c0, c1 = before["counters"], after["counters"]
    pkt_ins = (c1["packet_ins"] - c1["lldp_in"]) - (c0["packet_ins"] - c0["lldp_in"])
    miss = table_miss_packets(net) - miss_before
    bound = 4 * pairs + 8 * hosts
    print(
        f"\n{spec}: {len(net.net.switches)} switches, {hosts} hosts; pingall {sent} sent, "
        f"{lost} lost in {elapsed:.1f}s; packet-ins (non-LLDP) {pkt_ins}, table-miss packets "
        f"{miss}, bound {bound}; routes {after['routes']}, floods {c1['floods'] - c0['floods']}"
    )
    assert lost == 0, ctl.log_tail()
    assert pkt_ins <= bound, f"packet-in storm: {pkt_ins} > {bound}"
    assert miss <= bound

    # Sampled pairs: installed flows, followed hop by hop on the switches, form a path that
    # is a shortest path of the topology (hop metric) and the app's own route.
    g, neighbour = switch_graph(net)
    routes = {tuple(r["hosts"]): r for r in lab.get_json(f"{ctl.rest_url}/v1/routes")}
    rng = random.Random(spec)
    sample = rng.sample(list(itertools.permutations(net.net.hosts, 2)), k=min(6, pairs))
    for src, dst in sample:
        path = trace(net, src, dst, neighbour)
        s_sw, d_sw = path[0], path[-1]
        assert len(path) - 1 == nx.shortest_path_length(g, s_sw, d_sw), (src.name, dst.name, path)
        key = tuple(sorted((src.MAC(), dst.MAC())))
        app_path = [int(h["dpid"], 16) for h in routes[key]["hops"]]
        if key[0] != src.MAC():
            app_path.reverse()
        assert app_path == [int(net.net.get(s).dpid, 16) for s in path]
        print(f"  {src.name}->{dst.name}: {' '.join(path)}")


def test_ring_link_cut_reroutes_under_a_second(lab_factory, tmp_path) -> None:
    ctl, net = lab_factory(build_topo("ring,6"))
    net.wait_discovered(ctl)
    h1, h4 = net.host("h1"), net.host("h4")
    assert net.ping("h1", "h4", count=3)
    routes = {tuple(r["hosts"]): r for r in lab.get_json(f"{ctl.rest_url}/v1/routes")}
    key = tuple(sorted((h1.MAC(), h4.MAC())))
    first = [int(h["dpid"], 16) for h in routes[key]["hops"]]
    # Cut a link that the current path uses (ties break to the lowest dpid sequence).
    a, b = f"s{first[1]}", f"s{first[2]}"
    count, interval = 400, 0.01
    log_file = tmp_path / "ping.log"
    pid = h1.cmd(f"ping -i {interval} -c {count} -W 1 {h4.IP()} > {log_file} 2>&1 & echo $!")
    pid = pid.strip().splitlines()[-1]
    time.sleep(1.0)
    t_cut = time.monotonic()
    net.net.configLinkStatus(a, b, "down")
    lab.wait_for(
        lambda: not h1.cmd(f"kill -0 {pid} 2>/dev/null && echo alive").strip(),
        30,
        "the ping to finish",
    )
    out = log_file.read_text()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    tx, rx = int(m.group(1)), int(m.group(2))
    outage_ms = (tx - rx) * interval * 1000
    routes = {tuple(r["hosts"]): r for r in lab.get_json(f"{ctl.rest_url}/v1/routes")}
    second = [int(h["dpid"], 16) for h in routes[key]["hops"]]
    print(
        f"\nring,6 cut {a}-{b} at t={t_cut:.2f}: path {first} -> {second}; "
        f"{tx - rx} of {tx} pings lost at {interval * 1000:.0f} ms: outage ~{outage_ms:.0f} ms"
    )
    assert (first[1], first[2]) not in set(itertools.pairwise(second))
    assert (first[2], first[1]) not in set(itertools.pairwise(second))
    assert rx > 0 and tx - rx < tx
    assert outage_ms < 1000
    assert net.ping("h1", "h4", count=2)


def test_tcp_end_to_end_across_the_fat_tree(lab_factory) -> None:
    ctl, net = lab_factory(build_topo("fattree,4"))
    net.wait_discovered(ctl)
    server, client = net.host("h16"), net.host("h1")
    server.cmd("iperf3 -s -1 -D -p 5201")
    lab.wait_for(lambda: "5201" in server.cmd("ss -ltn"), 10, "iperf3 server")
    report = json.loads(client.cmd(f"timeout 30 iperf3 -c {server.IP()} -p 5201 -t 3 -J"))
    mbps = report["end"]["sum_received"]["bits_per_second"] / 1e6
    print(f"\niperf3 h1->h16 across fattree,4 (5 switch hops): {mbps:.0f} Mbit/s")
    assert mbps > 1


def _ofctl(*args: str) -> str:
    return subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("how", ["bridge/reconnect", "del-controller"])
def test_switch_reconnect_resyncs_flows_and_pingall_is_clean_within_10s(
    lab_factory, how: str
) -> None:
    ctl, net = lab_factory(build_topo("ring,6"))
    net.wait_discovered(ctl)
    assert net.ping("h1", "h4", count=2)  # path s1 s2 s3 s4
    # A stale flow in our cookie range and a foreign flow; then the switch reconnects:
    # bridge/reconnect keeps the flow table, del-controller + set-controller flushes it.
    _ofctl(
        "add-flow",
        "s2",
        "cookie=0x5d000000deadbeef,priority=5,dl_dst=00:00:00:00:00:99,actions=drop",
    )
    _ofctl("add-flow", "s2", "cookie=0x1234,priority=5,dl_dst=00:00:00:00:00:98,actions=drop")
    ups = ctl.health()["counters"]["switch_ups"]
    t0 = time.monotonic()
    if how == "bridge/reconnect":
        subprocess.run(["ovs-appctl", "-t", "ovs-vswitchd", "bridge/reconnect", "s2"], check=True)
    else:
        subprocess.run(["ovs-vsctl", "del-controller", "s2"], check=True, timeout=10)
        target = f"tcp:127.0.0.1:{ctl.of_port}"
        subprocess.run(["ovs-vsctl", "set-controller", "s2", target], check=True, timeout=10)
    lab.wait_for(
        lambda: (h := ctl.health()) and h["counters"]["switch_ups"] > ups, 30, "s2 to reconnect"
    )
    t_up = time.monotonic()
    # Every pair pings, without loss, within 10 s of the reconnect (polled pingalls).
    tries: list[int] = []

    def clean_pingall() -> bool:
        tries.append(net.pingall(timeout_s=1)[1])
        return tries[-1] == 0

    lab.wait_for(clean_pingall, 15, "a pingall without loss", interval=0.0)
    clean_s = time.monotonic() - t_up
    lab.wait_for(lambda: (h := ctl.health()) and h["links"] == 12, 30, "s2's links to return")
    lab.wait_for(lambda: "deadbeef" not in _ofctl("dump-flows", "s2"), 15, "the stale flow")
    stale_s = time.monotonic() - t_up
    flows = _ofctl("dump-flows", "s2")
    c = ctl.health()["counters"]
    print(
        f"\n{how} s2: reconnected after {t_up - t0:.1f} s; pingall (30 pairs) clean "
        f"{clean_s:.2f} s after the reconnect (bound 10 s; lost per try {tries}); stale flow "
        f"gone after {stale_s:.1f} s; found flows deleted {c['found_flows_deleted']}; "
        f"flows now:\n{flows}"
    )
    assert clean_s <= 10.0
    assert "deadbeef" not in flows  # our cookie range holds nothing stale
    if how == "bridge/reconnect":
        assert "cookie=0x1234" in flows  # a foreign flow is left alone
    assert net.ping("h1", "h4", count=3)
    assert net.ping("h2", "h5", count=3)
    pair = [
        ln
        for ln in _ofctl("dump-flows", "s2").splitlines()
        if "dl_src=00:00:00:00:00:01" in ln and "dl_dst=00:00:00:00:00:04" in ln
    ]
    assert len(pair) <= 1, pair  # no duplicate flows for a pair after the resync
