"""Unit tests for the topology specs and the Mininet topologies built from them (no root,
no network is started), and for their agreement with the switch emulator's topologies."""

from __future__ import annotations

import collections
import importlib.util
import ipaddress
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from testbed import ofemu
from topologies import TOPOLOGY_NAMES, build_topo, topos
from topologies.library import AbileneTopo, CapacityTopo, NsfnetTopo
from topologies.spec import (
    ABILENE_NODES,
    NSFNET_NODES,
    OC192_BPS,
    SPEC_NAMES,
    T1_BPS,
    HostSpec,
    SwitchLink,
    TopologySpec,
    mesh_links,
    parse_spec,
)

LIBRARY_PATH = Path(__file__).resolve().parents[2] / "topologies" / "library.py"

# spec -> (switches, hosts, switch-switch links, has a loop)
EXPECTED = {
    "linear,1": (1, 1, 0, False),
    "linear,5": (5, 5, 4, False),
    "ring,3": (3, 3, 3, True),
    "ring,6": (6, 6, 6, True),
    "mesh,4": (4, 4, 5, True),
    "mesh,6": (6, 6, 9, True),
    "mesh,7": (7, 7, 11, True),
    "tree,1,3": (1, 3, 0, False),
    "tree,2,2": (3, 4, 2, False),
    "tree,3,2": (7, 8, 6, False),
    "tree,2,3": (4, 9, 3, False),
    "fattree,2": (5, 2, 4, False),  # degenerate: one core, so no redundancy
    "fattree,4": (20, 16, 32, True),
    "fattree,6": (45, 54, 108, True),
    "twopath": (5, 4, 5, True),
    "twopath,20,3": (6, 4, 6, True),
    "abilene": (11, 11, 14, True),
    "nsfnet": (14, 14, 21, True),
}
SPECS = sorted(EXPECTED)


def switch_links(topo: CapacityTopo) -> list[tuple[str, str]]:
    switches = set(topo.switches())
    return [(a, b) for a, b in topo.links() if a in switches and b in switches]


def host_links(topo: CapacityTopo) -> list[tuple[str, str]]:
    switches = set(topo.switches())
    return [(a, b) for a, b in topo.links() if (a in switches) != (b in switches)]


def switch_graph(topo: CapacityTopo) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(topo.switches())
    graph.add_edges_from(switch_links(topo))
    return graph


@pytest.fixture(scope="module", params=SPECS)
def built(request: pytest.FixtureRequest) -> tuple[str, CapacityTopo]:
    return request.param, build_topo(request.param)


def test_registry_names() -> None:
    assert set(TOPOLOGY_NAMES) == {
        "linear",
        "ring",
        "mesh",
        "tree",
        "fattree",
        "twopath",
        "abilene",
        "nsfnet",
    }
    assert set(topos) == set(TOPOLOGY_NAMES)
    assert {spec.split(",")[0] for spec in SPECS} == set(TOPOLOGY_NAMES)


def test_counts(built: tuple[str, CapacityTopo]) -> None:
    spec, topo = built
    n_switches, n_hosts, n_links, _ = EXPECTED[spec]
    assert len(topo.switches()) == n_switches
    assert len(topo.hosts()) == n_hosts
    assert len(switch_links(topo)) == n_links
    # Every link is either switch-switch or host-switch, and every host has exactly one.
    assert len(topo.links()) == n_links + n_hosts
    assert len(host_links(topo)) == n_hosts
    assert sorted(h for link in host_links(topo) for h in link if h.startswith("h")) == sorted(
        topo.hosts()
    )


def test_no_parallel_links(built: tuple[str, CapacityTopo]) -> None:
    _, topo = built
    pairs = [frozenset(link) for link in topo.links()]
    assert len(pairs) == len(set(pairs))


def test_names_and_dpids(built: tuple[str, CapacityTopo]) -> None:
    _, topo = built
    dpids = []
    for name in topo.switches():
        assert re.fullmatch(r"s[1-9][0-9]*", name)
        dpid_text = topo.nodeInfo(name)["dpid"]
        assert re.fullmatch(r"[0-9a-f]{16}", dpid_text)
        assert int(dpid_text, 16) == topo.dpid_of(name) == int(name[1:])
        dpids.append(dpid_text)
    assert len(set(dpids)) == len(dpids)
    for name in topo.hosts():
        assert re.fullmatch(r"h[1-9][0-9]*", name)


