"""The lease store and the shared key-value space on etcd, through its v3 HTTP/JSON
gateway (the ``etcd3gw`` client, as OpenStack uses it): leases, a create-if-absent
transaction for the leader key, reads with the key's creation revision and lease, and
prefix reads and writes for the operator state every instance shares.

Every call is bounded by ``timeout`` seconds; any failure to get an answer becomes
:class:`~controller.ha.election.StoreUnavailable` (the election and the shared state
treat that as "no news", never as "the key is gone").
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from controller.ha.election import Holder, StoreUnavailable

T = TypeVar("T")
MAX_PREFIX_KEYS = 20_000
"""A prefix read returns at most this many keys (the shared state is bounded too)."""


def _encode(text: str) -> str:
    """etcd's JSON gateway carries keys and values base64-encoded."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _guard(call: Callable[[], T]) -> T:
    from etcd3gw import exceptions

    try:
        return call()
    except (exceptions.ConnectionFailedError, exceptions.ConnectionTimeoutError) as exc:
        raise StoreUnavailable(f"etcd: {type(exc).__name__}: {str(exc)[:200]}") from None
    except exceptions.Etcd3Exception as exc:
        raise StoreUnavailable(f"etcd refused: {str(exc)[:200]}") from None
    except OSError as exc:
        raise StoreUnavailable(f"etcd: {exc}") from None


class EtcdStore:
    """One etcd endpoint (``http://host:port``); see the module docstring."""

    def __init__(self, endpoint: str, timeout: float = 1.0) -> None:
        from etcd3gw.client import Etcd3Client

        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"etcd endpoint must be http(s)://host:port, got {endpoint!r}")
        self.endpoint = endpoint
        self.client = Etcd3Client(
            host=parts.hostname,
            port=parts.port or 2379,
            protocol=parts.scheme,
            timeout=timeout,
            api_path="/v3/",
        )
        self._leases: dict[int, Any] = {}

    # ------------------------------------------------------------------ LeaseStore
    def grant(self, ttl: int) -> int:
        lease = _guard(lambda: self.client.lease(ttl))
        self._leases = {lease.id: lease}  # one lease at a time per instance
        return int(lease.id)

    def keep_alive(self, lease: int) -> bool:
        held = self._leases.get(lease)
        if held is None:
            return False
        return _guard(held.refresh) > 0

    def create(self, key: str, value: str, lease: int) -> int | None:
        txn = {
            "compare": [{"key": _encode(key), "result": "EQUAL", "target": "CREATE",
                         "create_revision": 0}],
            "success": [{"request_put": {"key": _encode(key), "value": _encode(value),
                                         "lease": lease}}],
            "failure": [],
        }  # fmt: skip
        result = _guard(lambda: self.client.transaction(txn))
        if not result.get("succeeded"):
            return None
        return int(result["header"]["revision"])  # the put's revision: the key's creation

    def read(self, key: str) -> Holder | None:
        found = _guard(lambda: self.client.get(key, metadata=True))
        if not found:
            return None
        value, meta = found[0]
        return Holder(
            value.decode("utf-8", "replace"),
            int(meta.get("create_revision", 0)),
            int(meta.get("lease", 0)),
        )

    def revoke(self, lease: int) -> None:
        held = self._leases.pop(lease, None)
        if held is not None:
            _guard(held.revoke)

    # ------------------------------------------------------------------ shared state
    def put(self, key: str, value: str) -> None:
        _guard(lambda: self.client.put(key, value))

    def delete(self, key: str) -> None:
        _guard(lambda: self.client.delete(key))

    def read_prefix(self, prefix: str) -> dict[str, str]:
        if not prefix.isascii() or not prefix:
            raise ValueError(f"prefix must be non-empty ASCII, got {prefix!r}")
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the range [prefix, end) is the prefix
        rows = _guard(
            lambda: self.client.get(prefix, metadata=True, range_end=end, limit=MAX_PREFIX_KEYS)
        )
        return {
            meta["key"].decode("utf-8", "replace"): value.decode("utf-8", "replace")
            for value, meta in rows
        }
