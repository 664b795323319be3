"""Reading what is really installed on the OVS bridges (ovs-ofctl), for assertions."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import networkx as nx

from testbed import lab


def dump_flows(switch: str) -> list[dict[str, Any]]:
    """Our path flows on one bridge: match fields and output port."""
    out = subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flows = []
    for line in out.splitlines():
        if "cookie=0x5d" not in line or "dl_src=" not in line:
            continue
        fields = dict(re.findall(r"(in_port|dl_src|dl_dst)=([^,\s]+)", line))
        m = re.search(r"actions=output:\"?([^\s\"]+)\"?", line)
        if m:
            flows.append({**fields, "out": m.group(1)})
    return flows


def table_miss_packets(net: lab.LabNetwork) -> int:
    """Packets that hit a table-miss entry (priority 0, or a port's own at priority 1: see
    controller.discovery.miss_meter) on every switch: packet-ins."""
    total = 0
    for sw in net.net.switches:
        out = subprocess.run(
            ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", sw.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            miss = re.search(r"\bpriority=[01][ ,]", line)
            if miss and re.search(r"actions=(meter:\d+,)?CONTROLLER", line):
                total += int(re.search(r"n_packets=(\d+)", line).group(1))
    return total


def switch_graph(net: lab.LabNetwork) -> tuple[nx.Graph, dict[tuple[str, int], str]]:
    """The Mininet topology as a graph, and (switch, port) -> neighbour switch."""
    g = nx.Graph()
    neighbour: dict[tuple[str, int], str] = {}
    for link in net.net.links:
        a, b = link.intf1.node, link.intf2.node
        if a.name in net.topo.switches() and b.name in net.topo.switches():
            g.add_edge(a.name, b.name)
            neighbour[(a.name, a.ports[link.intf1])] = b.name
            neighbour[(b.name, b.ports[link.intf2])] = a.name
    return g, neighbour


def trace(
    net: lab.LabNetwork, src: Any, dst: Any, neighbour: dict[tuple[str, int], str]
) -> list[str]:
    """Follow the installed flows for src->dst from src's switch; returns the switches visited."""
    intf = src.defaultIntf()
    link = intf.link
    peer = link.intf2 if link.intf1 is intf else link.intf1
    sw, port = peer.node.name, peer.node.ports[peer]
    dst_sw = dst.defaultIntf().link
    path = []
    for _ in range(len(net.net.switches) + 1):
        path.append(sw)
        flows = [
            f
            for f in dump_flows(sw)
            if f.get("dl_src") == src.MAC()
            and f.get("dl_dst") == dst.MAC()
            and f.get("in_port") == str(port)
        ]
        assert len(flows) == 1, (
            f"{sw}: expected one flow {src.name}->{dst.name} in_port {port}, got {flows}"
        )
        out = int(flows[0]["out"])
        if (sw, out) not in neighbour:
            # Leaves the fabric: must be dst's access port.
            node = net.net.get(sw)
            assert node.intfs[out].link is dst_sw, f"{sw} port {out} is not {dst.name}'s port"
            return path
        nxt = neighbour[(sw, out)]
        # The port on nxt facing sw.
        port = next(
            p
            for (s, p), n in neighbour.items()
            if s == nxt
            and n == sw
            and net.net.get(nxt).intfs[p].link is net.net.get(sw).intfs[out].link
        )
        sw = nxt
    raise AssertionError(f"flows for {src.name}->{dst.name} loop: {path}")