def test_host_addresses_unique_and_predictable(built: tuple[str, CapacityTopo]) -> None:
    _, topo = built
    ips, macs = set(), set()
    for name in topo.hosts():
        info = topo.nodeInfo(name)
        number = int(name[1:])
        iface = ipaddress.ip_interface(info["ip"])
        assert iface.network == ipaddress.ip_network("10.0.0.0/8")
        assert int(iface.ip) == int(ipaddress.ip_address("10.0.0.0")) + number
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", info["mac"])
        assert int(info["mac"].replace(":", ""), 16) == number
        ips.add(info["ip"])
        macs.add(info["mac"])
    assert len(ips) == len(macs) == len(topo.hosts())
    assert topo.hosts(sort=True)[0] == "h1"
    assert topo.nodeInfo("h1")["ip"] == "10.0.0.1/8"
    assert topo.nodeInfo("h1")["mac"] == "00:00:00:00:00:01"


def test_interface_names_fit_linux_limit(built: tuple[str, CapacityTopo]) -> None:
    _, topo = built
    for node, ports in topo.ports.items():
        for port in ports:
            assert len(f"{node}-eth{port}") <= 15


def test_switch_graph_connected_and_loops(built: tuple[str, CapacityTopo]) -> None:
    spec, topo = built
    graph = switch_graph(topo)
    assert nx.is_connected(graph)
    has_loop = EXPECTED[spec][3]
    assert (len(nx.cycle_basis(graph)) > 0) == has_loop


def test_capacities_cover_every_switch_link_both_ways(built: tuple[str, CapacityTopo]) -> None:
    _, topo = built
    caps = topo.link_capacities_bps()
    links = switch_links(topo)
    assert len(caps) == 2 * len(links)
    for a, b in links:
        assert caps[(a, b)] == caps[(b, a)] > 0
        assert isinstance(caps[(a, b)], int)
    for a, b in host_links(topo):
        assert (a, b) not in caps and (b, a) not in caps


def test_host_links_never_shaped(built: tuple[str, CapacityTopo]) -> None:
    _, topo = built
    switches = set(topo.switches())
    for a, b, info in topo.links(withInfo=True):
        if (a in switches) != (b in switches):
            assert "bw" not in info and "cls" not in info


@pytest.mark.parametrize(
    "spec", ["linear,4", "ring,5", "mesh,6", "tree,2,2", "fattree,4", "abilene", "nsfnet"]
)
def test_unshaped_by_default(spec: str) -> None:
    topo = build_topo(spec)
    assert all("bw" not in info for _, _, info in topo.links(withInfo=True))
    assert topo.shaped_capacities_bps() == {}


@pytest.mark.parametrize("spec", ["linear,4,50", "ring,5,50", "mesh,6,50", "fattree,4,50"])
def test_shaped_synthetic_links_carry_bw(spec: str) -> None:
    topo = build_topo(spec + ",shaped=true")
    switches = set(topo.switches())
    for a, b, info in topo.links(withInfo=True):
        if a in switches and b in switches:
            assert info["bw"] == 50.0
            assert info["cls"].__name__ == "TCLink"
    assert set(topo.link_capacities_bps().values()) == {50_000_000}
    assert topo.shaped_capacities_bps() == topo.link_capacities_bps()


def test_tree_shaped_positional() -> None:
    topo = build_topo("tree,2,2,20,true")
    assert {
        info.get("bw")
        for a, b, info in topo.links(withInfo=True)
        if b.startswith("s") and a.startswith("s")
    } == {20.0}


