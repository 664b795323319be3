"""One instance's part in a controller group: election, shared operator state, and what
the shell must do when the role changes. Plain logic; the Ryu shell calls :meth:`tick`
and acts on the change it returns (role requests to the switches, the core started or
stopped), and the REST layer goes through :meth:`publish_metric`/:meth:`publish_override`
(the store first) or, on a standby, forwards writes to the leader's REST URL.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, Protocol

from controller.config import Config
from controller.ha.election import Change, Election, LeaseStore, StoreUnavailable
from controller.ha.shared import KeyValueStore, OperatorState, SharedState

log = logging.getLogger("controller.ha")


class GroupStore(LeaseStore, KeyValueStore, Protocol):
    endpoint: str


class OperatorTarget(Protocol):
    """What the shared state is applied to (the core)."""

    metric: str
    cost_overrides: dict[tuple[int, int], float]

    def set_metric(self, metric: str) -> None: ...

    def set_cost_override(
        self, src: int, dst: int, cost: float | None, known_link: bool = True
    ) -> None: ...


@dataclass
class SyncCounters:
    syncs: int = 0
    applied_changes: int = 0
    malformed_entries: int = 0
    skipped_for_local_write: int = 0


class HaMember:
    def __init__(
        self, store: GroupStore, group: str, instance: str, ttl: int, rest_url: str
    ) -> None:
        self.store = store
        self.instance = instance
        self.rest_url = rest_url
        self.shared = SharedState(store, group)
        self.election = Election(store, self.shared.leader_key, instance, ttl,
                                 safety=min(1.0, ttl / 3))  # fmt: skip
        self.counters = SyncCounters()
        self._member_published = False
        self._writes = 0
        """Local operator writes so far: a store read that a write overtook is not applied."""
        self._leader_url: tuple[str, str | None] | None = None

    @property
    def is_leader(self) -> bool:
        return self.election.is_leader

    # ------------------------------------------------------------------ periodic
    def tick(self, now: float, target: OperatorTarget) -> Change | None:
        """Renew the lease and campaign; then bring ``target`` in line with the shared
        operator state. Returns the change of role or leadership, if any."""
        change = self.election.tick(now)
        if change is not None:
            role, why = change.role.value, change.reason
            log.info("HA %s: %s, leader %s, generation %s (%s)", self.instance, role,
                     change.leader, change.generation, why)  # fmt: skip
        if not self.election.state.store_ok:
            return change
        writes = self._writes
        try:
            if not self._member_published:
                self.shared.publish_member(self.instance, self.rest_url)
                self._member_published = True
            self.leader_url()  # read once per leader: where a standby forwards writes
            state = self.shared.read()
        except StoreUnavailable:
            return change
        if writes != self._writes:
            self.counters.skipped_for_local_write += 1
        else:
            self.apply(state, target)
        return change

    def apply(self, state: OperatorState, target: OperatorTarget) -> None:
        """Make ``target``'s metric and overrides those of the store."""
        c = self.counters
        c.syncs += 1
        c.malformed_entries = state.malformed
        if state.metric is not None and state.metric != target.metric:
            target.set_metric(state.metric)
            c.applied_changes += 1
        for link, cost in state.overrides.items():
            if target.cost_overrides.get(link) != cost:
                try:
                    target.set_cost_override(*link, cost, known_link=False)
                    c.applied_changes += 1
                except ValueError as exc:
                    log.warning("shared cost override %s not applied: %s", link, exc)
        for link in [k for k in target.cost_overrides if k not in state.overrides]:
            target.set_cost_override(*link, None, known_link=False)
            c.applied_changes += 1

    # ------------------------------------------------------------------ writes
    def publish_metric(self, metric: str) -> None:
        """Store the metric (raises StoreUnavailable: then nothing changes)."""
        self._writes += 1
        self.shared.publish_metric(metric)

    def publish_override(self, src: int, dst: int, cost: float | None) -> None:
        self._writes += 1
        self.shared.publish_override(src, dst, cost)

    def leader_url(self) -> str | None:
        """The leader's REST URL (read from the store once per leader)."""
        leader = self.election.state.leader
        if leader is None:
            return None
        if self._leader_url is None or self._leader_url[0] != leader:
            try:
                self._leader_url = (leader, self.shared.member_url(leader))
            except StoreUnavailable:
                return None
        return self._leader_url[1]

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        st = self.election.state
        return {
            "role": st.role.value,
            "instance": self.instance,
            "leader": st.leader,
            "leader_url": self._leader_url[1] if self._leader_url else None,
            "generation": st.generation,
            "etcd": self.store.endpoint,
            "etcd_ok": st.store_ok,
            "last_error": st.last_error or None,
            "role_changes": st.changes,
            "lease_ttl_s": self.election.ttl,
            **{k: v for k, v in vars(self.counters).items()},
        }


def member_from_config(config: Config, rest_url: str) -> HaMember | None:
    """The instance's group membership from ``ha_*`` (None: ``ha_etcd`` is empty)."""
    if not config.ha_etcd:
        return None
    from controller.ha.etcd_store import EtcdStore

    instance = config.ha_instance or f"{socket.gethostname()}-{os.getpid()}"[:64]
    store = EtcdStore(config.ha_etcd, timeout=max(0.5, config.ha_lease_ttl / 4))
    url = config.ha_advertise_url or rest_url
    return HaMember(store, config.ha_group, instance, config.ha_lease_ttl, url)
