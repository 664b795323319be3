"""Tier 2 (no Mininet): a switch that stops reading cannot stall the others (issue 12,
finding 8), against the real controller and emulated OpenFlow 1.3 switches.

Before the fix, Ryu's ``Datapath.send`` blocked once a switch's 16-message queue was full,
and the loops that serve every switch (LLDP probes, statistics, floods) sent from one
greenlet: one switch that stopped reading its socket stalled them all, and every link
dropped. Here one switch of a ring of five stops reading (asyncio ``pause_reading`` on its
connection: its socket buffers fill, then Ryu's queue, then our outbox). It has 600 host
ports, and a host elsewhere broadcasts ARP requests at 180/s (under the per-port
packet-in limit): every flood is one packet-out of about 10 kB to it, so the loopback
socket buffers (about 4 MB: the controller's send buffer grows that large on loopback)
fill within seconds; its LLDP probes alone (shed past 256 waiting, about 31 kB/s) would
take two minutes. The links between the other switches must stay up through the whole
stall (sampled every 0.25 s), REST must keep answering, and the stuck switch must be
disconnected (``switches_disconnected_stuck`` in /v1/health) ``STUCK_S`` after its
buffers are full (the controller's send queue on that connection stops growing, read with
``ss``), and within 20 s of the moment it stopped reading. The fill time depends on the
kernel's buffer sizes (``net.ipv4.tcp_wmem``: here the send buffer grew to about 9 MB).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.southbound.ryu_transport import STUCK_S
from testbed import lab, ofemu
from topologies import spec

STUCK_DPID = 1
STUCK_PORTS = 600
"""Host ports on the stuck switch (each flood is one packet-out with an output per port)."""
ARP_PER_S = 180
"""Broadcasts from one host (the controller looks at 200 packet-ins a second per port)."""
DISCONNECT_BOUND_S = 20.0
"""From the moment it stops reading to its disconnection."""
AFTER_FULL_BOUND_S = STUCK_S + 2.0
"""From the moment its buffers are full to its disconnection."""
AFTER_S = 3.0
"""Links of the others still watched for this long after the disconnection."""


def _ring() -> ofemu.Topology:
    """ring,5 (dpids 1..5), one host per switch but ``STUCK_PORTS`` on the stuck one."""
    g = spec.ring(5).to_networkx()
    for n in g.nodes:
        g.nodes[n]["dpid"] = n
        g.nodes[n]["hosts"] = STUCK_PORTS if n == STUCK_DPID else 1
    return ofemu.Topology.from_graph(g)


def _others(links: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """Directed links that do not touch the stuck switch."""
    pairs = {(int(x["src"]["dpid"], 16), int(x["dst"]["dpid"], 16)) for x in links}
    return {p for p in pairs if STUCK_DPID not in p}


@dataclass
class Watch:
    """Samples of the controller's view while the switch is stuck."""

    others_min: int = 10**9
    dropped_at: list[float] = field(default_factory=list)
    samples: int = 0
    broadcasts: int = 0
    rest_max_s: float = 0.0
    disconnected_s: float | None = None
    queued_max: int = 0  # bytes in the controller's send queue of the stuck connection
    full_s: float | None = None  # when that queue stopped growing
    health_after: dict[str, Any] = field(default_factory=dict)


