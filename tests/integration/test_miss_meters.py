"""Tier 2: per-port OpenFlow meters on table misses, in Open vSwitch (userspace datapath).

A host flooding new destinations is cut in its own switch, at ``packet_in_rate``, before
a packet-in is ever sent; its neighbour on the same switch keeps its own share; no link
drops. Prints what it measured.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from testbed import lab
from topologies import build_topo

ROOT = Path(__file__).resolve().parents[2]
RATE = 100  # packet_in_rate: each port's meter admits this many misses/s, burst 200


def port_miss_entries(bridge: str) -> dict[int, int]:
    """in_port -> meter id of the bridge's priority-1 table-miss entries."""
    out = subprocess.run(
        ["ovs-ofctl", "--no-names", "-O", "OpenFlow13", "dump-flows", bridge],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        int(m.group(1)): int(m.group(2))
        for m in re.finditer(r"priority=1,in_port=(\d+) actions=meter:(\d+),CONTROLLER", out)
    }


def ofport(net: lab.LabNetwork, host: str) -> int:
    intf = net.host(host).defaultIntf().link
    sw_intf = intf.intf1 if intf.intf2.node is net.host(host) else intf.intf2
    return int(sw_intf.node.ports[sw_intf])


def test_a_host_flood_is_metered_in_its_switch_and_its_neighbour_keeps_its_share(
    lab_factory, tmp_path: Path
) -> None:
    topo = build_topo("tree,2,2")  # s1 root; h1, h2 on s2; h3, h4 on s3
    cfg = lab.write_controller_config(topo, tmp_path / "c.toml", packet_in_rate=float(RATE))
    ctl, net = lab_factory(topo, config_file=cfg)
    health = net.wait_discovered(ctl)
    links = health["links"]

    # Every port of every switch has its own metered miss entry, meter id = port number.
    for sw in net.net.switches:
        entries = port_miss_entries(sw.name)
        ports = {int(p) for p in sw.ports.values() if int(p) > 0}
        assert set(entries) == ports and all(p == m for p, m in entries.items()), (sw, entries)
    topo_view = lab.get_json(f"{ctl.rest_url}/v1/topology")
    s2 = next(s for s in topo_view["switches"] if s["dpid"].endswith("2"))
    assert s2["miss_meters"]["state"] == "on" and s2["miss_meters"]["rate_pps"] == RATE

    h1_port = ofport(net, "h1")
    before = lab.meter_stats("s2")
    seconds, pps = 4.0, 3000
    out = tmp_path / "flood.out"
    h1 = net.host("h1")
    h1.cmd(f"python3 {ROOT / 'testbed' / 'flooder.py'} h1-eth0 {pps} {seconds} > {out} 2>&1 &")
    t0 = time.monotonic()
    time.sleep(1.0)
    neighbour_ok = net.ping("h2", "h4", count=3, timeout_s=1)  # a new pair, during the flood
    min_links = links
    while time.monotonic() - t0 < seconds + 1.5:
        h = ctl.health()
        if h is not None:
            min_links = min(min_links, h["links"])
        time.sleep(0.25)
    lab.wait_for(lambda: out.read_text().strip() != "", 10, "the flooder to finish")
    sent = int(out.read_text().split()[0])
    after = lab.meter_stats("s2")
    entered = after[h1_port][0] - before.get(h1_port, (0, 0))[0]
    dropped = after[h1_port][1] - before.get(h1_port, (0, 0))[1]
    admitted = entered - dropped
    elapsed = time.monotonic() - t0
    print(
        f"\nflood from h1 (port {h1_port} of s2): {sent} frames in {seconds:g} s; meter: "
        f"{entered} entered, {dropped} dropped in the switch, {admitted} sent to the "
        f"controller (bound {RATE}/s x {elapsed:.1f} s + burst {2 * RATE}); "
        f"h2 -> h4 during the flood: {'ok' if neighbour_ok else 'FAILED'}; "
        f"fewest links {min_links}/{links}"
    )
    assert entered >= 0.9 * sent  # the flood really went through h1's meter
    assert dropped >= sent - RATE * elapsed - 2 * RATE - 50
    assert admitted <= RATE * elapsed + 2 * RATE + 50
    assert neighbour_ok
    assert min_links == links
