"""Rate and delay histories as NumPy rings, so a cost round reads thousands of links at
once (see :mod:`controller.linkcost.batch`).

:class:`PortRing` mirrors :class:`~controller.linkcost.stats.TrafficStats`: every rate
sample of a port is written to its row as it is computed. :class:`DelayRing` keeps each
directed link's measured delay at the last cost rounds. Rows are reused when their port
or link goes, so the arrays stay as large as the network.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np

RATE_FIELDS = ("at", "tx_bps", "rx_bps", "tx_pps", "rx_pps", "drops_ps", "errors_ps")
AT, TX_BPS, RX_BPS, TX_PPS, RX_PPS, DROPS_PS, ERRORS_PS = range(len(RATE_FIELDS))


class Ring:
    """``fields`` values per sample, the last ``depth`` samples per key, in rows."""

    def __init__(self, fields: int, depth: int, rows: int = 64) -> None:
        self.depth = depth
        self.data = np.zeros((fields, rows, depth))
        """Field-major: one field of a row's samples is contiguous (a round reads few
        fields of many rows)."""
        self.count = np.zeros(rows, dtype=np.int64)
        """Valid samples per row (at most ``depth``)."""
        self.head = np.zeros(rows, dtype=np.int64)
        """Where the row's next sample goes."""
        self.rows: dict[Hashable, int] = {}
        self._free: list[int] = []
        self.layout = 0
        """Bumped when a key gets or loses its row (for caches of row lookups)."""
        self._slots: dict[int, np.ndarray] = {}

    def row(self, key: Hashable) -> int:
        """The key's row, allocated (empty) on first use."""
        r = self.rows.get(key)
        if r is not None:
            return r
        if self._free:
            r = self._free.pop()
        else:
            r = len(self.rows)
            if r >= len(self.count):
                self._grow()
        self.count[r] = self.head[r] = 0
        self.rows[key] = r
        self.layout += 1
        return r

    def _grow(self) -> None:
        n = 2 * len(self.count)
        self.data = np.concatenate([self.data, np.zeros_like(self.data)], axis=1)
        self.count = np.concatenate([self.count, np.zeros(n - len(self.count), np.int64)])
        self.head = np.concatenate([self.head, np.zeros(n - len(self.head), np.int64)])

    def push(self, key: Hashable, sample: tuple[float, ...]) -> None:
        r = self.row(key)
        h = self.head[r]
        self.data[:, r, h] = sample
        self.head[r] = (h + 1) % self.depth
        if self.count[r] < self.depth:
            self.count[r] += 1

    def forget(self, keys: Iterable[Hashable]) -> None:
        for key in keys:
            r = self.rows.pop(key, None)
            if r is not None:
                self._free.append(r)
                self.layout += 1

    def lookup(self, keys: Iterable[Hashable]) -> np.ndarray:
        """Rows of ``keys``, -1 for a key without one."""
        get = self.rows.get
        return np.fromiter((get(k, -1) for k in keys), dtype=np.int64)

    def last(self, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The last ``n`` samples of each row, oldest first: ``(values, valid)`` of shapes
        ``(len(rows), n, fields)`` and ``(len(rows), n)``; a row of -1 has none."""
        safe = np.where(rows >= 0, rows, 0)
        k = np.arange(n)
        pos = (self.head[safe][:, None] - n + k[None, :]) % self.depth
        count = np.where(rows >= 0, self.count[safe], 0)
        valid = k[None, :] >= (n - np.minimum(count, n))[:, None]
        return self.data[:, safe[:, None], pos].transpose(1, 2, 0), valid

    def last_fields(
        self, rows: np.ndarray, n: int, fields: tuple[int, ...]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """:meth:`last` of only these fields, sample-major: one ``(n, len(rows))`` array
        per field, and ``valid`` of that shape (a cost round reads few fields of many
        samples: a gather costs per value, and a reduction over a row's samples is
        several times faster along whole rows)."""
        at, valid = self._window(rows, n)
        return [self.data[f].reshape(-1)[at] for f in fields], valid

    def _window(self, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample-major, shape ``(n, len(rows))``: the flat sample index (row * depth +
        slot) of each row's last ``n`` samples, oldest first, and which hold a sample."""
        safe = np.where(rows >= 0, rows, 0)
        slots = self._slots.get(n)
        if slots is None:  # by head: the ring slots of the last n samples, oldest first
            heads = np.arange(self.depth)[None, :]
            slots = self._slots[n] = (heads - n + np.arange(n)[:, None]) % self.depth
        at = slots[:, self.head[safe]] + safe * self.depth
        count = np.where(rows >= 0, self.count[safe], 0)
        valid = np.arange(n)[:, None] >= n - np.minimum(count, n)
        return at, valid


class PortRing(Ring):
    """Per (dpid, port): the rate samples :class:`TrafficStats` computes, and the EWMA."""

    def __init__(self, depth: int) -> None:
        super().__init__(len(RATE_FIELDS), depth)
        self.ewma_tx_bps = np.zeros(len(self.count))

    def _grow(self) -> None:
        super()._grow()
        self.ewma_tx_bps = np.concatenate([self.ewma_tx_bps, np.zeros_like(self.ewma_tx_bps)])

    def push_rates(self, key: Hashable, sample: tuple[float, ...], ewma_tx_bps: float) -> None:
        self.push(key, sample)
        self.ewma_tx_bps[self.rows[key]] = ewma_tx_bps


class DelayRing(Ring):
    """Per directed link: (time, measured delay ms) at each of the last cost rounds."""

    def __init__(self, depth: int) -> None:
        super().__init__(2, depth)

    def push_rows(
        self, keys: list[Hashable], at: float, delay_ms: np.ndarray, rows: np.ndarray | None = None
    ) -> None:
        """One sample for each of the links (distinct), taken at ``at``: by their ``rows``
        as looked up before, or by their ``keys`` (needed only without ``rows``, or where
        one is -1: a link without a row yet)."""
        if not len(delay_ms):
            return
        if rows is None or (rows < 0).any():
            rows = np.fromiter((self.row(k) for k in keys), dtype=np.int64, count=len(keys))
        h = self.head[rows]
        self.data[0, rows, h] = at
        self.data[1, rows, h] = delay_ms
        self.head[rows] = (h + 1) % self.depth
        self.count[rows] = np.minimum(self.count[rows] + 1, self.depth)
