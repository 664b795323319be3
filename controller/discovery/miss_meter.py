"""OpenFlow meters on table misses: a host flood is cut in its switch, port by port.

The packet-in token buckets (:mod:`controller.southbound.ratelimit`) bound what the
controller *reads*; a host flooding new destinations still makes its switch encode, and
the controller receive and frame, every packet-in. Where a switch has meters, each of its
ports gets a table-miss entry of its own (match ``in_port``, priority
``PRIORITY_PORT_MISS``, cookie ``COOKIE_PORT_MISS``) through a meter of its own (id: the
port number): one drop band at ``packet_in_rate`` packets per second, burst twice that,
the same bound the controller applies. So the excess is dropped in the switch, and one
flooding port never uses up another port's share (one meter per switch would). The
priority-0 table-miss entry stays, unmetered, for ports without a meter; the LLDP entry
is never metered, so a flood never delays our probes there.

Per switch, at every switch up: delete the per-port entries an earlier run left (misses
fall through to the priority-0 entry meanwhile) and ask for the switch's METER_FEATURES.
A reply offering pktps drop bands: per port, add the meter, modify it (the add fails with
METER_EXISTS when an earlier run left one; the modify sets our rate either way) and add
its entry; ports added later get theirs at once, deleted ones lose it. A switch without
meters answers with no such features (or an error) and is left as it was. A meter error
from a metered switch removes all its per-port entries (so it is consistently unmetered)
and is reported. State is kept for connected switches only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.config import Config
from controller.southbound.messages import (
    COOKIE_PORT_MISS,
    FULL_MASK,
    OFPP_CONTROLLER,
    FlowAdd,
    FlowDelete,
    Match,
    Message,
    MeterFeatures,
    MeterFeaturesRequest,
    MeterSet,
)

PRIORITY_PORT_MISS = 1
U32_MAX = 0xFFFF_FFFF  # meter rates and bursts are 32-bit
OFPMBT_DROP = 1
OFPMF_PKTPS = 1 << 1
OFPET_BAD_REQUEST, OFPET_BAD_INSTRUCTION, OFPET_METER_MOD_FAILED = 1, 3, 12
OFPMMFC_METER_EXISTS = 1


class MeterState:
    OFF = "off"  # miss_meters = false
    ASKED = "asked"  # METER_FEATURES requested, no answer yet
    UNSUPPORTED = "unsupported"  # no meters, or none that drop by packet rate
    ON = "on"  # ports metered
    FAILED = "failed"  # the switch refused a meter: no port is metered


@dataclass
class MeterCounters:
    miss_meters_on: int = 0
    """Switches whose ports were metered (set-ups, counted at each switch up)."""
    miss_meters_unsupported: int = 0
    miss_meters_failed: int = 0


@dataclass(frozen=True)
class MeterError:
    """What a switch's error meant for its meters: ``expected`` (nothing is wrong), and
    what to send now."""

    expected: bool
    messages: list[Message] = field(default_factory=list)


def can_meter(f: MeterFeatures) -> bool:
    """Has the switch meters that drop by packet rate?"""
    return (
        f.max_meter >= 1
        and f.max_bands >= 1
        and bool(f.band_types & (1 << OFPMBT_DROP))
        and bool(f.capabilities & OFPMF_PKTPS)
    )


def port_miss_entry(dpid: int, port_no: int) -> FlowAdd:
    """Port ``port_no``'s table-miss entry, through meter ``port_no``."""
    match = Match(in_port=port_no)
    return FlowAdd(
        dpid, match, OFPP_CONTROLLER, PRIORITY_PORT_MISS, COOKIE_PORT_MISS, meter_id=port_no
    )


