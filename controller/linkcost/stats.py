"""Port counters -> rates: bit/s, packet/s, drops and errors per (switch, port).

Each poll gives cumulative counters; a rate is the difference to the previous sample
over the time between them. Rates are also smoothed (EWMA) and a short history is
kept per port (bounded), for the link-cost features. Counter resets (a switch
reconnect) start the port afresh instead of producing negative rates.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from controller.linkcost.rings import PortRing
from controller.southbound.messages import PortCounters

__all__ = ["PortCounters", "PortRates", "PortTraffic", "TrafficStats"]

HISTORY = 16  # rate samples kept per port
EWMA_ALPHA = 0.3


class PortRates(NamedTuple):
    """Rates over one polling interval (a tuple: thousands are made every round)."""

    at: float
    tx_bps: float
    rx_bps: float
    tx_pps: float
    rx_pps: float
    drops_ps: float
    errors_ps: float


@dataclass
class PortTraffic:
    last: PortCounters | None = None
    last_at: float = 0.0
    current: PortRates | None = None
    ewma_tx_bps: float = 0.0
    history: deque[PortRates] = field(default_factory=lambda: deque(maxlen=HISTORY))


class TrafficStats:
    """Rates per (dpid, port) from successive port-stats replies."""

    def __init__(self) -> None:
        self.ports: dict[tuple[int, int], PortTraffic] = {}
        self.ring = PortRing(HISTORY)
        """The same rate samples as arrays, for the cost round (controller.linkcost.batch)."""

    def update(self, dpid: int, counters: list[PortCounters], now: float) -> list[int]:
        """Feed one reply; returns the ports whose rates were (re)computed."""
        updated = []
        for c in counters:
            t = self.ports.setdefault((dpid, c.port_no), PortTraffic())
            prev, dt = t.last, now - t.last_at
            t.last, t.last_at = c, now
            if prev is None or dt <= 0:
                continue
            deltas = [
                c.tx_bytes - prev.tx_bytes,
                c.rx_bytes - prev.rx_bytes,
                c.tx_packets - prev.tx_packets,
                c.rx_packets - prev.rx_packets,
                (c.tx_dropped + c.rx_dropped) - (prev.tx_dropped + prev.rx_dropped),
                (c.tx_errors + c.rx_errors) - (prev.tx_errors + prev.rx_errors),
            ]
            if any(d < 0 for d in deltas):
                continue  # counters were reset: this sample starts the port afresh
            rates = PortRates(
                now,
                8 * deltas[0] / dt,
                8 * deltas[1] / dt,
                deltas[2] / dt,
                deltas[3] / dt,
                deltas[4] / dt,
                deltas[5] / dt,
            )
            first = t.current is None
            t.current = rates
            t.ewma_tx_bps = (
                rates.tx_bps
                if first
                else (EWMA_ALPHA * rates.tx_bps + (1 - EWMA_ALPHA) * t.ewma_tx_bps)
            )
            t.history.append(rates)
            self.ring.push_rates((dpid, c.port_no), rates, t.ewma_tx_bps)
            updated.append(c.port_no)
        return updated

    def get(self, dpid: int, port: int) -> PortTraffic | None:
        return self.ports.get((dpid, port))

    def forget_switch(self, dpid: int) -> None:
        gone = [k for k in self.ports if k[0] == dpid]
        for key in gone:
            del self.ports[key]
        self.ring.forget(gone)
