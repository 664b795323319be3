"""Mininet topologies for exercising the controller, with known link capacities.

Use from the command line (the file is self-contained, so ``mn --custom`` can exec it):

    mn --custom topologies/library.py --topo ring,6 --switch ovs,datapath=user \\
       --controller remote,ip=127.0.0.1

or from Python: ``build_topo("fattree,4")``.

Conventions shared by every topology here:

* Switches are named ``s1..sN`` and carry an explicit 16-hex-digit ``dpid`` equal to N
  (Mininet would otherwise derive dpids from the digits of the name). Roles (core,
  aggregation, ...) and city names are kept on the topology, see ``switch_role`` and
  ``switch_label``, not in the switch name.
* Hosts are named ``h1..hM``; host n gets IP ``10.x.y.z/8`` and MAC ``00:00:00:xx:yy:zz``
  where x.y.z are the three low bytes of n (so h1 = 10.0.0.1, 00:00:00:00:00:01).
* Host links are added before switch-switch links, so on a switch with one host that
  host is on port 1.
* Every switch-switch link has a nominal capacity, available both ways from
  ``link_capacities_bps()``. Links are shaped (``TCLink``, htb, ``bw`` in Mbit/s) only
  when the topology is built with ``shaped=True``; ``shaped_capacities_bps()`` then gives
  the enforced rates. Host links are never shaped.
* Mininet's htb shaping accepts at most 1000 Mbit/s, so the research networks scale
  their real capacities by ``scale`` when shaped; ``link_capacities_bps()`` always
  reports the real (unscaled) capacities.

Keep this file free of relative imports and of imports from the rest of the project:
``mn --custom`` executes it as a plain script. It also copies every module-level name
into ``mn``'s own globals, so avoid names that ``mn`` uses (``Link``, ``CLI``, ``info``,
``hosts``, ``switches``, ``links``, ``tests`` ...).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from mininet.link import TCLink
from mininet.topo import Topo

# Mininet's TCIntf refuses (and then silently ignores) bw above this, in Mbit/s.
HTB_MAX_MBPS = 1000.0

# Nominal capacity of the emulated (synthetic) topologies' switch-switch links, in Mbit/s.
# Unshaped veth pairs on the project's reference machine measured ~950 Mbit/s, so 1 Gbit/s
# is the honest nominal figure when nothing is shaped.
DEFAULT_SYNTHETIC_MBPS = 1000.0

OC192_BPS = 9_953_280_000  # SONET OC-192 line rate
T1_BPS = 1_544_000  # DS1 / T1 line rate


def _as_int(value: Any, name: str, minimum: int) -> int:
    """An integer parameter from Python or from an ``mn --topo`` string, >= minimum."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _as_float(value: Any, name: str) -> float:
    """A positive number parameter from Python or from an ``mn --topo`` string."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


def _as_bool(value: Any, name: str) -> bool:
    """A flag from Python or from ``mn --topo ...,shaped=false`` (which arrives as a string)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _shaping_mbps(capacity_mbps: float, name: str) -> float:
    if capacity_mbps > HTB_MAX_MBPS:
        raise ValueError(
            f"{name}={capacity_mbps:g} Mbit/s cannot be shaped: Mininet's htb shaping "
            f"supports at most {HTB_MAX_MBPS:g} Mbit/s"
        )
    return capacity_mbps


def host_ip(number: int) -> str:
    """IP address (with /8 prefix) of host ``h<number>``; unique for 1 <= number < 2**24 - 1."""
    return f"10.{(number >> 16) & 0xFF}.{(number >> 8) & 0xFF}.{number & 0xFF}/8"


def host_mac(number: int) -> str:
    """MAC address of host ``h<number>``."""
    return f"00:00:00:{(number >> 16) & 0xFF:02x}:{(number >> 8) & 0xFF:02x}:{number & 0xFF:02x}"


