"""The forwarding runtime's records: one per host pair, its install, their outcomes."""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from enum import Enum

from controller.forwarding.plan import (
    DIRECTIONS,
    Direction,
    Hop,
    PairKey,
    PairPlan,
    retire_messages,
)
from controller.routing.paths import Path
from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    PAIR_BITS,
    FlowCounters,
    FlowStatsRequest,
    Message,
    Stage,
    path_cookie,
    split_cookie,
)

RATE_WINDOW = 3


class PairState(Enum):
    INSTALLING = "installing"
    INSTALLED = "installed"


class Outcome(Enum):
    """How an installation ended."""

    DONE = "done"
    SUPERSEDED = "superseded"  # a newer installation of the same pair took over
    CANCELLED = "cancelled"  # the pair was dropped
    SWITCH_GONE = "switch gone"
    BARRIER_TIMEOUT = "barrier timeout"
    SWITCH_ERROR = "switch error"
    GAVE_UP = "gave up"  # backstop: an installation older than all its stages allow


@dataclass(frozen=True)
class InstallResult:
    key: PairKey
    generation: int
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class HeldPacket:
    dpid: int
    in_port: int
    data: bytes


@dataclass
class Install:
    """A running installation: steps of stages, one after another; the stages of a step
    go out together and the step is done when every one's barrier came back."""

    steps: tuple[tuple[Stage, ...], ...]
    started: float
    index: int = 0
    waiting: dict[int, int] = field(default_factory=dict)
    """The running step's switches whose barrier has not come back: dpid -> its xid."""
    deadline: float = 0.0
    sent_at: float = 0.0
    """When the running step's barriers went out."""

    @classmethod
    def one_by_one(cls, stages: Iterable[Stage], started: float) -> Install:
        """Each stage its own step (a move: every switch confirmed before the next)."""
        return cls(tuple((s,) for s in stages), started)

    @classmethod
    def ingress_last(cls, stages: tuple[Stage, ...], started: float) -> Install:
        """A new path: every switch but the sender's ingress at once, then the ingress
        (``stages`` egress first, ingress last). The sender's packets are held until
        then and its ingress has no entry, so none meets a switch without its flow."""
        steps = (stages[:-1], stages[-1:]) if len(stages) > 1 else (stages,)
        return cls(tuple(s for s in steps if s), started)

    def stage_count(self) -> int:
        return sum(len(step) for step in self.steps)


class BarrierWaits:
    """Which pair waits for which (switch, xid) barrier reply, over every running install."""

    def __init__(self) -> None:
        self._owner: dict[tuple[int, int], PairKey] = {}

    def expect(self, run: Install, key: PairKey, dpid: int, xid: int) -> None:
        run.waiting[dpid] = xid
        self._owner[(dpid, xid)] = key

    def owner(self, dpid: int, xid: int) -> PairKey | None:
        return self._owner.get((dpid, xid))

    def answered(self, run: Install, dpid: int, xid: int) -> None:
        del run.waiting[dpid], self._owner[(dpid, xid)]

    def forget(self, run: Install | None) -> None:
        """The install ended or was dropped: its outstanding barriers count no more."""
        for dpid, xid in run.waiting.items() if run is not None else ():
            self._owner.pop((dpid, xid), None)


