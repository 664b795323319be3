"""Tier 2 smoke test of the switch emulator against our real controller (no Mininet).

Four emulated switches in a ring, one host each, connect to ``controller/app.py``
under ryu-manager on free loopback ports: the controller must discover the ring from
the LLDP probes the emulator reflects, learn the hosts, and install a working path
for one host pair.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from testbed import lab, ofemu
from topologies import spec


async def _ring_scenario(ctl: lab.ControllerProcess) -> dict[str, Any]:
    topo = ofemu.Topology.from_spec(spec.ring(4), 1)
    async with ofemu.Emulator(topo, ("127.0.0.1", ctl.of_port)) as emu:
        t0 = time.monotonic()
        await emu.start(timeout=20)
        health = await emu.wait_discovered(ctl.rest_url, timeout=20)
        discovered_s = time.monotonic() - t0
        assert (health["switches"], health["links"]) == (4, 8)
        prep = await emu.prepare(ctl.rest_url, timeout=20)

        src, dst = topo.hosts[0], topo.hosts[2]  # on s1 and s3: two hops either way round
        packet_ins = emu.counters["packet_ins"]
        (setup,) = await emu.flowsetup([(src, dst)], window=1, timeout=10)
        assert setup.t_done is not None and setup.how == "flowmod", setup
        assert setup.t_delivered is not None, "the released packet did not reach its host"

        # Behaviour, not message shapes: both directions now cross the emulated tables.
        path, delivered = emu.trace(src, dst)
        back, delivered_back = emu.trace(dst, src)
        assert delivered and delivered_back
        assert len(path) == 3 and path[0] == src.dpid and path[-1] == dst.dpid
        assert back == path[::-1]
        for dpid in path:  # the FlowMods reached every switch on the path
            flows = emu.switches[dpid].table.entries()
            assert any(e.match.eth_src == src.mac and e.match.eth_dst == dst.mac for e in flows)
        assert emu.counters["packet_ins"] == packet_ins + 1  # no transit misses

        routes = await ofemu.rest_get(f"{ctl.rest_url}/v1/routes")
        assert isinstance(routes, list)
        pairs = {tuple(r["hosts"]) for r in routes}
        assert tuple(sorted((src.mac_str, dst.mac_str))) in pairs, routes
        return {
            "discovered_s": discovered_s,
            "learn_s": prep.get("learn_s"),
            "setup_ms": (setup.t_done - setup.t_sent) * 1e3,
            "delivered_ms": (setup.t_delivered - setup.t_sent) * 1e3,
            "path": [f"{d:x}" for d in path],
            "lldp_packet_outs": emu.counters["packet_outs_lldp"],
        }


def test_emulated_ring_is_discovered_and_a_pair_routed(tmp_path: Path) -> None:
    ctl = lab.ControllerProcess(log_path=tmp_path / "ryu-manager.log")
    ctl.start()
    try:
        report = asyncio.run(asyncio.wait_for(_ring_scenario(ctl), timeout=60))
    except BaseException:
        print(f"\n----- ryu-manager log tail ({ctl.log_path}) -----\n{ctl.log_tail(60)}")
        raise
    finally:
        ctl.stop()
    print(
        f"\n[ofemu] ring,4 discovered in {report['discovered_s']:.2f}s, hosts learned in "
        f"{report['learn_s']}s; one pair: ingress FlowMod after {report['setup_ms']:.1f} ms, "
        f"delivered after {report['delivered_ms']:.1f} ms via {report['path']}; "
        f"{report['lldp_packet_outs']} LLDP packet-outs"
    )
