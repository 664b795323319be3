"""The layout keeps its promises: no import cycles, plain logic free of Ryu's event
machinery, modules of a readable size, and one implementation of the install sequence
(the test network drives the production runtime; it has no copy of its own)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from controller.forwarding.runtime import ForwardingRuntime
from tests.fakes import FakeNetwork
from topologies import spec

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "controller"
MAX_LINES = 400
# Modules allowed over MAX_LINES, each with its reason.
LONG_MODULES: dict[str, str] = {}
# The only modules that may import Ryu: the shell, its WSGI adapter, the message encoder,
# the connection reader/writer and the reactor that reads established connections.
RYU_ALLOWED = {
    "controller.app",
    "controller.northbound.rest",
    "controller.southbound.listener",
    "controller.southbound.ofp",
    "controller.southbound.reactor",
}
# Host frames are parsed by controller.southbound.frames alone: Ryu's packet library loops
# forever on some malformed frames (a TCP option of length 0).
RYU_PACKET = "ryu.lib.packet"
# networkx generators that duplicate a topology of topologies/spec.py: tests build that
# topology from the spec (one definition for Mininet, the emulator and unit tests).
SPEC_INSTEAD = {
    "cycle_graph": "spec.ring(n)",
    "path_graph": "spec.linear(n)",
    "random_regular_graph": "spec.random_regular(n, degree, seed)",
    "balanced_tree": "spec.tree(depth, fanout)",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module this file imports (typing-only imports included: a cycle is a cycle)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def import_graph() -> nx.DiGraph:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    g = nx.DiGraph()
    for name, path in modules.items():
        g.add_node(name)
        for target in imports_of(path):
            if target in modules and target != name:
                g.add_edge(name, target)
    return g


def test_the_controller_package_has_no_import_cycle() -> None:
    g = import_graph()
    assert len(g) > 20
    cycles = list(nx.simple_cycles(g))
    assert cycles == [], f"import cycles: {cycles}"


def test_the_cycle_check_sees_a_cycle() -> None:
    g = import_graph()
    g.add_edge("controller.network.model", "controller.network.graph")
    assert list(nx.simple_cycles(g))


def test_only_the_shell_adapters_import_ryu() -> None:
    offenders = {
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if any(m == "ryu" or m.startswith("ryu.") for m in imports_of(p))
    }
    assert offenders <= RYU_ALLOWED, sorted(offenders - RYU_ALLOWED)


def packet_library_imports(path: Path) -> set[str]:
    return {m for m in imports_of(path) if m == RYU_PACKET or m.startswith(RYU_PACKET + ".")}


def test_no_controller_module_imports_ryus_packet_library() -> None:
    offenders = {
        module_name(p): sorted(found)
        for p in PACKAGE.rglob("*.py")
        if (found := packet_library_imports(p))
    }
    assert offenders == {}, f"host frames go through controller.southbound.frames: {offenders}"


@pytest.mark.parametrize(
    "line",
    [
        "import ryu.lib.packet",
        "from ryu.lib import packet",
        "from ryu.lib.packet import ethernet",
        "from ryu.lib.packet.tcp import tcp",
    ],
)
def test_the_packet_library_check_sees_each_import_form(tmp_path: Path, line: str) -> None:
    module = tmp_path / "m.py"
    module.write_text(f"def f():\n    {line}\n")
    assert packet_library_imports(module)


def spec_duplicates(path: Path) -> list[str]:
    """Where ``path`` builds a spec topology with a networkx generator (call or import)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in SPEC_INSTEAD:
            found.append(f"{node.lineno}: {node.attr} (use {SPEC_INSTEAD[node.attr]})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("networkx"):
            found += [f"{node.lineno}: {a.name}" for a in node.names if a.name in SPEC_INSTEAD]
    return found


def test_tests_build_topologies_from_the_one_spec() -> None:
    offenders = {
        str(p.relative_to(ROOT)): found
        for p in sorted((ROOT / "tests").rglob("*.py"))
        if (found := spec_duplicates(p))
    }
    assert offenders == {}, f"a topology defined again by hand: {offenders}"


def test_the_spec_check_sees_a_hand_built_ring(tmp_path: Path) -> None:
    module = tmp_path / "t.py"
    module.write_text(
        "import networkx as nx\nfrom networkx import path_graph\n"
        "net = FakeNetwork(nx.cycle_graph(range(1, 5)))\n"
    )
    assert sorted(spec_duplicates(module)) == ["2: path_graph", "3: cycle_graph (use spec.ring(n))"]


def test_controller_modules_stay_readable() -> None:
    long = {
        module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert set(long) <= set(LONG_MODULES), long


def test_the_fake_network_drives_the_production_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("forward", "on_barrier_reply", "_send_step", "_finish"):
        original = getattr(ForwardingRuntime, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ForwardingRuntime, name, spy)
    net = FakeNetwork(spec.linear(3).to_networkx())
    net.discover()
    net.announce_all()
    assert net.deliver("h1", "h3") == [1, 2, 3]
    assert calls.count("forward") >= 1 and calls.count("_finish") == 1
    # two steps (switches 3 and 2 at once, then the ingress 1), a barrier per switch
    assert calls.count("_send_step") == 2 and calls.count("on_barrier_reply") == 3


def test_the_fake_has_no_install_sequence_of_its_own() -> None:
    source = (ROOT / "tests" / "fakes.py").read_text()
    used = imports_of(ROOT / "tests" / "fakes.py")
    forwarding = {m for m in used if m.startswith("controller.forwarding")}
    assert forwarding <= {
        "controller.forwarding.runtime",
        "controller.forwarding.runtime.ForwardingRuntime",
        "controller.forwarding.runtime.InstallResult",
    }
    for word in ("install_stages", "pair_flows", "barrier_timeout", "Stage(", "held"):
        assert word not in source, word