@dataclass
class PairRecord:
    """Everything about one host pair: its route, its state and what hangs off it."""

    key: PairKey
    pair_id: int
    generation: int
    paths: dict[Direction, Path]
    """The switch path of each direction (its metric and link costs when planned)."""
    hops: dict[Direction, tuple[Hop, ...]]
    state: PairState
    since: float
    """When this installation was planned."""
    held: list[HeldPacket] = field(default_factory=list)
    install: Install | None = None
    live: set[Direction] = field(default_factory=lambda: set(DIRECTIONS))
    """Directions whose flows are in place (an idle-out removes one)."""
    installed_at: float | None = None
    moves: int = 0
    """Planned moves (re-optimization), not counting failure reroutes."""
    last_move: str = ""
    last_move_at: float | None = None
    rate_bps: dict[Direction, float] = field(default_factory=dict)
    """Each direction's own rate: the largest of its last RATE_WINDOW rates from its
    ingress flow's byte counter (flow stats), once there are two."""
    byte_samples: dict[Direction, tuple[float, int]] = field(default_factory=dict)
    recent_rates: dict[Direction, deque[float]] = field(default_factory=dict)
    previous: PairPlan | None = None
    """While a move runs, and for a drain time after it: the plan it moved away from,
    whose flows stay in place until ``retire_at``."""
    retire_at: float | None = None

    def retire_due(self, now: float) -> list[Message]:
        """The moved-from path's deletes once its drain time is over (then it is gone)."""
        if self.previous is None or self.retire_at is None or now < self.retire_at:
            return []
        old, self.previous, self.retire_at = self.previous, None, None
        return list(retire_messages(old))

    def observe_ingress_bytes(self, d: Direction, now: float, byte_count: int) -> None:
        """A byte counter of direction ``d``'s ingress flow: its rate since the last one."""
        last = self.byte_samples.get(d)
        self.byte_samples[d] = (now, byte_count)
        if last is not None and now > last[0] and byte_count >= last[1]:
            recent = self.recent_rates.setdefault(d, deque(maxlen=RATE_WINDOW))
            recent.append(8 * (byte_count - last[1]) / (now - last[0]))
            if len(recent) >= 2:  # a flow ramping up would look smaller than it is
                self.rate_bps[d] = max(recent)

    def movable(self, now: float, holddown: float) -> bool:
        """Installed, both directions live, and not moved within ``holddown``."""
        return (
            self.state is PairState.INSTALLED
            and self.live == set(DIRECTIONS)
            and (self.last_move_at is None or now - self.last_move_at >= holddown)
        )

    def all_switches(self) -> list[int]:
        """Switches holding any of the pair's flows: its plan's and a moved-from plan's."""
        now = self.plan().switches()
        return now + [
            d for d in (self.previous.switches() if self.previous else ()) if d not in now
        ]

    def links(self) -> set[tuple[int, int]]:
        """Every switch link either direction crosses."""
        return {(u.dpid, v.dpid) for d in DIRECTIONS for u, v in itertools.pairwise(self.hops[d])}

    @property
    def path(self) -> Path:
        """The a->b path."""
        return self.paths[Direction.A_TO_B]

    @property
    def a(self) -> str:
        return self.key.a

    @property
    def b(self) -> str:
        return self.key.b

    @property
    def installed(self) -> bool:
        return self.state is PairState.INSTALLED

    @property
    def cookie(self) -> int:
        """The pair's cookie with generation and direction bits clear."""
        return path_cookie(self.pair_id, 0, 0)

    def flow_cookie(self, direction: Direction) -> int:
        return path_cookie(self.pair_id, self.generation, int(direction))

    def ingress(self, direction: Direction) -> int:
        return self.hops[direction][0].dpid

    def is_ingress_flow(self, dpid: int, cookie: int) -> bool:
        """Is this the current installation's flow where its direction enters the fabric?"""
        d = Direction(cookie & 1)
        return cookie == self.flow_cookie(d) and dpid == self.ingress(d)

    def plan(self) -> PairPlan:
        return PairPlan(self.key, self.pair_id, self.generation, self.hops)


class PairIds:
    """Ids for new pairs: counting up from ``start``, never one in use or reserved (carried
    by flows found on a switch, e.g. a previous controller process's, while they wait to
    be adopted or deleted)."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self._reserved: set[int] = set()

    def reserve(self, pair_id: int) -> None:
        self._reserved.add(pair_id)

    def release(self, pair_id: int) -> None:
        self._reserved.discard(pair_id)

    def allocate(self, in_use: Container[int]) -> int:
        while True:
            pair_id, self._next = self._next, self._next % PAIR_BITS + 1
            if pair_id not in self._reserved and pair_id not in in_use:
                return pair_id


def first_pair_id(nonce: int) -> int:
    """Where a process starts counting pair ids: random per process (from its nonce), in
    the lower half of the id space. Ids read from switches are reserved as they are read;
    this makes it unlikely, too, that a new pair takes the id of a previous process's
    pair whose switches have not connected yet."""
    digest = hashlib.blake2b(b"sdn-pair-ids" + nonce.to_bytes(32, "big"), digest_size=8)
    return 1 + int.from_bytes(digest.digest(), "big") % (PAIR_BITS >> 1)


@dataclass
class ForwardingCounters:
    installs_started: int = 0
    moves: int = 0
    paths_installed: int = 0
    reroutes: int = 0
    installs_failed: int = 0
    paths_adopted: int = 0
    """Pairs found installed on the switches at switch up and taken over as they are."""
    found_flows_deleted: int = 0
    """Flows found on the switches at switch up that fit no pair (or an older
    installation of one), deleted."""
    pairs_refused: int = 0
    """New pairs not installed: the pair table held ``max_pairs``."""


def ingress_stats_requests(records: Iterable[PairRecord]) -> list[FlowStatsRequest]:
    """Our flows' counters from every switch where an installed pair enters."""
    ingress = {r.ingress(d) for r in records for d in r.live}
    return [FlowStatsRequest(d, COOKIE_APP, COOKIE_APP_MASK) for d in sorted(ingress)]


def observe_ingress_counters(
    record_of: Callable[[int], PairRecord | None], dpid: int, flows: list[FlowCounters], now: float
) -> None:
    """Byte counters of ingress flows -> each direction's own rate."""
    for f in flows:
        parts = split_cookie(f.cookie)
        record = record_of(parts[0]) if parts is not None else None
        if record is not None and record.is_ingress_flow(dpid, f.cookie):
            record.observe_ingress_bytes(Direction(f.cookie & 1), now, f.byte_count)