class CapacityTopo(Topo):
    """Base class: numbered switches with explicit dpids, numbered hosts, recorded capacities."""

    def __init__(self, *args: Any, **params: Any) -> None:
        # Topo.__init__ calls build(), so the bookkeeping must exist before it.
        self._dpids: dict[str, int] = {}
        self._roles: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._capacity_bps: dict[tuple[str, str], int] = {}
        self._shaped_bps: dict[tuple[str, str], int] = {}
        self._host_count = 0
        super().__init__(*args, **params)

    # -- building blocks for subclasses ------------------------------------------------

    def _add_numbered_switch(self, number: int, role: str = "", label: str = "") -> str:
        name = f"s{number}"
        if name in self._dpids:
            raise ValueError(f"switch {name} added twice")
        self.addSwitch(name, dpid=f"{number:016x}")
        self._dpids[name] = number
        if role:
            self._roles[name] = role
        if label:
            self._labels[name] = label
        return name

    def _add_host_on(self, switch: str) -> str:
        self._host_count += 1
        number = self._host_count
        name = f"h{number}"
        self.addHost(name, ip=host_ip(number), mac=host_mac(number))
        self.addLink(name, switch)
        return name

    def _add_trunk(self, a: str, b: str, capacity_bps: int, shaped_mbps: float | None) -> None:
        """Switch-switch link with a nominal capacity; htb-shaped to shaped_mbps if given."""
        if (a, b) in self._capacity_bps:
            raise ValueError(f"duplicate link {a}-{b}")
        if shaped_mbps is None:
            self.addLink(a, b)
        else:
            self.addLink(a, b, cls=TCLink, bw=shaped_mbps)
            rate = round(shaped_mbps * 1_000_000)
            self._shaped_bps[(a, b)] = rate
            self._shaped_bps[(b, a)] = rate
        self._capacity_bps[(a, b)] = capacity_bps
        self._capacity_bps[(b, a)] = capacity_bps

    def _add_uniform_trunk(self, a: str, b: str, bw_mbps: float, shaped: bool) -> None:
        self._add_trunk(a, b, round(bw_mbps * 1_000_000), bw_mbps if shaped else None)

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
        self.dpid_of(name)
        return self._roles.get(name, "")

    def switch_label(self, name: str) -> str:
        """Human name of a switch (a city for research networks); '' if none."""
        self.dpid_of(name)
        return self._labels.get(name, "")


class ChainTopo(CapacityTopo):
    """``linear,N``: s1 - s2 - ... - sN in a chain, host hi on switch si. No loops."""

    def build(self, n: Any = 2, bw: Any = DEFAULT_SYNTHETIC_MBPS, shaped: Any = False) -> None:
        count = _as_int(n, "n", 1)
        bw_mbps = _as_float(bw, "bw")
        is_shaped = _as_bool(shaped, "shaped")
        if is_shaped:
            _shaping_mbps(bw_mbps, "bw")
        sw = [self._add_numbered_switch(i) for i in range(1, count + 1)]
        for s in sw:
            self._add_host_on(s)
        for a, b in itertools.pairwise(sw):
            self._add_uniform_trunk(a, b, bw_mbps, is_shaped)


class RingTopo(CapacityTopo):
    """``ring,N``: s1 - s2 - ... - sN - s1 (N >= 3), host hi on switch si. One loop."""

    def build(self, n: Any = 4, bw: Any = DEFAULT_SYNTHETIC_MBPS, shaped: Any = False) -> None:
        count = _as_int(n, "n", 3)
        bw_mbps = _as_float(bw, "bw")
        is_shaped = _as_bool(shaped, "shaped")
        if is_shaped:
            _shaping_mbps(bw_mbps, "bw")
        sw = [self._add_numbered_switch(i) for i in range(1, count + 1)]
        for s in sw:
            self._add_host_on(s)
        for i in range(count):
            self._add_uniform_trunk(sw[i], sw[(i + 1) % count], bw_mbps, is_shaped)


