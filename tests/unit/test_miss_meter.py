"""OpenFlow meters on table misses, port by port: a host flood is cut in its switch, a
flooding port never uses up another port's share, and a switch without meters, or with
the meters off, works as before."""

from __future__ import annotations

import dataclasses

import pytest

from controller.config import Config, ConfigError, config_from_mapping
from controller.discovery.miss_meter import (
    PRIORITY_PORT_MISS,
    MeterState,
    MissMeters,
    can_meter,
    port_miss_entry,
)
from controller.discovery.service import PRIORITY_LLDP, PRIORITY_MISS
from controller.network.model import PortInfo
from controller.northbound.api import ApiContext, get_topology
from controller.northbound.render import flow_json
from controller.northbound.view import ControllerView
from controller.southbound.messages import (
    COOKIE_PORT_MISS,
    FlowDelete,
    MeterFeatures,
    MeterFeaturesRequest,
    MeterSet,
)
from tests.fakes import OVS_METER_FEATURES, FakeNetwork, _Error, ipv4_frame
from topologies import spec

RATE = 50.0  # packet_in_rate: the meters' rate too (burst twice that)


def two_hosts_on_s1(config: Config | None = None, features=OVS_METER_FEATURES) -> FakeNetwork:
    """s1 - s2 - s3; hosts h1 and h2 on s1, h3 on s3."""
    net = FakeNetwork(
        spec.linear(3).to_networkx(),
        hosts={"h1": 1, "h2": 1, "h3": 3},
        config=config or Config(packet_in_rate=RATE),
    )
    net.meter_features = features
    net.discover()
    net.announce_all()
    return net


def entries(net: FakeNetwork, dpid: int, priority: int):
    return [e for e in net.tables.table(dpid).flows() if e.priority == priority]


def flood(net: FakeNetwork, host: str, frames: int, seconds: float, others=()) -> dict[str, int]:
    """``host`` sends ``frames`` frames to new (unknown) destinations over ``seconds`` of
    network time, while each of ``others`` sends one such frame per 0.1 s; returns the
    packet-ins each host's port made at the controller."""
    hosts = [net.host(n) for n in (host, *others)]
    before = len(net.packet_ins)
    step = seconds / frames
    every = max(1, round(0.1 / step))
    for i in range(frames):
        net.now += step
        for h in hosts if i % every == 0 else hosts[:1]:
            dst = f"02:00:00:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}"
            net.send(h.name, ipv4_frame(h.mac, dst, h.ip, "10.9.9.9", b"flood"))
    got = net.packet_ins[before:]
    return {h.name: sum(1 for d, p, _ in got if (d, p) == (h.dpid, h.port)) for h in hosts}


def test_a_switch_with_meters_gets_a_metered_table_miss_entry_per_port():
    net = two_hosts_on_s1()
    for dpid in (1, 2, 3):
        ports = sorted(net.ports[dpid])
        per_port = entries(net, dpid, PRIORITY_PORT_MISS)
        assert sorted(e.match.in_port for e in per_port) == ports
        assert all(e.meter_id == e.match.in_port for e in per_port)
        assert all(e.cookie == COOKIE_PORT_MISS for e in per_port)
        assert {p: (m.rate_pps, m.burst) for p, m in net.meters[dpid].items()} == {
            p: (50, 100) for p in ports
        }
        # The switch-wide entry stays, unmetered; so does the LLDP entry.
        assert [e.meter_id for e in entries(net, dpid, PRIORITY_MISS)] == [None]
        assert [e.meter_id for e in entries(net, dpid, PRIORITY_LLDP)] == [None]
        assert net.core.meters.state[dpid] == MeterState.ON
    assert net.counters.miss_meters_on == 3
    assert net.deliver("h1", "h3") and net.deliver("h3", "h2")


def test_a_flood_is_cut_in_the_switch_and_spares_the_other_ports_share():
    net = two_hosts_on_s1()
    got = flood(net, "h1", 4000, 2.0, others=("h2",))
    assert 50 <= got["h1"] <= 2 * 50 + 100 + 2  # the burst, then the rate for 2 s
    assert got["h2"] == 20  # every one of h2's frames, though on the same switch
    assert net.core.limiter.dropped == 0  # the controller's own limiter never had to act
    assert net.deliver("h2", "h3")

    plain = two_hosts_on_s1(Config(packet_in_rate=RATE, miss_meters=False))
    assert plain.core.meters.state[1] == MeterState.OFF
    assert entries(plain, 1, PRIORITY_PORT_MISS) == []
    assert not any(isinstance(m, MeterFeaturesRequest | MeterSet) for m in plain.sent)
    got = flood(plain, "h1", 4000, 2.0, others=("h2",))
    assert got["h1"] == 4000  # every frame reached the controller
    assert plain.counters.rate_limited > 3000  # and was dropped there, after the work


@pytest.mark.parametrize(
    "features",
    [
        None,  # METER_FEATURES is a bad request: no meters at all
        MeterFeatures(0, 0, 0, 0),  # max_meter 0 (an empty reply reads the same)
        dataclasses.replace(OVS_METER_FEATURES, capabilities=1),  # kbps only
    ],
)
def test_a_switch_without_meters_keeps_working_unmetered(features: MeterFeatures | None):
    net = two_hosts_on_s1(features=features)
    assert net.core.meters.state[1] == MeterState.UNSUPPORTED
    assert entries(net, 1, PRIORITY_PORT_MISS) == []
    assert not any(isinstance(m, MeterSet) for m in net.sent)
    assert net.counters.miss_meters_unsupported == 3
    assert net.deliver("h1", "h3")
    net.core.meters.on_features(1, [OVS_METER_FEATURES], [1])  # late: changes nothing
    assert net.core.meters.state[1] == MeterState.UNSUPPORTED


