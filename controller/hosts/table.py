"""Host tracking: MAC, IPv4 and attachment point, learned on access ports only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Host:
    mac: str
    dpid: int
    port: int
    ipv4: str | None = None
    last_seen: float = 0.0


@dataclass(frozen=True)
class HostMove:
    """A known host appeared at another attachment point."""

    mac: str
    old: tuple[int, int]
    new: tuple[int, int]


class HostTable:
    """MAC -> Host, with an IPv4 index. The caller decides which ports are access ports."""

    def __init__(self) -> None:
        self._by_mac: dict[str, Host] = {}
        self._by_ip: dict[str, str] = {}
        self._by_port: dict[tuple[int, int], set[str]] = {}
        self._frame_at: dict[tuple[int, int], float] = {}
        """When a host frame last came in at a port with hosts (keys: ``_by_port``'s)."""

    def learn(
        self, mac: str, dpid: int, port: int, now: float, ipv4: str | None = None
    ) -> HostMove | None:
        """Record ``mac`` at (dpid, port); returns a :class:`HostMove` when it moved."""
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
        host.last_seen = now
        self._frame_at[(dpid, port)] = now
        if ipv4 and ipv4 != "0.0.0.0":
            if host.ipv4 and host.ipv4 != ipv4 and self._by_ip.get(host.ipv4) == mac:
                del self._by_ip[host.ipv4]
            previous_owner = self._by_ip.get(ipv4)
            if previous_owner and previous_owner != mac and previous_owner in self._by_mac:
                self._by_mac[previous_owner].ipv4 = None
            host.ipv4 = ipv4
            self._by_ip[ipv4] = mac
        return move

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
