"""Every topology of the project, defined once as plain data.

A ``TopologySpec`` lists the switches (dpids), the switch-switch links with their nominal
capacity, the hosts (numbered; MAC and IP derive from the number) and whether the links
are shaped. One builder function per topology name makes one; the same spec is then built
for Mininet (``topologies.library``), for the switch emulator (``testbed.ofemu``) and as a
networkx graph for unit tests (``TopologySpec.to_networkx``).

``parse_spec("ring,6")`` reads the ``mn --topo`` form: a name, positional arguments, then
``key=value`` arguments ("abilene,shaped=true,scale=0.01").

Conventions shared by every topology here:

* Switch dpids are 1..N; Mininet names switch N ``sN``.
* Hosts are named ``h1..hM``; host n gets IP ``10.x.y.z/8`` and MAC ``00:00:00:xx:yy:zz``
  where x.y.z are the three low bytes of n (so h1 = 10.0.0.1, 00:00:00:00:00:01).
* Every switch-switch link has a nominal capacity in bit/s. When the spec is ``shaped``,
  each link is shaped to capacity * ``shaping_scale`` (Mininet's htb accepts at most
  1000 Mbit/s, so the research networks scale their real capacities down); host links
  are never shaped.

No Mininet here, and networkx is imported only where a graph is made: ``mn --custom
topologies/library.py`` loads this module with the system Python, which has neither
networkx nor the project's virtualenv.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    import networkx as nx

# Mininet's TCIntf refuses (and then silently ignores) bw above this, in Mbit/s.
HTB_MAX_MBPS = 1000.0

# Nominal capacity of the synthetic topologies' switch-switch links, in Mbit/s. Unshaped
# veth pairs on the project's reference machine measured ~950 Mbit/s, so 1 Gbit/s is the
# honest nominal figure when nothing is shaped.
DEFAULT_SYNTHETIC_MBPS = 1000.0

OC192_BPS = 9_953_280_000  # SONET OC-192 line rate
T1_BPS = 1_544_000  # DS1 / T1 line rate

MAX_DPID = 2**64 - 1
MAX_HOST_NUMBER = 2**24 - 2  # host_ip/host_mac keep the three low bytes of the number

# What the builders accept: Python values, or the strings ``mn --topo`` passes through.
IntArg = int | str
NumberArg = float | str
FlagArg = bool | str


# ============================================================================ addresses
def host_ip(number: int) -> str:
    """IP address (with /8 prefix) of host ``h<number>``; unique for 1 <= number < 2**24 - 1."""
    return f"10.{(number >> 16) & 0xFF}.{(number >> 8) & 0xFF}.{number & 0xFF}/8"


def host_mac(number: int) -> str:
    """MAC address of host ``h<number>``."""
    return f"00:00:00:{(number >> 16) & 0xFF:02x}:{(number >> 8) & 0xFF:02x}:{number & 0xFF:02x}"


# ============================================================================ the spec
class SwitchLink(NamedTuple):
    """A switch-switch link between dpids ``a`` and ``b`` (Mininet's node1, node2)."""

    a: int
    b: int
    capacity_bps: int


class HostSpec(NamedTuple):
    """Host ``name`` (always ``h<number>``) on switch ``dpid``."""

    name: str
    dpid: int
    number: int

    @property
    def mac(self) -> str:
        return host_mac(self.number)

    @property
    def ip(self) -> str:
        """With the /8 prefix, as Mininet takes it."""
        return host_ip(self.number)


@dataclass(frozen=True)
class TopologySpec:
    """One topology: switches (dpids, in order), switch links in order (parallel links
    allowed), hosts by number, shaping. ``roles`` and ``labels``, when given, hold one
    string per switch (e.g. 'core'; a city), aligned with ``switches``.

    Order matters: Mininet and the emulator number a switch's ports in the order of its
    host links (by host number) and then its switch links (in ``links`` order)."""

    name: str
    switches: tuple[int, ...]
    links: tuple[SwitchLink, ...]
    hosts: tuple[HostSpec, ...]
    shaped: bool = False
    shaping_scale: float = 1.0
    roles: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept any sequences (and plain tuples for links and hosts); store tuples.
        set_field = object.__setattr__
        set_field(self, "switches", tuple(self.switches))
        set_field(self, "links", tuple(SwitchLink(*link) for link in self.links))
        set_field(self, "hosts", tuple(HostSpec(*host) for host in self.hosts))
        set_field(self, "roles", tuple(self.roles))
        set_field(self, "labels", tuple(self.labels))
        self._validate()

    def _validate(self) -> None:
        where = f"topology {self.name!r}"
        known = set(self.switches)
        if len(known) != len(self.switches):
            raise ValueError(f"{where}: a switch dpid is listed twice")
        for dpid in self.switches:
            if not isinstance(dpid, int) or isinstance(dpid, bool) or not 0 < dpid <= MAX_DPID:
                raise ValueError(f"{where}: dpid must be an integer in 1..2**64-1, got {dpid!r}")
        for what, values in (("roles", self.roles), ("labels", self.labels)):
            if values and len(values) != len(self.switches):
                raise ValueError(f"{where}: {what} must give one string per switch")
        for link in self.links:
            if link.a not in known or link.b not in known:
                raise ValueError(f"{where}: link {link.a}-{link.b} names an unknown switch")
            if link.a == link.b:
                raise ValueError(f"{where}: link {link.a}-{link.b} is a loop")
            if not isinstance(link.capacity_bps, int) or link.capacity_bps <= 0:
                raise ValueError(f"{where}: link {link.a}-{link.b} needs a capacity > 0 bit/s")
        numbers = [host.number for host in self.hosts]
        if numbers != sorted(set(numbers)):
            raise ValueError(f"{where}: host numbers must be unique and ascending")
        for host in self.hosts:
            if host.dpid not in known:
                raise ValueError(f"{where}: host {host.name} is on unknown switch {host.dpid}")
            if not 1 <= host.number <= MAX_HOST_NUMBER or host.name != f"h{host.number}":
                raise ValueError(f"{where}: host {host.name!r} must be h<number>, 1..2**24-2")
        if not self.shaping_scale > 0:
            raise ValueError(f"{where}: shaping_scale must be > 0")

    # -- queries -----------------------------------------------------------------------

    @property
    def has_parallel_links(self) -> bool:
        pairs = {frozenset((link.a, link.b)) for link in self.links}
        return len(pairs) != len(self.links)

    def role_of(self, dpid: int) -> str:
        """Role of a switch in a structured topology (e.g. 'core', 'edge'); '' if none."""
        index = self._index(dpid)
        return self.roles[index] if self.roles else ""

    def label_of(self, dpid: int) -> str:
        """Human name of a switch (a city for research networks); '' if none."""
        index = self._index(dpid)
        return self.labels[index] if self.labels else ""

    def _index(self, dpid: int) -> int:
        try:
            return self.switches.index(dpid)
        except ValueError:
            raise KeyError(f"no switch with dpid {dpid} in {self.name!r}") from None

    def shaped_rate_mbps(self, link: SwitchLink) -> float | None:
        """The rate htb enforces on ``link`` in Mbit/s; None when the spec is not shaped."""
        if not self.shaped:
            return None
        return link.capacity_bps * self.shaping_scale / 1_000_000

    def hosts_by_name(self) -> dict[str, int]:
        """Host name -> dpid of its switch, in host-number order."""
        return {host.name: host.dpid for host in self.hosts}

    def to_networkx(self) -> nx.Graph:
        """The switch graph: int dpid nodes (with ``role``/``label`` attributes when set),
        one edge per link with ``speed_bps`` = capacity; a MultiGraph if links are parallel."""
        import networkx as nx

        graph: nx.Graph = nx.MultiGraph() if self.has_parallel_links else nx.Graph()
        for i, dpid in enumerate(self.switches):
            attrs = {}
            if self.roles and self.roles[i]:
                attrs["role"] = self.roles[i]
            if self.labels and self.labels[i]:
                attrs["label"] = self.labels[i]
            graph.add_node(dpid, **attrs)
        for link in self.links:
            graph.add_edge(link.a, link.b, speed_bps=link.capacity_bps)
        return graph


# ============================================================================ arguments
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


def _check_shapable(capacity_mbps: float, name: str) -> None:
    if capacity_mbps > HTB_MAX_MBPS:
        raise ValueError(
            f"{name}={capacity_mbps:g} Mbit/s cannot be shaped: Mininet's htb shaping "
            f"supports at most {HTB_MAX_MBPS:g} Mbit/s"
        )


def _bandwidth(bw: NumberArg, shaped: FlagArg) -> tuple[float, bool]:
    """(bw in Mbit/s, shaped) of a synthetic topology, checked in that order."""
    bw_mbps = _as_float(bw, "bw")
    is_shaped = _as_bool(shaped, "shaped")
    if is_shaped:
        _check_shapable(bw_mbps, "bw")
    return bw_mbps, is_shaped


def _bps(mbps: float) -> int:
    return round(mbps * 1_000_000)


def _numbered_hosts(dpids: Sequence[int]) -> list[HostSpec]:
    """One host per entry of ``dpids``, numbered 1.. in that order."""
    return [HostSpec(f"h{n}", dpid, n) for n, dpid in enumerate(dpids, start=1)]


# ============================================================================ builders
def linear(
    n: IntArg = 2, bw: NumberArg = DEFAULT_SYNTHETIC_MBPS, shaped: FlagArg = False
) -> TopologySpec:
    """``linear,N``: s1 - s2 - ... - sN in a chain, host hi on switch si. No loops."""
    count = _as_int(n, "n", 1)
    bw_mbps, is_shaped = _bandwidth(bw, shaped)
    sw = list(range(1, count + 1))
    links = [SwitchLink(a, b, _bps(bw_mbps)) for a, b in itertools.pairwise(sw)]
    return TopologySpec("linear", tuple(sw), tuple(links), tuple(_numbered_hosts(sw)), is_shaped)


def ring(
    n: IntArg = 4, bw: NumberArg = DEFAULT_SYNTHETIC_MBPS, shaped: FlagArg = False
) -> TopologySpec:
    """``ring,N``: s1 - s2 - ... - sN - s1 (N >= 3), host hi on switch si. One loop."""
    count = _as_int(n, "n", 3)
    bw_mbps, is_shaped = _bandwidth(bw, shaped)
    sw = list(range(1, count + 1))
    links = [SwitchLink(sw[i], sw[(i + 1) % count], _bps(bw_mbps)) for i in range(count)]
    return TopologySpec("ring", tuple(sw), tuple(links), tuple(_numbered_hosts(sw)), is_shaped)


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


def mesh(
    n: IntArg = 6, bw: NumberArg = DEFAULT_SYNTHETIC_MBPS, shaped: FlagArg = False
) -> TopologySpec:
    """``mesh,N`` (N >= 4): a ring plus chords, see ``mesh_links``; host hi on switch si."""
    count = _as_int(n, "n", 4)
    bw_mbps, is_shaped = _bandwidth(bw, shaped)
    sw = list(range(1, count + 1))
    links = [SwitchLink(a, b, _bps(bw_mbps)) for a, b in mesh_links(count)]
    return TopologySpec("mesh", tuple(sw), tuple(links), tuple(_numbered_hosts(sw)), is_shaped)


def tree(
    depth: IntArg = 2,
    fanout: IntArg = 2,
    bw: NumberArg = DEFAULT_SYNTHETIC_MBPS,
    shaped: FlagArg = False,
) -> TopologySpec:
    """``tree,depth,fanout``: like Mininet's TreeTopo. Switches are numbered depth-first
    (s1 is the root), each switch has ``fanout`` children, the hosts hang off the
    switches at the last level (fanout**depth hosts, numbered left to right). No loops.
    On every switch the ports to children/hosts come first, the uplink last (each link
    is listed after the links of the subtree below it). Roles: root, inner, leaf."""
    levels = _as_int(depth, "depth", 1)
    width = _as_int(fanout, "fanout", 1)
    bw_mbps, is_shaped = _bandwidth(bw, shaped)
    switches: list[int] = []
    roles: list[str] = []
    links: list[SwitchLink] = []
    host_dpids: list[int] = []

    def subtree(remaining: int) -> int:
        dpid = len(switches) + 1
        switches.append(dpid)
        roles.append("root" if dpid == 1 else ("leaf" if remaining == 1 else "inner"))
        for _ in range(width):
            if remaining == 1:
                host_dpids.append(dpid)
            else:
                child = subtree(remaining - 1)
                links.append(SwitchLink(dpid, child, _bps(bw_mbps)))
        return dpid

    subtree(levels)
    return TopologySpec(
        "tree",
        tuple(switches),
        tuple(links),
        tuple(_numbered_hosts(host_dpids)),
        is_shaped,
        roles=tuple(roles),
    )


def fattree(
    k: IntArg = 4, bw: NumberArg = DEFAULT_SYNTHETIC_MBPS, shaped: FlagArg = False
) -> TopologySpec:
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
    arity = _as_int(k, "k", 2)
    if arity % 2:
        raise ValueError(f"k must be even, got {arity}")
    bw_mbps, is_shaped = _bandwidth(bw, shaped)
    capacity = _bps(bw_mbps)
    half = arity // 2
    roles: list[str] = []

    def take(count: int, role: str) -> list[int]:
        first = len(roles) + 1
        roles.extend([role] * count)
        return list(range(first, first + count))

    cores = take(half * half, "core")
    pods = [(take(half, "aggregation"), take(half, "edge")) for _pod in range(arity)]
    host_dpids = [edge for _aggs, edges in pods for edge in edges for _ in range(half)]
    links = [
        SwitchLink(edge, agg, capacity) for aggs, edges in pods for edge in edges for agg in aggs
    ]
    links += [
        SwitchLink(aggs[j // half], core, capacity)
        for j, core in enumerate(cores)
        for aggs, _edges in pods
    ]
    return TopologySpec(
        "fattree",
        tuple(range(1, len(roles) + 1)),
        tuple(links),
        tuple(_numbered_hosts(host_dpids)),
        is_shaped,
        roles=tuple(roles),
    )


def twopath(
    bw: NumberArg = 10,
    long_middle: IntArg = 2,
    long_bw: NumberArg | None = None,
    shaped: FlagArg = True,
) -> TopologySpec:
    """``twopath[,bw[,long_middle[,long_bw]]]``: two paths between a left and a right
    switch, for congestion tests.

        h1, h2 - s1 - s2 - s3 - h3, h4                         (short path, 2 hops)
                  \\- s4 - s5 [- s6 ...] -/                     (long path, long_middle+1 hops)

    s1 is the left switch, s2 the short path's middle switch, s3 the right switch,
    s4..s(3+long_middle) the long path's middle switches in order. Hosts h1, h2 on s1
    (ports 1, 2) and h3, h4 on s3 (ports 1, 2). Shaped by default: every switch link is
    ``bw`` Mbit/s (default 10), long-path links ``long_bw`` if given.
    """
    short_mbps = _as_float(bw, "bw")
    long_mbps = short_mbps if long_bw is None else _as_float(long_bw, "long_bw")
    middle = _as_int(long_middle, "long_middle", 2)
    is_shaped = _as_bool(shaped, "shaped")
    if is_shaped:
        _check_shapable(short_mbps, "bw")
        _check_shapable(long_mbps, "long_bw")
    left, mid, right = 1, 2, 3
    long_path = [4 + i for i in range(middle)]
    links = [SwitchLink(left, mid, _bps(short_mbps)), SwitchLink(mid, right, _bps(short_mbps))]
    hops = [left, *long_path, right]
    links += [SwitchLink(a, b, _bps(long_mbps)) for a, b in itertools.pairwise(hops)]
    return TopologySpec(
        "twopath",
        (left, mid, right, *long_path),
        tuple(links),
        tuple(_numbered_hosts([left, left, right, right])),
        is_shaped,
        roles=("left", "short", "right", *(["long"] * middle)),
    )


def _research_network(
    name: str,
    nodes: Sequence[str],
    links: Sequence[tuple[str, str, int]],
    shaped: FlagArg,
    scale: NumberArg | None,
    default_scale: float,
) -> TopologySpec:
    """A published network: one switch per node (s1.. in the order of ``nodes``, labelled
    with the city), one host per switch, ``links`` with their real capacities in bit/s.

    ``shaped=True`` shapes each link to capacity * ``scale`` (must land in (0, 1000]
    Mbit/s for htb); the capacities stay the real ones."""
    is_shaped = _as_bool(shaped, "shaped")
    factor = _as_float(default_scale if scale is None else scale, "scale")
    dpid = {city: i for i, city in enumerate(nodes, start=1)}
    switches = list(dpid.values())
    if is_shaped:
        for _a, _b, capacity_bps in links:
            _check_shapable(capacity_bps * factor / 1_000_000, "capacity*scale")
    return TopologySpec(
        name,
        tuple(switches),
        tuple(SwitchLink(dpid[a], dpid[b], capacity) for a, b, capacity in links),
        tuple(_numbered_hosts(switches)),
        is_shaped,
        shaping_scale=factor,
        roles=("pop",) * len(switches),
        labels=tuple(nodes),
    )


# The Internet2 Abilene backbone, 11 PoPs and 14 links, all OC-192c.
# Source: The Internet Topology Zoo (S. Knight et al., IEEE JSAC 29(9), 2011),
# http://www.topology-zoo.org/ , file Abilene.gml (NetworkDate 2005_02, itself from
# http://www.internet2.edu/pubs/200502-IS-AN.pdf); every edge there is LinkType "OC-192".
# Node order below is the GML id order (id 0 = s1). Capacity: OC-192 line rate,
# 9.95328 Gbit/s. (SNDlib's "abilene" instance is a different snapshot: 12 nodes incl.
# ATLA-M5 on an OC-48 link and 15 links, with 9920 Mbit/s modules; not used here.)
ABILENE_NODES: tuple[str, ...] = (
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
ABILENE_LINKS: tuple[tuple[str, str, int], ...] = (
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


def abilene(shaped: FlagArg = False, scale: NumberArg | None = None) -> TopologySpec:
    """``abilene``: the Internet2 Abilene backbone (``ABILENE_NODES``/``ABILENE_LINKS``),
    a host per PoP. shaped=True defaults to scale=0.001, i.e. ~9.95 Mbit/s per link,
    which a 2-core userspace-datapath machine can actually saturate; pass scale=0.01 for
    ~99.5 Mbit/s."""
    return _research_network("abilene", ABILENE_NODES, ABILENE_LINKS, shaped, scale, 0.001)


# The 14-node, 21-link NSFNET T1 backbone graph (ca. 1991) used as a reference network
# throughout the optical-networking literature, e.g. B. Mukherjee, D. Banerjee,
# S. Ramamurthy, A. Mukherjee, "Some principles for designing a wide-area WDM optical
# network", IEEE/ACM Trans. Networking 4(5), 1996.
# Node order is the usual numbering 1..14 (WA, CA1, CA2, UT, CO, TX, NE, IL, PA, GA, MI,
# NY, NJ, MD) with the NSS site cities. Cross-checked against the 22-link variant in
# optical-rl-gym's examples/topologies/nsfnet_chen.txt (DeepRMSA, Chen et al., JLT 2019),
# which is exactly this list plus Lincoln-Atlanta. Note the Topology Zoo's Nsfnet.gml
# is a different, earlier 13-node/15-link map and is not used here.
# Capacity: T1, 1.544 Mbit/s, on every link.
NSFNET_NODES: tuple[str, ...] = (
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
NSFNET_LINKS: tuple[tuple[str, str, int], ...] = (
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


def nsfnet(shaped: FlagArg = False, scale: NumberArg | None = None) -> TopologySpec:
    """``nsfnet``: the NSFNET T1 backbone (``NSFNET_NODES``/``NSFNET_LINKS``), a host per
    site. T1 fits htb as is, so shaped=True defaults to scale=1 (real T1 rates); pass
    e.g. scale=10 for faster experiments."""
    return _research_network("nsfnet", NSFNET_NODES, NSFNET_LINKS, shaped, scale, 1.0)


def random_regular(
    n: IntArg = 100,
    degree: IntArg = 4,
    seed: IntArg = 1,
    bw: NumberArg = DEFAULT_SYNTHETIC_MBPS,
    shaped: FlagArg = False,
) -> TopologySpec:
    """``random,N[,degree[,seed]]``: a connected random ``degree``-regular graph on N
    switches (networkx ``random_regular_graph``, seeds ``seed``, ``seed`` + 1, ... until
    connected; node i is switch i + 1), host hi on switch si. The discovery benchmark's
    100- and 1,000-switch networks (degree 4, seed 1)."""
    count = _as_int(n, "n", 2)
    deg = _as_int(degree, "degree", 1)
    first_seed = _as_int(seed, "seed", 0)
    bw_mbps, is_shaped = _bandwidth(bw, shaped)
    if deg >= count:
        raise ValueError(f"degree must be < n, got degree={deg}, n={count}")
    if count * deg % 2:
        raise ValueError(f"n*degree must be even, got n={count}, degree={deg}")
    import networkx as nx

    for attempt in range(100):
        graph = nx.random_regular_graph(deg, count, seed=first_seed + attempt)
        if nx.is_connected(graph):
            break
    else:
        raise ValueError(f"no connected {deg}-regular graph on {count} nodes found")
    sw = list(range(1, count + 1))
    links = [SwitchLink(u + 1, v + 1, _bps(bw_mbps)) for u, v in graph.edges()]
    return TopologySpec("random", tuple(sw), tuple(links), tuple(_numbered_hosts(sw)), is_shaped)


# ============================================================================ registry
BUILDERS: dict[str, Callable[..., TopologySpec]] = {
    "linear": linear,
    "ring": ring,
    "mesh": mesh,
    "tree": tree,
    "fattree": fattree,
    "twopath": twopath,
    "abilene": abilene,
    "nsfnet": nsfnet,
    "random": random_regular,
}

SPEC_NAMES: tuple[str, ...] = tuple(BUILDERS)

Built = TypeVar("Built")


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


def build_from_text(text: str, registry: Mapping[str, Callable[..., Built]]) -> Built:
    """Call ``registry[name](*args, **kwargs)`` for an ``mn``-style "name,arg,...,key=value".

    Raises ValueError naming the bad name or arguments (and the valid names)."""
    parts = [p.strip() for p in text.split(",")] if text else [""]
    name, raw_args = parts[0], parts[1:]
    valid = ", ".join(registry)
    if name not in registry:
        raise ValueError(f"unknown topology {name!r} in {text!r}; valid names: {valid}")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for raw in raw_args:
        if not raw:
            raise ValueError(f"empty argument in topology spec {text!r}")
        if "=" in raw:
            key, _, value = raw.partition("=")
            key = key.strip()
            if not key.isidentifier():
                raise ValueError(f"bad keyword {key!r} in topology spec {text!r}")
            if key in kwargs:
                raise ValueError(f"keyword {key!r} given twice in topology spec {text!r}")
            kwargs[key] = _parse_value(value)
        elif kwargs:
            raise ValueError(f"positional argument {raw!r} after keywords in {text!r}")
        else:
            args.append(_parse_value(raw))
    try:
        return registry[name](*args, **kwargs)
    except TypeError as exc:
        # Wrong number of positional arguments or an unknown keyword.
        raise ValueError(f"bad arguments for topology {name!r} in {text!r}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"bad arguments for topology {name!r} in {text!r}: {exc}") from None


def parse_spec(text: str) -> TopologySpec:
    """The spec for "ring,6", "fattree,4", "twopath,20", "abilene,shaped=true,scale=0.01",
    "random,1000" ..., with the argument rules of ``mn --topo``."""
    return build_from_text(text, BUILDERS)
