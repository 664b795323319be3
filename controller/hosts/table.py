"""Host tracking: MAC, IPv4 and attachment point, learned on access ports only.

IPv4 bindings are first come: an address stays with the MAC that claimed it (in its
own ARP) until that host is forgotten, and static bindings (configuration) never change;
a later claim is refused. So proxy ARP answers only from bindings nobody could take over.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Host:
    mac: str
    dpid: int
    port: int
    ipv4: str | None = None
    last_seen: float = 0.0
    """Last sign of life (a frame, or traffic on its routes): for aging."""
    last_frame: float = 0.0
    """Last frame from it that reached the controller (at its current port)."""


@dataclass(frozen=True)
class HostMove:
    """A known host appeared at another attachment point."""

    mac: str
    old: tuple[int, int]
    new: tuple[int, int]


class HostTable:
    """MAC -> Host, with an IPv4 index. The caller decides which ports are access ports."""

    def __init__(self, static: dict[str, str] | None = None) -> None:
        self._by_mac: dict[str, Host] = {}
        self._by_ip: dict[str, str] = {}
        self.static = {ip: mac.lower() for ip, mac in (static or {}).items()}
        """IPv4 -> MAC bindings that never change."""
        self._by_port: dict[tuple[int, int], set[str]] = {}
        self._frame_at: dict[tuple[int, int], float] = {}
        """When a host frame last came in at a port with hosts (keys: ``_by_port``'s)."""

    def learn(
        self, mac: str, dpid: int, port: int, now: float, ipv4: str | None = None
    ) -> HostMove | None:
        """Record ``mac`` at (dpid, port) (and claim ``ipv4`` for it, see ``bind``);
        returns a :class:`HostMove` when it moved."""
        mac = mac.lower()
        host = self._by_mac.get(mac)
        move = None
        if host is None:
            host = Host(mac, dpid, port, last_seen=now)
            self._by_mac[mac] = host
            self._by_port.setdefault((dpid, port), set()).add(mac)
        elif (host.dpid, host.port) != (dpid, port):
            move = HostMove(mac, (host.dpid, host.port), (dpid, port))
            self._unindex(host)
            host.dpid, host.port = dpid, port
            self._by_port.setdefault((dpid, port), set()).add(mac)
        host.last_seen = host.last_frame = now
        self._frame_at[(dpid, port)] = now
        if ipv4:
            self.bind(mac, ipv4)
        return move

    def may_bind(self, mac: str, ipv4: str) -> bool:
        """Would ``bind`` accept: the address is free, already this MAC's, or statically
        this MAC's (0.0.0.0, a probe's sender, binds nothing and is no claim)."""
        mac = mac.lower()
        if ipv4 == "0.0.0.0":
            return True
        static = self.static.get(ipv4)
        if static is not None:
            return static == mac
        owner = self._by_ip.get(ipv4)
        return owner is None or owner == mac or owner not in self._by_mac

    def bind(self, mac: str, ipv4: str) -> bool:
        """Give ``ipv4`` to a known ``mac`` if ``may_bind``; its previous address is freed."""
        mac = mac.lower()
        host = self._by_mac.get(mac)
        if host is None or ipv4 == "0.0.0.0" or not self.may_bind(mac, ipv4):
            return False
        if host.ipv4 and host.ipv4 != ipv4 and self._by_ip.get(host.ipv4) == mac:
            del self._by_ip[host.ipv4]
        host.ipv4 = ipv4
        self._by_ip[ipv4] = mac
        return True

    def mac_for_ip(self, ipv4: str) -> str | None:
        """The MAC bound to ``ipv4`` (static first), for proxy ARP."""
        return self.static.get(ipv4) or self._by_ip.get(ipv4)

    def count_at(self, dpid: int, port: int) -> int:
        return len(self._by_port.get((dpid, port), ()))

    def by_mac(self, mac: str) -> Host | None:
        return self._by_mac.get(mac.lower())

    def by_ip(self, ipv4: str) -> Host | None:
        mac = self._by_ip.get(ipv4)
        return self._by_mac.get(mac) if mac else None

    def at(self, dpid: int, port: int) -> list[Host]:
        return [self._by_mac[m] for m in sorted(self._by_port.get((dpid, port), ()))]

    def frame_at(self, dpid: int, port: int) -> float | None:
        """When a host frame last came in at (dpid, port), while hosts are known there."""
        return self._frame_at.get((dpid, port))

    def any_at(self, dpid: int, port: int) -> bool:
        """Is any host attached at (dpid, port)? Constant time (called per LLDP probe)."""
        return (dpid, port) in self._by_port

    def _unindex(self, host: Host) -> None:
        macs = self._by_port.get((host.dpid, host.port))
        if macs is not None:
            macs.discard(host.mac)
            if not macs:
                del self._by_port[(host.dpid, host.port)]
                self._frame_at.pop((host.dpid, host.port), None)

    def forget(self, mac: str) -> None:
        host = self._by_mac.pop(mac.lower(), None)
        if host is not None:
            self._unindex(host)
        if host and host.ipv4 and self._by_ip.get(host.ipv4) == host.mac:
            del self._by_ip[host.ipv4]

    def forget_at(self, dpid: int, port: int | None = None) -> list[str]:
        """Forget hosts on a switch (or one port of it): e.g. it turned out to be a link port."""
        if port is not None:
            gone = sorted(self._by_port.get((dpid, port), ()))
        else:
            gone = [h.mac for h in self._by_mac.values() if h.dpid == dpid]
        for mac in gone:
            self.forget(mac)
        return gone

    def all(self) -> list[Host]:
        return sorted(self._by_mac.values(), key=lambda h: h.mac)

    def __len__(self) -> int:
        return len(self._by_mac)
