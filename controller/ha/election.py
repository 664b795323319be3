"""Leader election of a controller group through a lease in a shared store (etcd).

Plain logic, driven by ``tick(now)`` from the shell (every ``ttl / 3`` or so) against a
:class:`LeaseStore` (etcd in production, a fake in the unit tests):

* Each instance holds a lease of ``ttl`` seconds and keeps it alive on every tick.
* The leader key is created only if absent, bound to the creator's lease (an etcd
  transaction), so at most one instance holds it; it disappears with the lease when the
  leader dies or is cut off from the store, and another instance creates it.
* The key's creation revision is the leadership's **generation**: the store's revision
  grows monotonically, so each new leadership has a higher one. The leader sends it in
  ``OFPRoleRequest(MASTER)``; a switch refuses a request with a lower generation than one
  it has seen, so a deposed leader's late requests are refused (fencing at the switch).
* Fencing at home: a leader whose last confirmed keep-alive is older than
  ``ttl - safety`` stops acting as leader at once, before its lease can have expired in
  the store (the keep-alive's send time counts, not its reply's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class StoreUnavailable(Exception):
    """The store did not answer (down, partitioned, timed out)."""


@dataclass(frozen=True)
class Holder:
    """Who holds the leader key: its value (an instance id), creation revision, lease."""

    instance: str
    revision: int
    lease: int


class LeaseStore(Protocol):
    def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds; its id."""

    def keep_alive(self, lease: int) -> bool:
        """Renew the lease; False when it no longer exists (expired or revoked)."""

    def create(self, key: str, value: str, lease: int) -> int | None:
        """Create ``key`` bound to ``lease`` unless it exists: its creation revision, or
        None when it exists already."""

    def read(self, key: str) -> Holder | None:
        """Who holds ``key``, or None when it is absent."""

    def revoke(self, lease: int) -> None:
        """End the lease now (its keys go with it)."""


class Role(Enum):
    STANDBY = "standby"
    LEADER = "leader"


@dataclass(frozen=True)
class Change:
    """What a tick changed: the new role and leadership (for the shell to act on)."""

    role: Role
    generation: int | None
    leader: str | None
    reason: str


@dataclass
class ElectionState:
    role: Role = Role.STANDBY
    generation: int | None = None
    """The current leadership's generation (ours when leader, else the leader's)."""
    leader: str | None = None
    lease: int | None = None
    lease_confirmed_at: float | None = None
    """Send time of the latest keep-alive (or grant) the store confirmed."""
    store_ok: bool = False
    last_error: str = ""
    changes: int = 0


class Election:
    def __init__(
        self, store: LeaseStore, key: str, instance: str, ttl: int, safety: float = 1.0
    ) -> None:
        if ttl < 2:
            raise ValueError(f"lease ttl must be >= 2 s, got {ttl}")
        if not 0 < safety < ttl:
            raise ValueError(f"safety must be in (0, ttl), got {safety}")
        self.store = store
        self.key = key
        self.instance = instance
        self.ttl = ttl
        self.safety = safety
        self.state = ElectionState()

    @property
    def is_leader(self) -> bool:
        return self.state.role is Role.LEADER

    def tick(self, now: float) -> Change | None:
        """Renew, read, campaign; the change of role or leadership, if any."""
        st = self.state
        before = (st.role, st.generation, st.leader)
        reason = ""
        try:
            reason = self._renew(now)
            holder = self.store.read(self.key)
            if holder is None and st.lease is not None:
                revision = self.store.create(self.key, self.instance, st.lease)
                if revision is not None:
                    holder = Holder(self.instance, revision, st.lease)
                    reason = reason or "won the election"
                else:  # another instance was quicker
                    holder = self.store.read(self.key)
            st.store_ok, st.last_error = True, ""
            self._follow(holder)
        except StoreUnavailable as exc:
            st.store_ok, st.last_error = False, str(exc) or "store unavailable"
        if st.role is Role.LEADER and not self._lease_fresh(now):
            st.role = Role.STANDBY  # fencing: our lease may be gone in the store
            reason = f"lease not confirmed for {self.ttl - self.safety:.1f} s"
        after = (st.role, st.generation, st.leader)
        if after == before:
            return None
        st.changes += 1
        return Change(st.role, st.generation, st.leader, reason or "leader changed")

    def resign(self) -> None:
        """Give leadership up now (a clean stop): the lease and the key go."""
        st = self.state
        if st.lease is not None:
            try:
                self.store.revoke(st.lease)
            except StoreUnavailable:
                pass  # it expires by itself within ttl
        st.lease, st.lease_confirmed_at = None, None
        st.role, st.leader = Role.STANDBY, None

    # ------------------------------------------------------------------ internals
    def _renew(self, now: float) -> str:
        st = self.state
        if st.lease is not None:
            if self.store.keep_alive(st.lease):
                st.lease_confirmed_at = now
                return ""
            st.lease, st.lease_confirmed_at = None, None
            lost = "lease lost" if st.role is Role.LEADER else ""
            st.role = Role.STANDBY
            if lost:
                return lost
        st.lease = self.store.grant(self.ttl)
        st.lease_confirmed_at = now
        return ""

    def _follow(self, holder: Holder | None) -> None:
        st = self.state
        if holder is None:
            st.role, st.leader = Role.STANDBY, None
            return
        st.leader, st.generation = holder.instance, holder.revision
        # Ours only under our current lease: a key left by an earlier run of this same
        # instance (same id, an older lease that has not expired yet) is not.
        mine = st.lease is not None and holder.lease == st.lease
        st.role = Role.LEADER if mine else Role.STANDBY

    def _lease_fresh(self, now: float) -> bool:
        at = self.state.lease_confirmed_at
        return at is not None and now - at < self.ttl - self.safety
