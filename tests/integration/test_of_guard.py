"""Tier 2: the OpenFlow guard in a real ryu-manager running ``controller/app.py`` (no Mininet).

Anyone who reaches the OpenFlow port could freeze Ryu's event loop with one zero-length
sub-structure. With the guard installed by the app, such a peer loses its connection
within moments, the REST API keeps answering, and honest switches (``testbed/ofemu.py``)
connect and stay connected. Traffic stays on loopback.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed import fuzz_openflow, lab, ofemu
from topologies import spec

CLOSE_BOUND_S = 2.0
HEALTH_BOUND_S = 1.0
NOT_INSTALLED = "controller/app.py must call ofguard.install(ofproto_parser, ...) at import time"


@pytest.fixture
def ctl(tmp_path: Path) -> Iterator[lab.ControllerProcess]:
    proc = lab.ControllerProcess(log_path=tmp_path / "ryu-manager.log")
    proc.start()
    try:
        lab.wait_for(proc.health, 20, "the REST API to answer")
        yield proc
    except BaseException:
        print(f"\n----- ryu-manager log tail ({proc.log_path}) -----\n{proc.log_tail(60)}")
        raise
    finally:
        proc.stop()


def timed_health(ctl: lab.ControllerProcess) -> tuple[dict[str, Any], float]:
    """GET /v1/health with a 1 s socket timeout: the answer and how long it took."""
    start = time.monotonic()
    body = lab.get_json(f"{ctl.rest_url}/v1/health", timeout=HEALTH_BOUND_S)
    took = time.monotonic() - start
    assert isinstance(body, dict) and body["status"] == "ok", body
    assert took < HEALTH_BOUND_S, f"/v1/health took {took:.2f} s"
    return body, took


def closed_within(sock: socket.socket, bound_s: float) -> float | None:
    """Seconds until the peer closes ``sock`` (reading and dropping what it sends), or None
    if it is still open after ``bound_s``."""
    start = time.monotonic()
    while (left := start + bound_s - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(4096):
                return time.monotonic() - start
        except ConnectionResetError:
            return time.monotonic() - start
        except TimeoutError:
            return None
    return None


async def connect_switches(ctl: lab.ControllerProcess, topo: spec.TopologySpec) -> ofemu.Emulator:
    emu = ofemu.Emulator(ofemu.Topology.from_spec(topo, 1), ("127.0.0.1", ctl.of_port))
    await emu.start(timeout=20)
    await emu.wait_discovered(ctl.rest_url, timeout=20)
    return emu


def test_a_zero_length_hello_element_closes_that_connection_only(ctl) -> None:
    attack = fuzz_openflow.hello_len0_element()
    with socket.create_connection(("127.0.0.1", ctl.of_port), timeout=2) as sock:
        sock.sendall(attack)
        closed_s = closed_within(sock, CLOSE_BOUND_S)
    assert closed_s is not None, f"still connected after {CLOSE_BOUND_S} s: {NOT_INSTALLED}"
    assert "hello element length 0 < 4" in ctl.log_text(), NOT_INSTALLED
    health, health_s = timed_health(ctl)  # an unguarded Ryu never answers again

    async def honest_switches_afterwards() -> dict[str, Any]:
        emu = await connect_switches(ctl, spec.linear(2))
        async with emu:
            health, _ = await asyncio.to_thread(timed_health, ctl)
            return {"lost": emu.counters["connections_lost"], "health": health}

    after = asyncio.run(asyncio.wait_for(honest_switches_afterwards(), timeout=60))
    assert after["lost"] == 0 and (after["health"]["switches"], after["health"]["links"]) == (2, 2)
    print(
        f"\n[of-guard] HELLO with a zero-length element: connection closed after "
        f"{closed_s * 1e3:.0f} ms; /v1/health answered in {health_s * 1e3:.0f} ms "
        f"({health['switches']} switches); then linear,2 of emulated switches connected and "
        f"was discovered"
    )


def test_a_connected_switch_sending_a_zero_length_stats_entry_is_dropped(ctl) -> None:
    async def scenario() -> dict[str, Any]:
        emu = await connect_switches(ctl, spec.linear(3))
        async with emu:
            bad = emu.switches[2]
            assert bad.transport is not None
            start = time.monotonic()
            # An unsolicited MULTIPART_REPLY (flow stats) whose first entry claims length 0.
            bad.transport.write(fuzz_openflow.flow_stats_len0_entry())
            try:
                await ofemu.wait_until(lambda: bad.lost, CLOSE_BOUND_S, "s2 to be closed")
            except TimeoutError:
                raise AssertionError(f"s2 still connected: {NOT_INSTALLED}") from None
            closed_s = time.monotonic() - start
            _, health_s = await asyncio.to_thread(timed_health, ctl)

            async def s2_down() -> bool:
                h = await ofemu.rest_get(f"{ctl.rest_url}/v1/health")
                return isinstance(h, dict) and h["switches"] == 2

            await ofemu.wait_until_async(s2_down, 10, "the controller to drop s2")
            others = [sw.lost for d, sw in emu.switches.items() if d != 2]
            return {"closed_s": closed_s, "health_s": health_s, "others_lost": others}

    report = asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert report["others_lost"] == [False, False]
    assert "flow-stats entry length 0 < 56" in ctl.log_text(), NOT_INSTALLED
    timed_health(ctl)
    print(
        f"\n[of-guard] s2 sent a flow-stats reply with a zero-length entry: closed after "
        f"{report['closed_s'] * 1e3:.0f} ms; /v1/health answered in "
        f"{report['health_s'] * 1e3:.0f} ms; s1 and s3 stayed connected"
    )
