"""The table of pair records and its indexes, kept in step in one place.

Lookups the runtime makes per event (a pair by its id, the pairs of a host) and the
records periodic work must look at (installs under way, moved-from paths draining) are
indexes here, so no packet-in, probe or housekeeping tick walks every pair.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView

from controller.forwarding.plan import PairKey
from controller.forwarding.records import PairRecord


class PairTable:
    """``records`` (PairKey -> PairRecord) with its indexes; change it only through
    :meth:`put` and :meth:`pop`."""

    def __init__(self) -> None:
        self.records: dict[PairKey, PairRecord] = {}
        self._by_pair_id: dict[int, PairKey] = {}
        self._by_host: dict[str, set[PairKey]] = {}
        self._busy: dict[PairKey, None] = {}
        """Pairs that may have an install running or a moved-from path draining."""

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: PairKey) -> PairRecord | None:
        return self.records.get(key)

    def by_pair_id(self, pair_id: int) -> PairRecord | None:
        key = self._by_pair_id.get(pair_id)
        return self.records.get(key) if key is not None else None

    def pair_ids(self) -> KeysView[int]:
        return self._by_pair_id.keys()

    def hosts(self) -> KeysView[str]:
        """MACs that are an end of at least one pair."""
        return self._by_host.keys()

    def keys_of(self, macs: Iterable[str]) -> list[PairKey]:
        """The pairs with an end among ``macs``, each once, in a stable order."""
        found: dict[PairKey, None] = {}
        for mac in macs:
            for key in self._by_host.get(mac, ()):
                found[key] = None
        return sorted(found)

    def put(self, record: PairRecord) -> None:
        """Add or replace the record of ``record.key``."""
        old = self.records.get(record.key)
        if old is not None and old.pair_id != record.pair_id:
            self._by_pair_id.pop(old.pair_id, None)
        self.records[record.key] = record
        self._by_pair_id[record.pair_id] = record.key
        for mac in record.key:
            self._by_host.setdefault(mac, set()).add(record.key)
        self.mark_busy(record)

    def pop(self, key: PairKey) -> PairRecord | None:
        record = self.records.pop(key, None)
        if record is None:
            return None
        self._by_pair_id.pop(record.pair_id, None)
        self._busy.pop(key, None)
        for mac in key:
            keys = self._by_host.get(mac)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_host[mac]
        return record

    def mark_busy(self, record: PairRecord) -> None:
        """The record has (or may soon have) an install or a draining moved-from path."""
        if record.install is not None or record.previous is not None:
            self._busy[record.key] = None

    def busy(self) -> list[PairRecord]:
        """Records with an install running or a moved-from path left (the others leave
        the index as they are met)."""
        out = []
        for key in list(self._busy):
            record = self.records.get(key)
            if record is None or (record.install is None and record.previous is None):
                del self._busy[key]
            else:
                out.append(record)
        return out