def test_a_restarted_controller_takes_the_meters_over_with_its_own_rate():
    net = two_hosts_on_s1()
    net.restart_controller()
    net.config = Config(packet_in_rate=2 * RATE)
    net.core = type(net.core)(net.config, net.core.transport, nonce=net.core.nonce)
    expected: list[bool] = []
    on_error = net.core.on_error

    def spy(*args, **kwargs) -> bool:
        expected.append(on_error(*args, **kwargs))
        return expected[-1]

    net.core.on_error = spy  # type: ignore[method-assign]
    net.discover()
    ports = sum(len(p) for p in net.ports.values())
    assert expected == [True] * ports  # each meter's add: METER_EXISTS, expected
    for dpid in (1, 2, 3):
        assert {m.rate_pps for m in net.meters[dpid].values()} == {100}  # the modify applied
        assert all(e.meter_id for e in entries(net, dpid, PRIORITY_PORT_MISS))
    assert net.counters.installs_failed == 0
    net.announce_all()
    assert net.deliver("h1", "h3")


def test_ports_added_later_are_metered_and_deleted_ones_lose_their_entry():
    net = two_hosts_on_s1()
    new = max(net.ports[2]) + 1
    net.ports[2][new] = PortInfo(new, f"s2-eth{new}", "0a:00:00:00:02:99")
    net.call(lambda: net.core.on_port_status(2, net.port_info(2, new), net.now))
    assert new in [e.match.in_port for e in entries(net, 2, PRIORITY_PORT_MISS)]
    assert net.meters[2][new].rate_pps == 50
    net.call(lambda: net.core.on_port_status(2, net.port_info(2, new), net.now, deleted=True))
    assert new not in [e.match.in_port for e in entries(net, 2, PRIORITY_PORT_MISS)]
    assert new not in net.core.meters.metered[2]


def test_a_switch_that_refuses_a_meter_is_left_consistently_unmetered():
    net = FakeNetwork(spec.linear(2).to_networkx(), config=Config(packet_in_rate=RATE))
    accept = net._set_meter

    def out_of_meters(msg: MeterSet) -> None:
        if msg.dpid == 2 and msg.meter_id > 1:
            net._queue.append(_Error(2, 0, 12, 4))  # OFPMMFC_OUT_OF_METERS
        else:
            accept(msg)

    net._set_meter = out_of_meters  # type: ignore[method-assign]
    net.discover()
    net.announce_all()
    assert net.core.meters.state[2] == MeterState.FAILED
    assert entries(net, 2, PRIORITY_PORT_MISS) == []  # port 1's entry removed too
    assert len(entries(net, 1, PRIORITY_PORT_MISS)) == len(net.ports[1])
    assert net.counters.miss_meters_failed == 1
    assert net.deliver("h1", "h2") and net.deliver("h2", "h1")


def test_the_operator_view_shows_each_switchs_meters_and_metered_entries():
    net = two_hosts_on_s1()
    view = ControllerView(net.core)
    topo = get_topology(ApiContext(view), None, {}).body  # type: ignore[arg-type]
    meters = {s["dpid"]: s["miss_meters"] for s in topo["switches"]}
    assert meters[f"{1:016x}"] == {
        "state": "on",
        "ports": sorted(net.ports[1]),
        "rate_pps": 50,
        "burst": 100,
    }
    misses = [f for f in view.flows(1) if f.purpose == "table-miss"]
    assert [(f.flow.match.in_port, f.flow.meter_id) for f in misses] == [
        (None, None),
        *((p, p) for p in sorted(net.ports[1])),
    ]
    rendered = [flow_json(f) for f in misses]
    assert rendered[1]["actions"] == ["METER:1", "CONTROLLER"]
    assert rendered[1]["match"] == {"in_port": 1}


def test_switch_up_clears_what_an_earlier_run_left_and_a_switch_gone_is_forgotten():
    meters = MissMeters(Config(packet_in_rate=10.5))
    assert (meters.rate, meters.burst) == (11, 22)
    assert meters.switch_up(5) == [FlowDelete(5, COOKIE_PORT_MISS), MeterFeaturesRequest(5)]
    sent = meters.on_features(5, [OVS_METER_FEATURES], [1, 2, 0xFFFFFFFE])
    assert sent[2] == port_miss_entry(5, 1) and len(sent) == 6  # LOCAL is never metered
    assert meters.on_features(5, [OVS_METER_FEATURES], [1]) == []  # a second reply
    assert meters.on_error(5, 2, 1) is None  # not about meters
    meters.switch_down(5)
    assert meters.state == {} and meters.meter_id(5, 1) is None and meters.entries(5) == []
    off = MissMeters(Config(miss_meters=False))
    assert off.switch_up(5) == [FlowDelete(5, COOKIE_PORT_MISS)]


def test_can_meter_needs_a_packet_rate_drop_band():
    assert can_meter(OVS_METER_FEATURES)
    assert not can_meter(dataclasses.replace(OVS_METER_FEATURES, band_types=1 << 2))
    assert not can_meter(dataclasses.replace(OVS_METER_FEATURES, max_meter=0))
    assert not can_meter(dataclasses.replace(OVS_METER_FEATURES, max_bands=0))


def test_miss_meters_is_validated_with_its_name():
    with pytest.raises(ConfigError, match="miss_meters"):
        config_from_mapping({"miss_meters": 1})
