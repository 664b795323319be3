"""Mininet topologies with known link capacities (see ``topologies.library``)."""

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

__all__ = [
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
]
