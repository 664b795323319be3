"""An etcd-like store for the unit tests of the high-availability logic."""

from __future__ import annotations

from controller.ha.election import Holder, StoreUnavailable


class FakeStore:
    """An etcd-like lease store with its own clock: leases expire ``ttl`` after their
    last keep-alive; keys bound to a lease go with it; every write bumps the revision."""

    def __init__(self) -> None:
        self.now = 0.0
        self.revision = 1
        self.leases: dict[int, tuple[int, float]] = {}  # id -> (ttl, expires at)
        self.keys: dict[str, Holder] = {}
        self.kv: dict[str, str] = {}
        self._ids = iter(range(100, 10**9))

    def expire(self) -> None:
        for lease, (_, until) in list(self.leases.items()):
            if until <= self.now:
                self._drop(lease)

    def _drop(self, lease: int) -> None:
        self.leases.pop(lease, None)
        for key in [k for k, h in self.keys.items() if h.lease == lease]:
            del self.keys[key]
            self.revision += 1

    def client(self, name: str, partitioned: set[str]) -> Client:
        return Client(self, name, partitioned)


class Client:
    def __init__(self, store: FakeStore, name: str, partitioned: set[str]) -> None:
        self.store, self.name, self.partitioned = store, name, partitioned

    def _reach(self) -> FakeStore:
        if self.name in self.partitioned:
            raise StoreUnavailable(f"{self.name} cut off")
        self.store.expire()
        return self.store

    def grant(self, ttl: int) -> int:
        s = self._reach()
        lease = next(s._ids)
        s.leases[lease] = (ttl, s.now + ttl)
        return lease

    def keep_alive(self, lease: int) -> bool:
        s = self._reach()
        if lease not in s.leases:
            return False
        ttl, _ = s.leases[lease]
        s.leases[lease] = (ttl, s.now + ttl)
        return True

    def create(self, key: str, value: str, lease: int) -> int | None:
        s = self._reach()
        if key in s.keys or lease not in s.leases:
            return None
        s.revision += 1
        s.keys[key] = Holder(value, s.revision, lease)
        return s.revision

    def read(self, key: str) -> Holder | None:
        return self._reach().keys.get(key)

    def revoke(self, lease: int) -> None:
        self._reach()._drop(lease)

    # the key-value side (shared operator state)
    endpoint = "fake://etcd"

    def put(self, key: str, value: str) -> None:
        s = self._reach()
        s.revision += 1
        s.kv[key] = value

    def delete(self, key: str) -> None:
        s = self._reach()
        if s.kv.pop(key, None) is not None:
            s.revision += 1

    def read_prefix(self, prefix: str) -> dict[str, str]:
        s = self._reach()
        found = {k: v for k, v in s.kv.items() if k.startswith(prefix)}
        found.update({k: h.instance for k, h in s.keys.items() if k.startswith(prefix)})
        return found
