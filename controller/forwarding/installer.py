"""Staged path installation: egress first, each stage confirmed by a barrier reply.

Plain state machine; the app shell sends what it returns and feeds back barrier
replies and the time. A job whose switch does not answer within the timeout fails.
Starting a job with the name of a running one cancels the older one, so a stale
install can never overwrite a newer path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from controller.southbound.messages import InstallJob, Message

XID_BASE = 0x5D00_0000


@dataclass(frozen=True)
class SendStage:
    """Send ``messages`` to ``dpid``, then a barrier request with ``barrier_xid``."""

    dpid: int
    messages: tuple[Message, ...]
    barrier_xid: int


@dataclass(frozen=True)
class JobResult:
    name: str
    ok: bool
    reason: str = ""


@dataclass
class _Running:
    job: InstallJob
    index: int
    dpid: int
    xid: int
    deadline: float


@dataclass
class Installer:
    barrier_timeout: float = 2.0
    _running: dict[str, _Running] = field(default_factory=dict)
    _by_xid: dict[tuple[int, int], str] = field(default_factory=dict)
    _xids: itertools.count[int] = field(default_factory=lambda: itertools.count(XID_BASE))

    def _send(self, run: _Running, now: float) -> SendStage:
        stage = run.job.stages[run.index]
        run.dpid, run.xid = stage.dpid, next(self._xids) & 0xFFFFFFFF
        run.deadline = now + self.barrier_timeout
        self._by_xid[(run.dpid, run.xid)] = run.job.name
        return SendStage(stage.dpid, stage.messages, run.xid)

    def start(self, job: InstallJob, now: float) -> tuple[list[SendStage], list[JobResult]]:
        """Begin ``job``; returns the first stage to send (or its completion if it is empty)."""
        cancelled = []
        if job.name in self._running:
            self._forget(job.name)
            cancelled.append(JobResult(job.name, False, "superseded"))
        if not job.stages:
            return [], [*cancelled, JobResult(job.name, True)]
        run = _Running(job, 0, 0, 0, 0.0)
        self._running[job.name] = run
        return [self._send(run, now)], cancelled

    def begin(
        self, cancel: list[str], jobs: list[InstallJob], now: float
    ) -> tuple[list[SendStage], list[JobResult]]:
        """Cancel, then start, in one step with no I/O: the shell calls this before it
        sends anything, so no other handler can interleave an older plan."""
        stages: list[SendStage] = []
        results: list[JobResult] = []
        for name in cancel:
            results += self.fail(name, "cancelled")
        for job in jobs:
            st, res = self.start(job, now)
            stages += st
            results += res
        return stages, results

    def on_barrier_reply(
        self, dpid: int, xid: int, now: float
    ) -> tuple[list[SendStage], list[JobResult]]:
        name = self._by_xid.pop((dpid, xid), None)
        if name is None:
            return [], []
        run = self._running.get(name)
        if run is None or (run.dpid, run.xid) != (dpid, xid):
            return [], []
        run.index += 1
        if run.index >= len(run.job.stages):
            del self._running[name]
            return [], [JobResult(name, True)]
        return [self._send(run, now)], []

    def fail(self, name: str, reason: str) -> list[JobResult]:
        if name not in self._running:
            return []
        self._forget(name)
        return [JobResult(name, False, reason)]

    def switch_gone(self, dpid: int) -> list[JobResult]:
        """Jobs waiting on a switch that disconnected fail now."""
        names = [n for n, r in self._running.items() if r.dpid == dpid]
        return [res for n in names for res in self.fail(n, f"switch {dpid:016x} disconnected")]

    def expire(self, now: float) -> list[JobResult]:
        late = [n for n, r in self._running.items() if now > r.deadline]
        return [res for n in late for res in self.fail(n, "barrier timeout")]

    def _forget(self, name: str) -> None:
        run = self._running.pop(name)
        self._by_xid.pop((run.dpid, run.xid), None)

    def running(self) -> list[str]:
        return sorted(self._running)
