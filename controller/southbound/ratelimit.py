"""Per-(switch, port) token buckets for packet-ins, checked before any parsing.

A host can make its switch send the controller a packet-in for every frame it sends
(10k/s is easy); without a bound, LLDP probes and every other host's first packets wait
behind its backlog (a link direction dropped after ~4 s in the hardening review). Each
known port gets two buckets: one for its host frames, one for LLDP-typed frames (which
only the 2-byte Ethernet type tells apart, so a flood of fake LLDP spends its own
budget, not the probes'). Buckets exist only for ports the switch reported, so the table
is bounded by the real ports, never by values a sender picks.
"""

from __future__ import annotations

from dataclasses import dataclass

ETH_TYPE_LLDP = b"\x88\xcc"
LLDP_PER_PORT = 20.0
"""LLDP-typed frames per port per second (an honest link brings one per probe round)."""


@dataclass
class Bucket:
    tokens: float
    at: float

    def take(self, now: float, rate: float, burst: float) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class PacketInLimiter:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[tuple[int, int, bool], Bucket] = {}
        self.dropped = 0

    def allow(self, dpid: int, port: int, data: bytes, now: float) -> bool:
        """May this packet-in from (dpid, port) be looked at? (Call only for known ports.)"""
        lldp = data[12:14] == ETH_TYPE_LLDP
        rate, burst = (LLDP_PER_PORT, 2 * LLDP_PER_PORT) if lldp else (self.rate, self.burst)
        key = (dpid, port, lldp)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(burst, now)
        if bucket.take(now, rate, burst):
            return True
        self.dropped += 1
        return False

    def forget(self, dpid: int, port: int | None = None) -> None:
        """A switch (or one of its ports) is gone: its buckets go too."""
        if port is not None:  # a port's two buckets, directly (port deletes may come often)
            self._buckets.pop((dpid, port, False), None)
            self._buckets.pop((dpid, port, True), None)
            return
        for key in [k for k in self._buckets if k[0] == dpid]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
