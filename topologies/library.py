"""Mininet topologies for exercising the controller, built from ``topologies.spec``.

Use from the command line (``mn --custom`` can exec this file as a script):

    mn --custom topologies/library.py --topo ring,6 --switch ovs,datapath=user \\
       --controller remote,ip=127.0.0.1

or from Python: ``build_topo("fattree,4")``, or ``CapacityTopo(spec)`` for any
``TopologySpec``.

Every topology is defined once, in ``topologies.spec`` (switches, links and capacities,
hosts and their addresses, shaping); this module only turns a spec into a Mininet
``Topo``:

* Switch with dpid N is named ``sN`` and carries an explicit 16-hex-digit ``dpid``
  (Mininet would otherwise derive dpids from the digits of the name). Roles (core,
  aggregation, ...) and city names stay on the spec, see ``switch_role`` and
  ``switch_label``, not in the switch name.
* Hosts keep the spec's names (``h1..hM``), IPs and MACs.
* Host links are added before switch-switch links (in the spec's order), so on a switch
  with one host that host is on port 1. The switch emulator numbers ports the same way.
* ``link_capacities_bps()`` gives every switch link's nominal capacity both ways. Links
  are shaped (``TCLink``, htb, ``bw`` in Mbit/s) only when the spec is shaped;
  ``shaped_capacities_bps()`` then gives the enforced rates. Host links are never shaped.

``mn --custom`` executes this file with only ``mn``'s own directory on ``sys.path``, so
the project root is added when ``topologies`` cannot be imported otherwise. ``mn`` also
copies every module-level name into its own globals, so avoid names that ``mn`` uses
(``Link``, ``Host``, ``CLI``, ``info``, ``hosts``, ``switches``, ``links``, ``tests`` ...).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from mininet.link import TCLink
from mininet.topo import Topo


def _make_project_importable() -> None:
    """Put the project root on sys.path if ``topologies`` is not importable (``mn
    --custom``); this file's own path comes from its code object, as ``mn`` sets no
    ``__file__``."""
    if importlib.util.find_spec("topologies") is None:
        here = Path(_make_project_importable.__code__.co_filename).resolve()
        sys.path.append(str(here.parents[1]))


_make_project_importable()

from topologies import spec as topology_spec  # noqa: E402
from topologies.spec import (  # noqa: E402  (re-exported for callers of this module)
    DEFAULT_SYNTHETIC_MBPS,
    HTB_MAX_MBPS,
    OC192_BPS,
    T1_BPS,
    TopologySpec,
    build_from_text,
    host_ip,
    host_mac,
    mesh_links,
)

__all__ = [
    "DEFAULT_SYNTHETIC_MBPS",
    "HTB_MAX_MBPS",
    "OC192_BPS",
    "T1_BPS",
    "TOPOLOGY_NAMES",
    "AbileneTopo",
    "BalancedTreeTopo",
    "CapacityTopo",
    "ChainTopo",
    "FatTreeTopo",
    "NsfnetTopo",
    "PartialMeshTopo",
    "RingTopo",
    "TopologySpec",
    "TwoPathTopo",
    "build_topo",
    "host_ip",
    "host_mac",
    "mesh_links",
    "topos",
]


class CapacityTopo(Topo):
    """A Mininet topology built from a ``TopologySpec``, with its switches' dpids and its
    links' capacities. ``CapacityTopo(spec)`` builds any spec; each subclass below takes
    the arguments of one spec builder instead (what ``mn --topo name,args`` passes)."""

    spec_builder: ClassVar[Callable[..., TopologySpec] | None] = None
    spec: TopologySpec

    def __init__(self, *args: Any, **params: Any) -> None:
        # Topo.__init__ calls build(), so the bookkeeping must exist before it.
        self._dpids: dict[str, int] = {}
        self._capacity_bps: dict[tuple[str, str], int] = {}
        self._shaped_bps: dict[tuple[str, str], int] = {}
        super().__init__(*args, **params)

    def build(self, *args: Any, **params: Any) -> None:
        builder = type(self).spec_builder
        if builder is not None:
            spec = builder(*args, **params)
        elif len(args) == 1 and not params and isinstance(args[0], TopologySpec):
            spec = args[0]
        else:
            raise TypeError(f"{type(self).__name__} takes one TopologySpec")
        self.spec = spec
        names: dict[int, str] = {}
        for dpid in spec.switches:
            names[dpid] = self.addSwitch(f"s{dpid}", dpid=f"{dpid:016x}")
            self._dpids[names[dpid]] = dpid
        for host in spec.hosts:
            self.addHost(host.name, ip=host.ip, mac=host.mac)
            self.addLink(host.name, names[host.dpid])
        for link in spec.links:
            a, b = names[link.a], names[link.b]
            rate_mbps = spec.shaped_rate_mbps(link)
            if rate_mbps is None:
                self.addLink(a, b)
            else:
                self.addLink(a, b, cls=TCLink, bw=rate_mbps)
                self._record(self._shaped_bps, a, b, round(rate_mbps * 1_000_000))
            self._record(self._capacity_bps, a, b, link.capacity_bps)

    @staticmethod
    def _record(table: dict[tuple[str, str], int], a: str, b: str, bps: int) -> None:
        """Both directions; parallel links must agree, as the table is per switch pair."""
        if table.get((a, b), bps) != bps:
            raise ValueError(f"parallel links {a}-{b} with different rates")
        table[(a, b)] = table[(b, a)] = bps

    # -- public queries ----------------------------------------------------------------

    def dpid_of(self, name: str) -> int:
        """Datapath id of switch ``name``."""
        try:
            return self._dpids[name]
        except KeyError:
            raise KeyError(f"no switch named {name!r} in {type(self).__name__}") from None

    def link_capacities_bps(self) -> dict[tuple[str, str], int]:
        """Nominal capacity of every switch-switch link, keyed (a, b) and (b, a), in bit/s."""
        return dict(self._capacity_bps)

    def shaped_capacities_bps(self) -> dict[tuple[str, str], int]:
        """Rate htb enforces on each switch-switch link, both directions; empty if unshaped."""
        return dict(self._shaped_bps)

    def switch_role(self, name: str) -> str:
        """Role of a switch in a structured topology (e.g. 'core', 'edge'); '' if none."""
        return self.spec.role_of(self.dpid_of(name))

    def switch_label(self, name: str) -> str:
        """Human name of a switch (a city for research networks); '' if none."""
        return self.spec.label_of(self.dpid_of(name))


class ChainTopo(CapacityTopo):
    """``linear,N``: see ``topologies.spec.linear``."""

    spec_builder = topology_spec.linear


class RingTopo(CapacityTopo):
    """``ring,N``: see ``topologies.spec.ring``."""

    spec_builder = topology_spec.ring


class PartialMeshTopo(CapacityTopo):
    """``mesh,N``: see ``topologies.spec.mesh``."""

    spec_builder = topology_spec.mesh


class BalancedTreeTopo(CapacityTopo):
    """``tree,depth,fanout``: see ``topologies.spec.tree``."""

    spec_builder = topology_spec.tree


class FatTreeTopo(CapacityTopo):
    """``fattree,k``: see ``topologies.spec.fattree``."""

    spec_builder = topology_spec.fattree


class TwoPathTopo(CapacityTopo):
    """``twopath[,bw[,long_middle[,long_bw]]]``: see ``topologies.spec.twopath``."""

    spec_builder = topology_spec.twopath


class AbileneTopo(CapacityTopo):
    """``abilene``: see ``topologies.spec.abilene``."""

    spec_builder = topology_spec.abilene


class NsfnetTopo(CapacityTopo):
    """``nsfnet``: see ``topologies.spec.nsfnet``."""

    spec_builder = topology_spec.nsfnet


# What `mn --custom topologies/library.py --topo <name>,<args>` looks up. The spec's
# ``random`` graphs are for the switch emulator; build one with CapacityTopo(spec).
topos: dict[str, type[CapacityTopo]] = {
    "linear": ChainTopo,
    "ring": RingTopo,
    "mesh": PartialMeshTopo,
    "tree": BalancedTreeTopo,
    "fattree": FatTreeTopo,
    "twopath": TwoPathTopo,
    "abilene": AbileneTopo,
    "nsfnet": NsfnetTopo,
}

TOPOLOGY_NAMES: tuple[str, ...] = tuple(topos)


def build_topo(spec: str) -> CapacityTopo:
    """Build a topology from an ``mn``-style spec: "ring,6", "fattree,4", "twopath",
    "twopath,20", "abilene,shaped=true,scale=0.01".

    Raises ValueError naming the bad name or arguments (and the valid names)."""
    return build_from_text(spec, topos)
