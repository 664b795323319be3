"""Operator cost overrides outlive the link's absence, and shared ones wait for it."""

from __future__ import annotations

import pytest

from controller.core import MAX_COST_OVERRIDES
from tests.fakes import FakeNetwork
from topologies import spec


def test_an_override_comes_back_with_its_link() -> None:
    net = FakeNetwork(spec.ring(4).to_networkx())
    net.discover()
    net.core.set_cost_override(1, 2, 42.0)
    net.link_down(1, 2)
    assert net.core.graph.edge(1, 2) is None
    net.link_up(1, 2)
    net.advance(3.0)
    edge = net.core.graph.edge(1, 2)
    assert edge is not None and edge.cost_override == 42.0
    assert net.core.graph.weight(1, 2, "cost") == 42.0
    net.core.set_cost_override(1, 2, None)
    assert net.core.graph.edge(1, 2).cost_override is None  # type: ignore[union-attr]
    assert (1, 2) not in net.core.cost_overrides


def test_a_shared_override_waits_for_its_link_to_be_discovered() -> None:
    net = FakeNetwork(spec.ring(4).to_networkx())
    with pytest.raises(KeyError):
        net.core.set_cost_override(1, 2, 7.0)  # from REST: the link must exist
    net.core.set_cost_override(1, 2, 7.0, known_link=False)  # from the shared state
    net.discover()
    edge = net.core.graph.edge(1, 2)
    assert edge is not None and edge.cost_override == 7.0
    assert net.core.graph.edge(2, 1).cost_override is None  # type: ignore[union-attr]


def test_the_override_table_is_bounded() -> None:
    net = FakeNetwork(spec.linear(2).to_networkx())
    for i in range(MAX_COST_OVERRIDES):
        net.core.set_cost_override(1000 + i, 1, 1.0, known_link=False)
    net.core.set_cost_override(1000, 1, 2.0, known_link=False)  # replacing one: fine
    with pytest.raises(ValueError, match="at most"):
        net.core.set_cost_override(1, 2, 1.0, known_link=False)
