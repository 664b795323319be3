"""MAC learning for a loop-free network: the plain logic behind the minimal app.

Kept free of Ryu imports so that it can be unit-tested without a switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FLOOD = -1  # sentinel "port": flood out of every port but the ingress one


def is_multicast(mac: str) -> bool:
    """True for broadcast and multicast MACs (group bit set in the first octet)."""
    return bool(int(mac.split(":")[0], 16) & 1)


@dataclass(frozen=True)
class Forward:
    """What to do with one packet: send it out of ``out_port`` (or flood), maybe install a flow."""

    out_port: int
    install: bool


@dataclass
class MacTable:
    """Per-switch MAC -> port table."""

    ports: dict[int, dict[str, int]] = field(default_factory=dict)

    def learn(self, dpid: int, mac: str, port: int) -> None:
        if not is_multicast(mac):
            self.ports.setdefault(dpid, {})[mac] = port

    def lookup(self, dpid: int, mac: str) -> int | None:
        return self.ports.get(dpid, {}).get(mac)

    def forget_switch(self, dpid: int) -> None:
        self.ports.pop(dpid, None)

    def decide(self, dpid: int, in_port: int, src: str, dst: str) -> Forward:
        """Learn ``src`` and decide where a packet to ``dst`` goes."""
        self.learn(dpid, src, in_port)
        port = None if is_multicast(dst) else self.lookup(dpid, dst)
        if port is None or port == in_port:
            return Forward(FLOOD, install=False)
        return Forward(port, install=True)
