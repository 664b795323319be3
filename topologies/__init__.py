"""Topologies with known link capacities: defined once in ``topologies.spec`` (plain data,
no Mininet), built for Mininet by ``topologies.library``.

The Mininet names below are imported on first use, so ``topologies.spec`` (used by the
switch emulator and unit tests) can be imported where Mininet is not installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from topologies.spec import SPEC_NAMES, TopologySpec, parse_spec

if TYPE_CHECKING:
    from topologies.library import (
        TOPOLOGY_NAMES,
        AbileneTopo,
        BalancedTreeTopo,
        CapacityTopo,
        ChainTopo,
        FatTreeTopo,
        NsfnetTopo,
        PartialMeshTopo,
        RingTopo,
        TwoPathTopo,
        build_topo,
        topos,
    )

_FROM_LIBRARY = (
    "TOPOLOGY_NAMES",
    "AbileneTopo",
    "BalancedTreeTopo",
    "CapacityTopo",
    "ChainTopo",
    "FatTreeTopo",
    "NsfnetTopo",
    "PartialMeshTopo",
    "RingTopo",
    "TwoPathTopo",
    "build_topo",
    "topos",
)

__all__ = [
    "SPEC_NAMES",
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
    "parse_spec",
    "topos",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_LIBRARY:
        return getattr(importlib.import_module("topologies.library"), name)
    raise AttributeError(f"module 'topologies' has no attribute {name!r}")