def test_twopath_defaults_shaped_10_mbit() -> None:
    topo = build_topo("twopath")
    caps = topo.link_capacities_bps()
    assert set(caps.values()) == {10_000_000}
    assert topo.shaped_capacities_bps() == caps
    for a, b in switch_links(topo):
        assert topo.linkInfo(a, b)["bw"] == 10.0
    graph = switch_graph(topo)
    paths = sorted(nx.all_simple_paths(graph, "s1", "s3"), key=len)
    assert paths == [["s1", "s2", "s3"], ["s1", "s4", "s5", "s3"]]
    # Two hosts on each side, on ports 1 and 2.
    assert topo.port("h1", "s1") == (0, 1)
    assert topo.port("h2", "s1") == (0, 2)
    assert topo.port("h3", "s3") == (0, 1)
    assert topo.port("h4", "s3") == (0, 2)


def test_twopath_variants() -> None:
    topo = build_topo("twopath,20")
    assert set(topo.link_capacities_bps().values()) == {20_000_000}
    topo = build_topo("twopath,10,3,5")
    paths = sorted(nx.all_simple_paths(switch_graph(topo), "s1", "s3"), key=len)
    assert paths == [["s1", "s2", "s3"], ["s1", "s4", "s5", "s6", "s3"]]
    caps = topo.link_capacities_bps()
    assert caps[("s1", "s2")] == 10_000_000
    assert caps[("s6", "s3")] == caps[("s1", "s4")] == 5_000_000
    topo = build_topo("twopath,shaped=false")
    assert all("bw" not in info for _, _, info in topo.links(withInfo=True))
    assert topo.shaped_capacities_bps() == {}
    assert set(topo.link_capacities_bps().values()) == {10_000_000}


def test_mesh_exact_links_and_paths() -> None:
    assert mesh_links(6) == [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 1), (1, 3), (3, 5), (5, 1)]
    assert mesh_links(4) == [(1, 2), (2, 3), (3, 4), (4, 1), (1, 3)]
    assert mesh_links(5)[5:] == [(1, 3), (3, 5), (5, 2)]
    topo = build_topo("mesh,6")
    graph = switch_graph(topo)
    assert {frozenset(e) for e in graph.edges} == {
        frozenset((f"s{a}", f"s{b}")) for a, b in mesh_links(6)
    }
    # Equal-cost alternatives ...
    assert len(list(nx.all_shortest_paths(graph, "s2", "s5"))) == 2
    assert len(list(nx.all_shortest_paths(graph, "s1", "s4"))) == 2
    # ... and unequal-cost ones.
    lengths = sorted(len(p) - 1 for p in nx.all_simple_paths(graph, "s1", "s3"))
    assert lengths[0] == 1 and 2 in lengths
    # Every switch pair has at least two link-disjoint paths.
    assert nx.edge_connectivity(graph) >= 2


def test_ring_and_linear_shape() -> None:
    ring = switch_graph(build_topo("ring,5"))
    assert all(d == 2 for _, d in ring.degree)
    chain = switch_graph(build_topo("linear,4"))
    assert nx.shortest_path(chain, "s1", "s4") == ["s1", "s2", "s3", "s4"]
    topo = build_topo("linear,3")
    # One host per switch, on port 1.
    for i in range(1, 4):
        assert topo.port(f"h{i}", f"s{i}") == (0, 1)


def test_tree_matches_mininet_shape() -> None:
    topo = build_topo("tree,2,3")
    graph = switch_graph(topo)
    assert nx.is_tree(graph)
    assert graph.degree("s1") == 3
    assert topo.switch_role("s1") == "root"
    leaves = [s for s in topo.switches() if topo.switch_role(s) == "leaf"]
    assert len(leaves) == 3
    # Hosts hang only off leaves: 3 per leaf.
    for leaf in leaves:
        hosts = [n for n in topo.g[leaf] if n.startswith("h")]
        assert len(hosts) == 3


