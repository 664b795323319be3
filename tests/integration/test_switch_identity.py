"""Tier 2 (no Mininet): one live OpenFlow session per dpid, against the real controller.

An emulated ring of four switches is discovered; then a second connection claims dpid 1.
While the honest switch answers, the claimant is closed and nothing changes (switches,
links, hosts); when the honest connection stops answering, the newcomer takes over within
the probe time (an honest switch reconnecting after a silent failure)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import networkx as nx

from controller.southbound.sessions import PROBE_S
from testbed import lab, ofemu
from topologies import spec


def _claimant() -> ofemu.Topology:
    """A lone switch that says it is dpid 1 (one port, one host)."""
    g = nx.Graph()
    g.add_node("x", dpid=1, hosts=1)
    return ofemu.Topology.from_graph(g)


async def _health(ctl: lab.ControllerProcess) -> dict[str, Any]:
    return await ofemu.rest_get(f"{ctl.rest_url}/v1/health")  # type: ignore[no-any-return]


async def _scenario(ctl: lab.ControllerProcess) -> dict[str, Any]:
    topo = ofemu.Topology.from_spec(spec.ring(4), 1)
    async with ofemu.Emulator(topo, ("127.0.0.1", ctl.of_port)) as honest:
        await honest.start(timeout=20)
        await honest.wait_discovered(ctl.rest_url, timeout=20)
        await honest.prepare(ctl.rest_url, timeout=20)
        before = await _health(ctl)
        hosts_before = len(await ofemu.rest_get(f"{ctl.rest_url}/v1/hosts"))

        # 1. An impostor claims dpid 1 while the honest switch is alive.
        async with ofemu.Emulator(_claimant(), ("127.0.0.1", ctl.of_port)) as impostor:
            t0 = time.monotonic()
            await impostor.start(timeout=10)
            sw = impostor.switches[1]
            await ofemu.wait_until(lambda: sw.lost, PROBE_S + 3, "the impostor closed")
            refused_s = time.monotonic() - t0
            await asyncio.sleep(1.0)
            during = await _health(ctl)
        await asyncio.sleep(1.0)  # the impostor is gone: nothing may change either
        after = await _health(ctl)
        hosts_after = len(await ofemu.rest_get(f"{ctl.rest_url}/v1/hosts"))
        src, dst = topo.hosts[0], topo.hosts[2]
        (setup,) = await honest.flowsetup([(src, dst)], window=1, timeout=10)
        assert setup.t_delivered is not None, "the honest ring no longer routes"

        # 2. The honest dpid 1 stops answering: a newcomer takes it over.
        honest_sw = honest.switches[1]
        assert honest_sw.transport is not None
        honest_sw.transport.pause_reading()
        async with ofemu.Emulator(_claimant(), ("127.0.0.1", ctl.of_port)) as newcomer:
            t1 = time.monotonic()
            await newcomer.start(timeout=10)

            async def taken_over() -> bool:
                h = await _health(ctl)  # None: the request failed (asked again)
                return h is not None and h["counters"]["stale_session_replaced"] >= 1

            deadline = time.monotonic() + PROBE_S + 5
            while not await taken_over():
                assert time.monotonic() < deadline, "the newcomer never took over"
                await asyncio.sleep(0.1)
            takeover_s = time.monotonic() - t1
            still_open = not newcomer.switches[1].lost
        return {
            "before": before,
            "during": during,
            "after": after,
            "hosts": (hosts_before, hosts_after),
            "refused_s": refused_s,
            "takeover_s": takeover_s,
            "newcomer_open": still_open,
        }


def test_a_second_connection_for_a_live_dpid_is_refused_and_a_dead_one_replaced(
    tmp_path: Path,
) -> None:
    ctl = lab.ControllerProcess(log_path=tmp_path / "ryu-manager.log")
    ctl.start()
    try:
        r = asyncio.run(asyncio.wait_for(_scenario(ctl), timeout=90))
    except BaseException:
        print(f"\n----- ryu-manager log tail ({ctl.log_path}) -----\n{ctl.log_tail(60)}")
        raise
    finally:
        ctl.stop()
    print(
        f"\n[identity] impostor for dpid 1 closed after {r['refused_s']:.2f} s (bound "
        f"{PROBE_S:.0f} + 3 s); switches/links before {r['before']['switches']}/"
        f"{r['before']['links']}, during {r['during']['switches']}/{r['during']['links']}, "
        f"after {r['after']['switches']}/{r['after']['links']}; hosts {r['hosts']}; "
        f"a silent holder replaced after {r['takeover_s']:.2f} s"
    )
    for h in (r["during"], r["after"]):
        assert (h["switches"], h["links"]) == (4, 8)
    assert r["after"]["counters"]["duplicate_dpid_refused"] == 1
    assert r["hosts"][0] == r["hosts"][1] == 4
    assert r["newcomer_open"]
