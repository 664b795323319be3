"""Operator state every instance of a group shares, kept in the store (etcd): the routing
metric and the cost overrides. Whatever an operator sets through any instance's REST is
written here first (a write that cannot be stored fails, so nothing is lost), and every
instance applies what it reads here; a new leader does so while it rediscovers the
network (an override for a link not yet seen waits for it: see ControllerCore).

Keys, under ``/sdn-costroute/<group>/``:
    operator/metric                          "cost"
    operator/cost/<src dpid>-<dst dpid>      "25.0"     (16 hex digits each)
    members/<instance>                       its REST URL (where writes are forwarded)
    leader                                   the leader's instance id (election.py)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Protocol

from controller.config import METRIC_CHOICES

MAX_SHARED_OVERRIDES = 10_000
_COST_KEY = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})")


class KeyValueStore(Protocol):
    def put(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def read_prefix(self, prefix: str) -> dict[str, str]: ...


def group_prefix(group: str) -> str:
    return f"/sdn-costroute/{group}/"


@dataclass
class OperatorState:
    metric: str | None = None
    overrides: dict[tuple[int, int], float] = field(default_factory=dict)
    malformed: int = 0
    """Entries in the store that are not valid (skipped, counted)."""


class SharedState:
    def __init__(self, store: KeyValueStore, group: str) -> None:
        self.store = store
        self.prefix = group_prefix(group)

    @property
    def leader_key(self) -> str:
        return self.prefix + "leader"

    def _cost_key(self, src: int, dst: int) -> str:
        return f"{self.prefix}operator/cost/{src:016x}-{dst:016x}"

    def publish_metric(self, metric: str) -> None:
        self.store.put(self.prefix + "operator/metric", metric)

    def publish_override(self, src: int, dst: int, cost: float | None) -> None:
        if cost is None:
            self.store.delete(self._cost_key(src, dst))
        else:
            self.store.put(self._cost_key(src, dst), repr(float(cost)))

    def publish_member(self, instance: str, rest_url: str) -> None:
        self.store.put(f"{self.prefix}members/{instance}", rest_url)

    def member_url(self, instance: str) -> str | None:
        found = self.store.read_prefix(f"{self.prefix}members/{instance}")
        return found.get(f"{self.prefix}members/{instance}")

    def read(self) -> OperatorState:
        """The shared operator state; invalid entries are skipped and counted."""
        state = OperatorState()
        base = self.prefix + "operator/"
        for key, value in self.store.read_prefix(base).items():
            name = key[len(base) :]
            if name == "metric":
                if value in METRIC_CHOICES:
                    state.metric = value
                else:
                    state.malformed += 1
            elif name.startswith("cost/") and (m := _COST_KEY.fullmatch(name[5:])):
                try:
                    cost = float(value)
                except ValueError:
                    cost = math.nan
                if math.isfinite(cost) and cost > 0 and len(state.overrides) < MAX_SHARED_OVERRIDES:
                    state.overrides[(int(m.group(1), 16), int(m.group(2), 16))] = cost
                else:
                    state.malformed += 1
            else:
                state.malformed += 1
        return state
