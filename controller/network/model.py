"""What the network graph is made of: ports, directed link keys, per-link state.

Plain records shared by discovery, routing, link costs and the REST view.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

OFPP_MAX = 0xFFFFFF00  # OpenFlow 1.3: port numbers above this are reserved (LOCAL, ...)


@dataclass
class PortInfo:
    """One switch port as the controller knows it."""

    port_no: int
    name: str = ""
    hw_addr: str = ""
    up: bool = True
    speed_bps: int = 0
    since: float = 0.0
    """When the port was (last) seen coming up: ports need a quiet period to count as access."""


@dataclass(frozen=True, order=True)
class LinkKey:
    """A directed switch-to-switch link (src dpid, src port) -> (dst dpid, dst port)."""

    src: int
    src_port: int
    dst: int
    dst_port: int

    def reverse(self) -> LinkKey:
        return LinkKey(self.dst, self.dst_port, self.src, self.src_port)

    def ends(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (self.src, self.src_port), (self.dst, self.dst_port)


ROUND_FIGURES = (
    "features",
    "features_at",
    "predicted_latency_ms",
    "predicted_cost",
    "fallback_cost",
)
"""The fields a cost round sets on every link at once."""
COLUMNS = ("capacity_bps", "latency_ms", "cost_override", *ROUND_FIGURES)
"""The fields a :class:`LinkState` keeps in a :class:`LinkFigures` row: what a cost round
reads or writes for every link."""


class LinkFigures:
    """Some fields (:data:`COLUMNS`) of many links: one list per field, a row per link.

    A cost round reads three of them from thousands of links and sets five: as columns
    that is a few list conversions and assignments, where fields on each
    :class:`LinkState` were tens of thousands of attribute reads and writes at 4,000
    links. Each link reads and writes its own row through its fields, so to everyone
    else they are plain fields. Float columns hold NaN for ``None`` (how the round's
    arrays say "not set"): a NaN written to such a field reads back as ``None``."""

    __slots__ = COLUMNS
    capacity_bps: list[int]
    latency_ms: list[float]
    cost_override: list[float]
    features: list[Any]
    features_at: list[float]
    predicted_latency_ms: list[float]
    predicted_cost: list[float]
    fallback_cost: list[float]

    def __init__(self, rows: int = 1) -> None:
        for name in COLUMNS:
            setattr(self, name, [None if name == "features" else math.nan] * rows)

    @classmethod
    def gather(cls, states: list[LinkState]) -> LinkFigures:
        """One store for ``states``, holding what each has now; each state then reads and
        writes its row there."""
        fig = cls(0)
        for name in COLUMNS:
            setattr(fig, name, [getattr(st._fig, name)[st._row] for st in states])
        for row, st in enumerate(states):
            st._bind(fig, row)
        return fig


class _Row:
    """Where a :class:`LinkState` keeps its :data:`COLUMNS`: a store and a row in it
    (slots outside the dataclass's fields: ``fields``, ``asdict`` and ``replace`` see
    only the fields)."""

    __slots__ = ("_fig", "_row")
    _fig: LinkFigures
    _row: int

    def _bind(self, fig: LinkFigures, row: int) -> None:
        self._fig, self._row = fig, row


@dataclass(slots=True)
class LinkState(_Row):
    """What an edge carries besides its endpoints.

    The fields in :data:`COLUMNS` live in a row of a :class:`LinkFigures` (the link's
    own, until the graph gathers every edge's into one for the cost round); read and set
    them like the others. A copy (``dataclasses.replace``, ``copy``, ``pickle``) has a
    row of its own."""

    src_port: int
    dst_port: int
    capacity_bps: int
    last_seen: float
    tx_bps: float = 0.0
    tx_pps: float = 0.0
    utilization: float = 0.0
    latency_ms: float | None = None
    predicted_cost: float | None = None
    predicted_latency_ms: float | None = None
    fallback_cost: float | None = None
    """Without a prediction: its cost on the same scale, from its measured delay."""
    features: list[float] | None = None
    features_at: float | None = None
    cost_override: float | None = None

    def __copy__(self) -> LinkState:
        return dataclasses.replace(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> LinkState:
        out = dataclasses.replace(self)
        if self.features is not None:
            out.features = copy.deepcopy(self.features, memo)
        return out

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _link_state, tuple(getattr(self, f) for f in self.__dataclass_fields__)


def _link_state(*values: Any) -> LinkState:
    return LinkState(*values)


def _own_row(state: LinkState) -> LinkFigures:
    """The state's store; a new one-row store the first time (its ``__init__``)."""
    try:
        return state._fig
    except AttributeError:
        state._bind(LinkFigures(), 0)
        return state._fig


def _column(name: str) -> property:
    """A field kept in the state's row; in float columns NaN reads as ``None``."""
    floats = name != "features"

    def get(self: LinkState) -> Any:
        value = getattr(self._fig, name)[self._row]
        return None if floats and value != value else value  # NaN: not set

    def set_(self: LinkState, value: Any) -> None:
        getattr(_own_row(self), name)[self._row] = math.nan if floats and value is None else value

    return property(get, set_)


for _name in COLUMNS:  # the dataclass's slots for these stay unused: rows hold them
    setattr(LinkState, _name, _column(_name))

LINK_FIELDS = frozenset(LinkState.__dataclass_fields__)
"""Every field a caller may set on a :class:`LinkState`."""


@dataclass(frozen=True)
class TopologyChange:
    """What one update changed: links added and removed (as keys)."""

    added: tuple[LinkKey, ...] = ()
    removed: tuple[LinkKey, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)
