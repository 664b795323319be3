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

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "controller"
MAX_LINES = 400
# Modules allowed over MAX_LINES, each with its reason.
LONG_MODULES: dict[str, str] = {}
# The only modules that may import Ryu: the shell, its WSGI adapter, the message encoder.
RYU_ALLOWED = {
    "controller.app",
    "controller.northbound.rest",
    "controller.southbound.listener",
    "controller.southbound.ofp",
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


def test_controller_modules_stay_readable() -> None:
    long = {
        module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert set(long) <= set(LONG_MODULES), long


def test_the_fake_network_drives_the_production_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("forward", "on_barrier_reply", "_send_stage", "_finish"):
        original = getattr(ForwardingRuntime, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ForwardingRuntime, name, spy)
    net = FakeNetwork(nx.path_graph([1, 2, 3]))
    net.discover()
    net.announce_all()
    assert net.deliver("h1", "h3") == [1, 2, 3]
    assert calls.count("forward") >= 1 and calls.count("_finish") == 1
    assert calls.count("_send_stage") == 3 and calls.count("on_barrier_reply") == 3


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
