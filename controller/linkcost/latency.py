"""One-way link delay from timestamped LLDP probes and echo round trips.

An LLDP probe leaves the controller at ``sent_at``, is sent out of switch A's port,
crosses the link (and any queue on A's egress port), enters switch B and comes back to
the controller as a packet-in at ``now``. Its travel time is

    travel = rtt_A / 2 + link delay + rtt_B / 2

where ``rtt_X`` is the control-channel round trip to switch X, measured with OpenFlow
echo requests. So ``link delay = travel - rtt_A/2 - rtt_B/2``, clamped at zero and
smoothed (EWMA). On a shaped, congested link the probe waits in the egress queue
behind the data, so the estimate rises with the queue.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from controller.network.model import LinkKey

EWMA_ALPHA = 0.5
_ECHO = struct.Struct("!8sd")
ECHO_MAGIC = b"sdnlat01"


def echo_payload(sent_at: float) -> bytes:
    """Data for an echo request that lets the reply tell when it was sent."""
    return _ECHO.pack(ECHO_MAGIC, sent_at)


def echo_sent_at(data: bytes) -> float | None:
    """The send time carried by one of our echo replies (None for anyone else's)."""
    if len(data) != _ECHO.size:
        return None
    magic, sent_at = _ECHO.unpack(data)
    return sent_at if magic == ECHO_MAGIC else None


@dataclass
class LatencyEstimator:
    """Per-switch control RTTs and per-link one-way delays, both smoothed."""

    alpha: float = EWMA_ALPHA
    rtt_s: dict[int, float] = field(default_factory=dict)
    link_ms: dict[LinkKey, float] = field(default_factory=dict)
    samples: dict[LinkKey, int] = field(default_factory=dict)

    def on_echo_reply(self, dpid: int, sent_at: float, now: float) -> float | None:
        rtt = now - sent_at
        if rtt < 0:
            return None
        old = self.rtt_s.get(dpid)
        self.rtt_s[dpid] = rtt if old is None else self.alpha * rtt + (1 - self.alpha) * old
        return self.rtt_s[dpid]

    def on_probe(self, key: LinkKey, sent_at: float, now: float) -> float | None:
        """A probe crossed ``key``; returns the smoothed delay in ms (None until both
        switches' RTTs are known)."""
        rtt_a, rtt_b = self.rtt_s.get(key.src), self.rtt_s.get(key.dst)
        travel = now - sent_at
        if rtt_a is None or rtt_b is None or travel < 0:
            return None
        sample_ms = max(0.0, travel - rtt_a / 2 - rtt_b / 2) * 1000.0
        old = self.link_ms.get(key)
        value = sample_ms if old is None else self.alpha * sample_ms + (1 - self.alpha) * old
        self.link_ms[key] = value
        self.samples[key] = self.samples.get(key, 0) + 1
        return value

    def forget_switch(self, dpid: int) -> None:
        self.rtt_s.pop(dpid, None)
        for key in [k for k in self.link_ms if dpid in (k.src, k.dst)]:
            del self.link_ms[key]
            self.samples.pop(key, None)

    def forget_link(self, key: LinkKey) -> None:
        self.link_ms.pop(key, None)
        self.samples.pop(key, None)