def mesh_links(n: int) -> list[tuple[int, int]]:
    """Switch-number pairs of ``mesh,n``: the ring 1-2-...-n-1, plus a chord i-(i+2)
    (numbers wrap past n) for every odd i, skipping a chord that is already a link.

    For n >= 5 that is n ring links + ceil(n/2) chords; n = 4 has one chord (1-3).
    Example n = 6: ring 1-2, 2-3, 3-4, 4-5, 5-6, 6-1 and chords 1-3, 3-5, 5-1.
    The chords give unequal-cost alternatives (s1->s3: 1 hop direct, 2 hops via s2 or s5)
    and equal-cost pairs (s2->s5: s2-s1-s5 and s2-s3-s5; s1->s4: via s3 or via s5).
    """
    if n < 4:
        raise ValueError(f"n must be >= 4, got {n}")
    links: list[tuple[int, int]] = [(i, i % n + 1) for i in range(1, n + 1)]
    seen = {frozenset(link) for link in links}
    for i in range(1, n + 1, 2):
        j = (i + 1) % n + 1  # i + 2, wrapping 1..n
        if frozenset((i, j)) not in seen:
            seen.add(frozenset((i, j)))
            links.append((i, j))
    return links


class PartialMeshTopo(CapacityTopo):
    """``mesh,N`` (N >= 4): a ring plus chords, see ``mesh_links``; host hi on switch si."""

    def build(self, n: Any = 6, bw: Any = DEFAULT_SYNTHETIC_MBPS, shaped: Any = False) -> None:
        count = _as_int(n, "n", 4)
        bw_mbps = _as_float(bw, "bw")
        is_shaped = _as_bool(shaped, "shaped")
        if is_shaped:
            _shaping_mbps(bw_mbps, "bw")
        sw = [self._add_numbered_switch(i) for i in range(1, count + 1)]
        for s in sw:
            self._add_host_on(s)
        for a, b in mesh_links(count):
            self._add_uniform_trunk(sw[a - 1], sw[b - 1], bw_mbps, is_shaped)


class BalancedTreeTopo(CapacityTopo):
    """``tree,depth,fanout``: like Mininet's TreeTopo. Switches are numbered depth-first
    (s1 is the root), each switch has ``fanout`` children, the hosts hang off the
    switches at the last level (fanout**depth hosts, numbered left to right). No loops.
    On every switch the ports to children/hosts come first, the uplink last."""

    def build(
        self,
        depth: Any = 2,
        fanout: Any = 2,
        bw: Any = DEFAULT_SYNTHETIC_MBPS,
        shaped: Any = False,
    ) -> None:
        levels = _as_int(depth, "depth", 1)
        width = _as_int(fanout, "fanout", 1)
        bw_mbps = _as_float(bw, "bw")
        is_shaped = _as_bool(shaped, "shaped")
        if is_shaped:
            _shaping_mbps(bw_mbps, "bw")
        self._next_switch = 1
        self._add_subtree(levels, width, bw_mbps, is_shaped)

    def _add_subtree(self, levels: int, width: int, bw_mbps: float, shaped: bool) -> str:
        number = self._next_switch
        self._next_switch += 1
        role = "root" if number == 1 else ("leaf" if levels == 1 else "inner")
        switch = self._add_numbered_switch(number, role=role)
        for _ in range(width):
            if levels == 1:
                self._add_host_on(switch)
            else:
                child = self._add_subtree(levels - 1, width, bw_mbps, shaped)
                self._add_uniform_trunk(switch, child, bw_mbps, shaped)
        return switch