def _send_queue(emu_port: int) -> int | None:
    """Bytes the controller's socket to the emulated switch at ``emu_port`` has queued."""
    out = subprocess.run(
        ["ss", "-tnH", "state", "established", "dst", f"127.0.0.1:{emu_port}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return int(out[1]) if len(out) > 1 else None


async def _broadcast(emu: ofemu.Emulator, host: ofemu.Host, w: Watch) -> None:
    """ARP requests for addresses nobody has (each flooded to every access port)."""
    batch = ARP_PER_S // 20
    while True:
        for _ in range(batch):
            n = w.broadcasts = w.broadcasts + 1
            emu.inject(host, ofemu.arp_request(host, bytes([10, 99, n >> 8 & 0xFF, n & 0xFF])))
        await asyncio.sleep(0.05)


async def _scenario(ctl: lab.ControllerProcess) -> tuple[Watch, dict[str, Any], int]:
    topo = _ring()
    async with ofemu.Emulator(topo, ("127.0.0.1", ctl.of_port)) as emu:
        await emu.start(timeout=30)
        before = await emu.wait_discovered(ctl.rest_url, timeout=30)
        await asyncio.sleep(2.5)  # host ports quiet for 2 LLDP intervals: access ports
        links = await ofemu.rest_get(f"{ctl.rest_url}/v1/links")
        want = _others(links)
        assert len(want) == 6, want  # 2-3, 3-4, 4-5, both ways

        w = Watch()
        (talker,) = (h for h in topo.hosts if h.dpid == 3)
        storm = asyncio.create_task(_broadcast(emu, talker, w))
        sw = emu.switches[STUCK_DPID]
        assert sw.transport is not None
        emu_port = sw.transport.get_extra_info("sockname")[1]
        sw.transport.pause_reading()
        t0 = time.monotonic()
        stop_at = t0 + DISCONNECT_BOUND_S + 5
        try:
            while time.monotonic() < stop_at:
                s0 = time.monotonic()
                health = await ofemu.rest_get(f"{ctl.rest_url}/v1/health")
                links = await ofemu.rest_get(f"{ctl.rest_url}/v1/links")
                w.rest_max_s = max(w.rest_max_s, time.monotonic() - s0)
                assert isinstance(health, dict) and isinstance(links, list), "no REST answer"
                w.samples += 1
                have = _others(links) & want
                w.others_min = min(w.others_min, len(have))
                if have != want:
                    w.dropped_at.append(round(time.monotonic() - t0, 2))
                queued = await asyncio.to_thread(_send_queue, emu_port)
                if queued is not None and w.disconnected_s is None:
                    if queued > w.queued_max:
                        w.queued_max, w.full_s = queued, None
                    elif w.full_s is None and queued > 0:
                        w.full_s = time.monotonic() - t0  # no longer growing
                stuck = health["counters"]["switches_disconnected_stuck"]
                if stuck and w.disconnected_s is None:
                    w.disconnected_s = time.monotonic() - t0
                    stop_at = time.monotonic() + AFTER_S
                await asyncio.sleep(0.25)
        finally:
            storm.cancel()
        w.health_after = await ofemu.rest_get(f"{ctl.rest_url}/v1/health")
        return w, before, len(want)


def test_a_switch_that_stops_reading_is_disconnected_within_20s_and_the_others_keep_links(
    tmp_path: Path,
) -> None:
    ctl = lab.ControllerProcess(log_path=tmp_path / "ryu-manager.log")
    ctl.start()
    try:
        w, before, n_others = asyncio.run(asyncio.wait_for(_scenario(ctl), timeout=120))
        log = ctl.log_tail(400)
    except BaseException:
        print(f"\n----- ryu-manager log tail ({ctl.log_path}) -----\n{ctl.log_tail(60)}")
        raise
    finally:
        ctl.stop()
    after = w.health_after
    disconnected = "never" if w.disconnected_s is None else f"after {w.disconnected_s:.1f} s"
    full = "never" if w.full_s is None else f"{w.full_s:.1f} s"
    print(
        f"\n[stuck switch] ring of 5, dpid {STUCK_DPID} ({STUCK_PORTS + 2} ports) stops "
        f"reading: its buffers full after {full} ({w.queued_max / 1e6:.1f} MB queued in the "
        f"controller's socket), disconnected {disconnected} (bounds {DISCONNECT_BOUND_S:g} s, "
        f"and {AFTER_FULL_BOUND_S:g} s after full; STUCK_S {STUCK_S:g} s); links between "
        f"the other switches: min {w.others_min} of "
        f"{n_others} over {w.samples} samples every 0.25 s (drops at {w.dropped_at[:10]} s); "
        f"REST max {w.rest_max_s * 1e3:.0f} ms; {w.broadcasts} ARP broadcasts; before: "
        f"{before['switches']} switches / {before['links']} links, after: "
        f"{after['switches']} / {after['links']}; counters: "
        f"switches_disconnected_stuck {after['counters']['switches_disconnected_stuck']}, "
        f"messages_dropped_congested {after['counters']['messages_dropped_congested']}, "
        f"messages_lost_closing {after['counters']['messages_lost_closing']}, "
        f"floods {after['counters']['floods']}, rate_limited {after['counters']['rate_limited']}"
    )
    assert w.dropped_at == [] and w.others_min == n_others
    assert w.rest_max_s < 1.0
    assert w.disconnected_s is not None and w.disconnected_s <= DISCONNECT_BOUND_S
    assert w.full_s is not None and w.disconnected_s - w.full_s <= AFTER_FULL_BOUND_S
    assert after["counters"]["switches_disconnected_stuck"] == 1
    assert (after["switches"], after["links"]) == (4, n_others)
    assert "took no message" in log