class MissMeters:
    def __init__(self, config: Config) -> None:
        self.enabled = config.miss_meters
        self.rate = min(max(1, math.ceil(config.packet_in_rate)), U32_MAX)
        self.burst = min(2 * self.rate, U32_MAX)
        self.state: dict[int, str] = {}
        self.max_meter: dict[int, int] = {}
        self.metered: dict[int, set[int]] = {}
        """Per switch, the ports whose metered entry was sent."""
        self.counters = MeterCounters()

    def switch_up(self, dpid: int) -> list[Message]:
        """A switch connected: remove what an earlier run metered, ask for its meters."""
        self.switch_down(dpid)
        clear = FlowDelete(dpid, COOKIE_PORT_MISS, FULL_MASK)
        if not self.enabled:
            self.state[dpid] = MeterState.OFF
            return [clear]
        self.state[dpid] = MeterState.ASKED
        return [clear, MeterFeaturesRequest(dpid)]

    def switch_down(self, dpid: int) -> None:
        self.state.pop(dpid, None)
        self.max_meter.pop(dpid, None)
        self.metered.pop(dpid, None)

    def meter_id(self, dpid: int, port_no: int) -> int | None:
        """The meter port ``port_no``'s table misses go through now, if any."""
        return port_no if port_no in self.metered.get(dpid, ()) else None

    def entries(self, dpid: int) -> list[FlowAdd]:
        """The per-port entries the switch holds now (for the operator view)."""
        return [port_miss_entry(dpid, p) for p in sorted(self.metered.get(dpid, ()))]

    def on_features(
        self, dpid: int, features: list[MeterFeatures], ports: Iterable[int]
    ) -> list[Message]:
        """The switch's METER_FEATURES reply (one nobody asked for changes nothing)."""
        if self.state.get(dpid) != MeterState.ASKED:
            return []
        if not features or not can_meter(features[0]):
            self.state[dpid] = MeterState.UNSUPPORTED
            self.counters.miss_meters_unsupported += 1
            return []
        self.state[dpid] = MeterState.ON
        self.max_meter[dpid] = features[0].max_meter
        self.metered[dpid] = set()
        self.counters.miss_meters_on += 1
        return [m for p in sorted(ports) for m in self.port_added(dpid, p)]

    def port_added(self, dpid: int, port_no: int) -> list[Message]:
        """A port of the switch appeared (or was there at switch up): meter it."""
        metered = self.metered.get(dpid)
        if metered is None or port_no in metered or not 1 <= port_no <= self.max_meter[dpid]:
            return []
        metered.add(port_no)
        return [
            MeterSet(dpid, port_no, self.rate, self.burst),
            MeterSet(dpid, port_no, self.rate, self.burst, modify=True),
            port_miss_entry(dpid, port_no),
        ]

    def port_deleted(self, dpid: int, port_no: int) -> list[Message]:
        metered = self.metered.get(dpid)
        if metered is None or port_no not in metered:
            return []
        metered.discard(port_no)
        entry = port_miss_entry(dpid, port_no)
        return [FlowDelete(dpid, COOKIE_PORT_MISS, FULL_MASK, entry.match, PRIORITY_PORT_MISS)]

    def on_error(self, dpid: int, err_type: int, err_code: int) -> MeterError | None:
        """An error from switch ``dpid``: None when it is not about our meters."""
        state = self.state.get(dpid)
        if state == MeterState.ASKED and err_type == OFPET_BAD_REQUEST:
            # No METER_FEATURES at all (a bad multipart type): a switch without meters.
            self.state[dpid] = MeterState.UNSUPPORTED
            self.counters.miss_meters_unsupported += 1
            return MeterError(expected=True)
        if state != MeterState.ON:
            return None
        if err_type == OFPET_METER_MOD_FAILED and err_code == OFPMMFC_METER_EXISTS:
            return MeterError(expected=True)
        if err_type in (OFPET_METER_MOD_FAILED, OFPET_BAD_INSTRUCTION):
            self.state[dpid] = MeterState.FAILED
            self.metered[dpid] = set()
            self.counters.miss_meters_failed += 1
            return MeterError(False, [FlowDelete(dpid, COOKIE_PORT_MISS, FULL_MASK)])
        return None