class FatTreeTopo(CapacityTopo):
    """``fattree,k``: the k-ary fat-tree of Al-Fares, Loukissas and Vahdat, "A Scalable,
    Commodity Data Center Network Architecture", SIGCOMM 2008.

    k even. (k/2)^2 core switches, k pods of k/2 aggregation + k/2 edge switches, k/2
    hosts per edge switch: 5k^2/4 switches, k^3/4 hosts, k^3/2 switch-switch links
    (k=4: 20 switches, 16 hosts, 32 links). Numbering: cores s1..s(k/2)^2, then pod by pod
    its aggregation switches followed by its edge switches. Core switch j (0-based)
    connects to aggregation switch j // (k/2) of every pod; every aggregation switch
    connects to every edge switch of its pod. Edge ports 1..k/2 face hosts, the rest
    face aggregation; aggregation ports 1..k/2 face edge, the rest core; core port p
    faces pod p.
    """

    def build(self, k: Any = 4, bw: Any = DEFAULT_SYNTHETIC_MBPS, shaped: Any = False) -> None:
        arity = _as_int(k, "k", 2)
        if arity % 2:
            raise ValueError(f"k must be even, got {arity}")
        bw_mbps = _as_float(bw, "bw")
        is_shaped = _as_bool(shaped, "shaped")
        if is_shaped:
            _shaping_mbps(bw_mbps, "bw")
        half = arity // 2
        number = 0

        def next_switch(role: str) -> str:
            nonlocal number
            number += 1
            return self._add_numbered_switch(number, role=role)

        cores = [next_switch("core") for _ in range(half * half)]
        pods: list[tuple[list[str], list[str]]] = []
        for _pod in range(arity):
            aggs = [next_switch("aggregation") for _ in range(half)]
            edges = [next_switch("edge") for _ in range(half)]
            pods.append((aggs, edges))
        for _aggs, edges in pods:
            for edge in edges:
                for _ in range(half):
                    self._add_host_on(edge)
        for aggs, edges in pods:
            for edge in edges:
                for agg in aggs:
                    self._add_uniform_trunk(edge, agg, bw_mbps, is_shaped)
        for j, core in enumerate(cores):
            for aggs, _edges in pods:
                self._add_uniform_trunk(aggs[j // half], core, bw_mbps, is_shaped)


class TwoPathTopo(CapacityTopo):
    """``twopath[,bw[,long_middle[,long_bw]]]``: two paths between a left and a right switch,
    for congestion tests.

        h1, h2 - s1 - s2 - s3 - h3, h4                         (short path, 2 hops)
                  \\- s4 - s5 [- s6 ...] -/                     (long path, long_middle+1 hops)

    s1 is the left switch, s2 the short path's middle switch, s3 the right switch,
    s4..s(3+long_middle) the long path's middle switches in order. Hosts h1, h2 on s1
    (ports 1, 2) and h3, h4 on s3 (ports 1, 2). Shaped by default: every switch link is
    ``bw`` Mbit/s (default 10), long-path links ``long_bw`` if given.
    """

    def build(
        self,
        bw: Any = 10,
        long_middle: Any = 2,
        long_bw: Any = None,
        shaped: Any = True,
    ) -> None:
        short_mbps = _as_float(bw, "bw")
        long_mbps = short_mbps if long_bw is None else _as_float(long_bw, "long_bw")
        middle = _as_int(long_middle, "long_middle", 2)
        is_shaped = _as_bool(shaped, "shaped")
        if is_shaped:
            _shaping_mbps(short_mbps, "bw")
            _shaping_mbps(long_mbps, "long_bw")
        left = self._add_numbered_switch(1, role="left")
        mid = self._add_numbered_switch(2, role="short")
        right = self._add_numbered_switch(3, role="right")
        long_path = [self._add_numbered_switch(4 + i, role="long") for i in range(middle)]
        for switch in (left, left, right, right):
            self._add_host_on(switch)
        self._add_uniform_trunk(left, mid, short_mbps, is_shaped)
        self._add_uniform_trunk(mid, right, short_mbps, is_shaped)
        hops = [left, *long_path, right]
        for a, b in itertools.pairwise(hops):
            self._add_uniform_trunk(a, b, long_mbps, is_shaped)


class ResearchNetworkTopo(CapacityTopo):
    """A published network: one switch per node (s1.. in the order of NODES, labelled with
    the city), one host per switch, LINKS with their real capacities in bit/s.

    ``shaped=True`` shapes each link to capacity * ``scale`` (must land in (0, 1000]
    Mbit/s for htb); ``link_capacities_bps()`` keeps reporting the real capacities.
    """

    NODES: tuple[str, ...] = ()
    LINKS: tuple[tuple[str, str, int], ...] = ()
    DEFAULT_SCALE = 1.0

    def build(self, shaped: Any = False, scale: Any = None) -> None:
        is_shaped = _as_bool(shaped, "shaped")
        factor = _as_float(self.DEFAULT_SCALE if scale is None else scale, "scale")
        index = {city: i for i, city in enumerate(self.NODES, start=1)}
        sw = {
            city: self._add_numbered_switch(i, role="pop", label=city) for city, i in index.items()
        }
        for city in self.NODES:
            self._add_host_on(sw[city])
        for a, b, capacity_bps in self.LINKS:
            shaped_mbps = None
            if is_shaped:
                shaped_mbps = _shaping_mbps(capacity_bps * factor / 1_000_000, "capacity*scale")
            self._add_trunk(sw[a], sw[b], capacity_bps, shaped_mbps)


class AbileneTopo(ResearchNetworkTopo):
    """``abilene``: the Internet2 Abilene backbone, 11 PoPs and 14 links, all OC-192c.

    Source: The Internet Topology Zoo (S. Knight et al., IEEE JSAC 29(9), 2011),
    http://www.topology-zoo.org/ , file Abilene.gml (NetworkDate 2005_02, itself from
    http://www.internet2.edu/pubs/200502-IS-AN.pdf); every edge there is LinkType "OC-192".
    Node order below is the GML id order (id 0 = s1). Capacity: OC-192 line rate,
    9.95328 Gbit/s. (SNDlib's "abilene" instance is a different snapshot: 12 nodes incl.
    ATLA-M5 on an OC-48 link and 15 links, with 9920 Mbit/s modules; not used here.)

    shaped=True defaults to scale=0.001, i.e. ~9.95 Mbit/s per link, which a 2-core
    userspace-datapath machine can actually saturate; pass scale=0.01 for ~99.5 Mbit/s.
    """

    NODES = (
        "New York",
        "Chicago",
        "Washington DC",
        "Seattle",
        "Sunnyvale",
        "Los Angeles",
        "Denver",
        "Kansas City",
        "Houston",
        "Atlanta",
        "Indianapolis",
    )
    LINKS = (
        ("New York", "Chicago", OC192_BPS),
        ("New York", "Washington DC", OC192_BPS),
        ("Chicago", "Indianapolis", OC192_BPS),
        ("Washington DC", "Atlanta", OC192_BPS),
        ("Seattle", "Sunnyvale", OC192_BPS),
        ("Seattle", "Denver", OC192_BPS),
        ("Sunnyvale", "Los Angeles", OC192_BPS),
        ("Sunnyvale", "Denver", OC192_BPS),
        ("Los Angeles", "Houston", OC192_BPS),
        ("Denver", "Kansas City", OC192_BPS),
        ("Kansas City", "Houston", OC192_BPS),
        ("Kansas City", "Indianapolis", OC192_BPS),
        ("Houston", "Atlanta", OC192_BPS),
        ("Atlanta", "Indianapolis", OC192_BPS),
    )
    DEFAULT_SCALE = 0.001


class NsfnetTopo(ResearchNetworkTopo):
    """``nsfnet``: the 14-node, 21-link NSFNET T1 backbone graph (ca. 1991) used as a
    reference network throughout the optical-networking literature, e.g. B. Mukherjee,
    D. Banerjee, S. Ramamurthy, A. Mukherjee, "Some principles for designing a wide-area
    WDM optical network", IEEE/ACM Trans. Networking 4(5), 1996.

    Node order is the usual numbering 1..14 (WA, CA1, CA2, UT, CO, TX, NE, IL, PA, GA, MI,
    NY, NJ, MD) with the NSS site cities. Cross-checked against the 22-link variant in
    optical-rl-gym's examples/topologies/nsfnet_chen.txt (DeepRMSA, Chen et al., JLT 2019),
    which is exactly this list plus Lincoln-Atlanta. Note the Topology Zoo's Nsfnet.gml
    is a different, earlier 13-node/15-link map and is not used here.

    Capacity: T1, 1.544 Mbit/s, on every link. That fits htb as is, so shaped=True
    defaults to scale=1 (real T1 rates); pass e.g. scale=10 for faster experiments.
    """

    NODES = (
        "Seattle, WA",
        "Palo Alto, CA",
        "San Diego, CA",
        "Salt Lake City, UT",
        "Boulder, CO",
        "Houston, TX",
        "Lincoln, NE",
        "Champaign, IL",
        "Pittsburgh, PA",
        "Atlanta, GA",
        "Ann Arbor, MI",
        "Ithaca, NY",
        "Princeton, NJ",
        "College Park, MD",
    )
    LINKS = (
        ("Seattle, WA", "Palo Alto, CA", T1_BPS),
        ("Seattle, WA", "San Diego, CA", T1_BPS),
        ("Seattle, WA", "Champaign, IL", T1_BPS),
        ("Palo Alto, CA", "San Diego, CA", T1_BPS),
        ("Palo Alto, CA", "Salt Lake City, UT", T1_BPS),
        ("San Diego, CA", "Houston, TX", T1_BPS),
        ("Salt Lake City, UT", "Boulder, CO", T1_BPS),
        ("Salt Lake City, UT", "Ann Arbor, MI", T1_BPS),
        ("Boulder, CO", "Houston, TX", T1_BPS),
        ("Boulder, CO", "Lincoln, NE", T1_BPS),
        ("Houston, TX", "Atlanta, GA", T1_BPS),
        ("Houston, TX", "College Park, MD", T1_BPS),
        ("Lincoln, NE", "Champaign, IL", T1_BPS),
        ("Champaign, IL", "Pittsburgh, PA", T1_BPS),
        ("Pittsburgh, PA", "Atlanta, GA", T1_BPS),
        ("Pittsburgh, PA", "Ithaca, NY", T1_BPS),
        ("Pittsburgh, PA", "Princeton, NJ", T1_BPS),
        ("Ann Arbor, MI", "Ithaca, NY", T1_BPS),
        ("Ann Arbor, MI", "Princeton, NJ", T1_BPS),
        ("Ithaca, NY", "College Park, MD", T1_BPS),
        ("Princeton, NJ", "College Park, MD", T1_BPS),
    )
    DEFAULT_SCALE = 1.0


# What `mn --custom topologies/library.py --topo <name>,<args>` looks up.
topos: dict[str, Callable[..., CapacityTopo]] = {
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


def _parse_value(text: str) -> Any:
    word = text.strip()
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    for convert in (int, float):
        try:
            return convert(word)
        except ValueError:
            pass
    return word


def build_topo(spec: str) -> CapacityTopo:
    """Build a topology from an ``mn``-style spec: "ring,6", "fattree,4", "twopath",
    "twopath,20", "abilene,shaped=true,scale=0.01".

    Raises ValueError naming the bad name or arguments (and the valid names)."""
    parts = [p.strip() for p in spec.split(",")] if spec else [""]
    name, raw_args = parts[0], parts[1:]
    valid = ", ".join(TOPOLOGY_NAMES)
    if name not in topos:
        raise ValueError(f"unknown topology {name!r} in {spec!r}; valid names: {valid}")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for raw in raw_args:
        if not raw:
            raise ValueError(f"empty argument in topology spec {spec!r}")
        if "=" in raw:
            key, _, value = raw.partition("=")
            key = key.strip()
            if not key.isidentifier():
                raise ValueError(f"bad keyword {key!r} in topology spec {spec!r}")
            if key in kwargs:
                raise ValueError(f"keyword {key!r} given twice in topology spec {spec!r}")
            kwargs[key] = _parse_value(value)
        elif kwargs:
            raise ValueError(f"positional argument {raw!r} after keywords in {spec!r}")
        else:
            args.append(_parse_value(raw))
    try:
        return topos[name](*args, **kwargs)
    except TypeError as exc:
        # Wrong number of positional arguments or an unknown keyword.
        raise ValueError(f"bad arguments for topology {name!r} in {spec!r}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"bad arguments for topology {name!r} in {spec!r}: {exc}") from None