def test_fattree_structure() -> None:
    k = 4
    topo = build_topo(f"fattree,{k}")
    roles: dict[str, list[str]] = {}
    for s in topo.switches():
        roles.setdefault(topo.switch_role(s), []).append(s)
    assert {r: len(v) for r, v in roles.items()} == {"core": 4, "aggregation": 8, "edge": 8}
    graph = switch_graph(topo)
    for s in roles["core"]:
        assert graph.degree(s) == k
        assert all(topo.switch_role(n) == "aggregation" for n in graph[s])
    for s in roles["aggregation"]:
        assert graph.degree(s) == k
    for s in roles["edge"]:
        assert graph.degree(s) == k // 2
        assert all(topo.switch_role(n) == "aggregation" for n in graph[s])
        assert len([n for n in topo.g[s] if n.startswith("h")]) == k // 2
    # Edge switches in different pods have (k/2)^2 equal-cost shortest paths via the cores.
    first_pod_edge, last_pod_edge = roles["edge"][0], roles["edge"][-1]
    paths = list(nx.all_shortest_paths(graph, first_pod_edge, last_pod_edge))
    assert len(paths) == (k // 2) ** 2
    assert all(len(p) == 5 for p in paths)
    assert len(host_links(topo)) == 16


def test_abilene_real_data() -> None:
    topo = AbileneTopo()
    labels = {topo.switch_label(s): s for s in topo.switches()}
    assert set(labels) == set(ABILENE_NODES)
    assert len(labels) == 11
    graph = switch_graph(topo)
    edges = {frozenset((topo.switch_label(a), topo.switch_label(b))) for a, b in graph.edges}
    assert frozenset(("New York", "Chicago")) in edges
    assert frozenset(("Kansas City", "Indianapolis")) in edges
    assert frozenset(("Seattle", "Chicago")) not in edges
    assert set(topo.link_capacities_bps().values()) == {OC192_BPS}
    assert labels["New York"] == "s1" and labels["Indianapolis"] == "s11"


def test_nsfnet_real_data() -> None:
    topo = NsfnetTopo()
    graph = switch_graph(topo)
    degrees = sorted(d for _, d in graph.degree)
    assert sum(degrees) == 42 and degrees[0] == 2 and degrees[-1] == 4
    names = {topo.switch_label(s) for s in topo.switches()}
    assert names == set(NSFNET_NODES)
    assert set(topo.link_capacities_bps().values()) == {T1_BPS}
    edges = {frozenset((topo.switch_label(a), topo.switch_label(b))) for a, b in graph.edges}
    assert frozenset(("Lincoln, NE", "Atlanta, GA")) not in edges
    assert frozenset(("Seattle, WA", "Champaign, IL")) in edges


@pytest.mark.parametrize(
    "spec, expected_mbps",
    [
        ("abilene,shaped=true", OC192_BPS * 0.001 / 1e6),
        ("abilene,shaped=true,scale=0.01", OC192_BPS * 0.01 / 1e6),
        ("nsfnet,shaped=true", T1_BPS / 1e6),
        ("nsfnet,shaped=true,scale=10", T1_BPS * 10 / 1e6),
    ],
)
def test_research_networks_scaled_when_shaped(spec: str, expected_mbps: float) -> None:
    topo = build_topo(spec)
    real = topo.link_capacities_bps()
    shaped = topo.shaped_capacities_bps()
    assert set(shaped) == set(real)
    for a, b in switch_links(topo):
        bw = topo.linkInfo(a, b)["bw"]
        assert bw == pytest.approx(expected_mbps)
        assert 0 < bw <= 1000
        assert shaped[(a, b)] == round(bw * 1e6)
    assert set(real.values()) <= {OC192_BPS, T1_BPS}


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ("torus,3,3", ["'torus'", "valid names", "linear", "fattree", "nsfnet"]),
        ("", ["''", "valid names"]),
        ("Ring,4", ["'Ring'", "valid names"]),
        ("ring,2", ["'ring'", "n must be >= 3"]),
        ("ring,abc", ["'ring'", "n must be an integer", "'abc'"]),
        ("linear,0", ["n must be >= 1"]),
        ("mesh,3", ["n must be >= 4"]),
        ("fattree,3", ["k must be even"]),
        ("fattree,4,1,2,3", ["'fattree'", "positional"]),
        ("tree,2,2,bogus=1", ["'tree'", "bogus"]),
        ("twopath,0", ["bw must be a positive"]),
        ("twopath,2000", ["bw=2000", "1000"]),
        ("twopath,10,1", ["long_middle must be >= 2"]),
        ("twopath,shaped=maybe", ["shaped must be true or false"]),
        ("linear,4,5000,shaped=true", ["bw=5000", "htb"]),
        ("abilene,shaped=true,scale=1", ["cannot be shaped"]),
        ("abilene,scale=-1", ["scale must be a positive"]),
        ("ring,4,,", ["empty argument"]),
        ("ring,n=4,5", ["after keywords"]),
        ("ring,n=4,n=5", ["given twice"]),
    ],
)
@pytest.mark.parametrize("build", [build_topo, parse_spec], ids=["mininet", "spec"])
def test_build_topo_errors(build: Any, spec: str, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as excinfo:
        build(spec)
    message = str(excinfo.value)
    for fragment in fragments:
        assert fragment in message


def test_build_topo_keywords() -> None:
    topo = build_topo("ring,n=5,bw=100,shaped=true")
    assert len(topo.switches()) == 5
    assert set(topo.shaped_capacities_bps().values()) == {100_000_000}
    assert len(build_topo(" fattree , 4 ").switches()) == 20


def test_constructors_accept_mn_style_strings() -> None:
    # `mn --topo ring,4,shaped=false` passes non-numeric values as strings.
    topo = topos["ring"](4, shaped="false")
    assert topo.shaped_capacities_bps() == {}
    topo = topos["ring"](4, 100, shaped="True")
    assert set(topo.shaped_capacities_bps().values()) == {100_000_000}


def test_dpid_of_unknown_switch() -> None:
    topo = build_topo("linear,2")
    with pytest.raises(KeyError, match="s9"):
        topo.dpid_of("s9")
    with pytest.raises(KeyError):
        topo.dpid_of("h1")


def test_large_fattree_addresses_past_254_hosts() -> None:
    topo = build_topo("fattree,12")  # 432 hosts, 180 switches
    assert len(topo.hosts()) == 432
    assert topo.nodeInfo("h256")["ip"] == "10.0.1.0/8"
    assert topo.nodeInfo("h432")["mac"] == "00:00:00:00:01:b0"
    assert len({topo.nodeInfo(h)["ip"] for h in topo.hosts()}) == 432
    for node, ports in topo.ports.items():
        assert len(f"{node}-eth{max(ports)}") <= 15


def _load_as_fresh_module(path: Path) -> Any:
    name = f"topology_library_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_library_loads_from_file_path() -> None:
    module = _load_as_fresh_module(LIBRARY_PATH)
    assert set(module.topos) == set(TOPOLOGY_NAMES)
    topo = module.topos["fattree"](4)
    assert len(topo.switches()) == 20


def test_library_loads_the_way_mn_custom_does() -> None:
    # mn's --custom: exec(compile(open(f).read(), f, 'exec'), customs, customs), no __name__.
    customs: dict[str, Any] = {}
    source = LIBRARY_PATH.read_text()
    exec(compile(source, str(LIBRARY_PATH), "exec"), customs, customs)
    assert set(customs["topos"]) == set(TOPOLOGY_NAMES)
    # mn then builds with mininet.util.buildTopo(TOPOS, "<name>,<args>").
    from mininet.util import buildTopo

    topo = buildTopo(customs["topos"], "ring,6")
    assert len(topo.switches()) == 6
    topo = buildTopo(customs["topos"], "twopath,20,shaped=false")
    assert topo.shaped_capacities_bps() == {}
    # mn copies every module-level name into its own globals; these would break it.
    for reserved in (
        "hosts",
        "switches",
        "controllers",
        "links",
        "tests",
        "validate",
        "CLI",
        "Link",
        "info",
        "error",
        "output",
        "version",
        "Host",
        "TOPOS",
    ):
        assert reserved not in customs


def _mn_custom_pythons() -> list[str]:
    """This interpreter, and the system one ``/usr/bin/mn`` runs (no networkx, no venv)."""
    pythons = [sys.executable]
    system = "/usr/bin/python3"
    if os.path.exists(system):
        probe = subprocess.run([system, "-c", "import mininet.topo"], capture_output=True)
        if probe.returncode == 0:
            pythons.append(system)
    return pythons


@pytest.mark.parametrize("python", _mn_custom_pythons())
def test_library_loads_like_mn_custom_from_another_directory(python: str, tmp_path: Path) -> None:
    # mn runs from /usr/bin: the project root is not on sys.path, no __file__ is set.
    code = textwrap.dedent(
        f"""
        import sys
        customs = {{}}
        path = {str(LIBRARY_PATH)!r}
        exec(compile(open(path).read(), path, "exec"), customs, customs)
        from mininet.util import buildTopo
        topo = buildTopo(customs["topos"], "fattree,4,shaped=false")
        print(len(topo.switches()), topo.nodeInfo("h16")["mac"], "networkx" in sys.modules)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [python, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["20", "00:00:00:00:00:10", "False"]


def test_spec_imports_without_mininet_or_networkx() -> None:
    code = (
        "import sys; sys.modules['mininet'] = None; sys.modules['networkx'] = None; "
        "from topologies.spec import parse_spec; "
        "s = parse_spec('fattree,4'); print(len(s.switches), len(s.links), len(s.hosts))"
    )
    root = LIBRARY_PATH.parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["20", "32", "16"]


# ------------------------------------------------------------------ one spec, three builds
# Every registered spec name, with its defaults and with arguments.
AGREEMENT = [*SPECS, "abilene,shaped=true", "random", "random,12", "random,20,3,7"]


def test_agreement_covers_every_registered_topology() -> None:
    assert {text.split(",")[0] for text in AGREEMENT} == set(SPEC_NAMES)
    assert set(TOPOLOGY_NAMES) < set(SPEC_NAMES)


@pytest.mark.parametrize("text", AGREEMENT)
def test_mininet_emulator_and_networkx_agree(text: str) -> None:
    """Same switches, same links with capacities (and port numbers), same hosts."""
    topology = parse_spec(text)
    name = text.split(",")[0]
    mininet = build_topo(text) if name in topos else CapacityTopo(topology)
    assert mininet.spec == topology
    emulated = ofemu.Topology.from_spec(topology)
    graph = topology.to_networkx()

    # Switches: s<dpid> in Mininet, the same dpids in the emulator and the graph.
    dpids = sorted(topology.switches)
    assert sorted(mininet.dpid_of(s) for s in mininet.switches()) == dpids
    assert [f"s{d}" for d in dpids] == sorted(mininet.switches(), key=lambda s: int(s[1:]))
    assert sorted(emulated.ports) == sorted(graph.nodes) == dpids

    # Links: (low dpid, high dpid, capacity) counted, and the same port numbers.
    def link(a: int, b: int, bps: int) -> tuple[int, int, int]:
        return min(a, b), max(a, b), bps

    expected = collections.Counter(link(*x) for x in topology.links)
    caps = mininet.link_capacities_bps()
    mn_ports: dict[tuple[int, int], tuple[int, int]] = {}
    mn_links: collections.Counter[tuple[int, int, int]] = collections.Counter()
    for a, b in switch_links(mininet):
        da, db = mininet.dpid_of(a), mininet.dpid_of(b)
        mn_links[link(da, db, caps[(a, b)])] += 1
        pa, pb = mininet.port(a, b)
        mn_ports[(da, pa)], mn_ports[(db, pb)] = (db, pb), (da, pa)
    emu_links = collections.Counter(
        link(a, b, emulated.link_speed_bps[(a, pa)])
        for (a, pa), (b, _pb) in emulated.links.items()
        if (a, pa) < (b, _pb)
    )
    nx_links = collections.Counter(link(u, v, d["speed_bps"]) for u, v, d in graph.edges(data=True))
    assert mn_links == emu_links == nx_links == expected
    assert mn_ports == emulated.links

    # Hosts: name -> (dpid, switch port, IP, MAC).
    mn_hosts = {}
    for h, sw in host_links(mininet):
        if sw.startswith("h"):
            h, sw = sw, h
        info = mininet.nodeInfo(h)
        _, port = mininet.port(h, sw)
        mn_hosts[h] = (mininet.dpid_of(sw), port, info["ip"].split("/")[0], info["mac"])
    emu_hosts = {h.name: (h.dpid, h.port, h.ip_str, h.mac_str) for h in emulated.hosts}
    assert mn_hosts == emu_hosts
    assert {h: v[0] for h, v in emu_hosts.items()} == topology.hosts_by_name()
    assert list(topology.hosts_by_name()) == [h.name for h in emulated.hosts]


# ------------------------------------------------------------------ the spec itself
def test_spec_registry_and_defaults() -> None:
    assert set(SPEC_NAMES) == {*TOPOLOGY_NAMES, "random"}
    for name in SPEC_NAMES:
        topology = parse_spec(name)
        assert topology.name == name
        assert topology.switches == tuple(range(1, len(topology.switches) + 1))
        assert [h.number for h in topology.hosts] == list(range(1, len(topology.hosts) + 1))


def test_to_networkx_and_hosts_by_name() -> None:
    fat = parse_spec("fattree,4")
    graph = fat.to_networkx()
    assert type(graph) is nx.Graph
    assert graph.number_of_nodes() == 20 and graph.number_of_edges() == 32
    assert all(isinstance(n, int) and n > 0 for n in graph.nodes)
    assert {d["speed_bps"] for _, _, d in graph.edges(data=True)} == {1_000_000_000}
    assert graph.nodes[1]["role"] == "core" and graph.nodes[20]["role"] == "edge"
    hosts = fat.hosts_by_name()
    assert list(hosts) == [f"h{i}" for i in range(1, 17)]
    assert {graph.nodes[d]["role"] for d in hosts.values()} == {"edge"}
    assert parse_spec("abilene").to_networkx().nodes[1]["label"] == "New York"


def test_random_regular_is_seeded_connected_and_regular() -> None:
    first, again = parse_spec("random,50"), parse_spec("random,50,4,1")
    assert first == again and first != parse_spec("random,50,4,2")
    graph = first.to_networkx()
    assert nx.is_connected(graph) and {d for _, d in graph.degree} == {4}
    assert len(first.hosts) == 50


def test_parallel_links_give_a_multigraph_and_two_mininet_links() -> None:
    double = TopologySpec(
        "double",
        (1, 2),
        (SwitchLink(1, 2, 10_000_000), SwitchLink(1, 2, 10_000_000)),
        (HostSpec("h1", 1, 1), HostSpec("h2", 2, 2)),
    )
    assert double.has_parallel_links
    graph = double.to_networkx()
    assert isinstance(graph, nx.MultiGraph) and graph.number_of_edges(1, 2) == 2
    topo = CapacityTopo(double)
    assert len(switch_links(topo)) == 2
    assert topo.link_capacities_bps() == {("s1", "s2"): 10_000_000, ("s2", "s1"): 10_000_000}


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"switches": (1, 1)}, "listed twice"),
        ({"switches": (0, 1)}, "dpid must be"),
        ({"links": ((1, 3, 10),)}, "unknown switch"),
        ({"links": ((1, 1, 10),)}, "loop"),
        ({"links": ((1, 2, 0),)}, "capacity"),
        ({"hosts": (("h1", 3, 1),)}, "unknown switch"),
        ({"hosts": (("x1", 1, 1),)}, "h<number>"),
        ({"hosts": (("h2", 1, 2), ("h1", 1, 1))}, "ascending"),
        ({"roles": ("core",)}, "one string per switch"),
    ],
)
def test_spec_rejects_inconsistent_data(kwargs: dict[str, Any], fragment: str) -> None:
    fields: dict[str, Any] = {
        "name": "bad",
        "switches": (1, 2),
        "links": ((1, 2, 10),),
        "hosts": (("h1", 1, 1),),
    }
    with pytest.raises(ValueError, match=re.escape(fragment)):
        TopologySpec(**{**fields, **kwargs})


def test_package_imports_in_fresh_interpreter() -> None:
    root = LIBRARY_PATH.parents[1]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import topologies; print(len(topologies.build_topo('nsfnet').switches()))",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "14"
