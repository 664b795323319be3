"""A time bound for one call in the main thread: an interval timer whose SIGALRM raises.

Used by the fuzzers (testbed/fuzz_frames.py, testbed/fuzz_openflow.py) and by unit tests
that push hostile input through the controller: a parser that never returns is stopped
by the bound and reported, instead of blocking the run until pytest's own timeout.
"""

from __future__ import annotations

import contextlib
import gc
import signal
from collections.abc import Iterator
from types import FrameType


class Hang(Exception):
    """Raised by the interval timer: one call outlived its bound."""


class AlarmTimer:
    """A time bound in the main thread: SIGALRM raises ``exc_type`` while armed, and again
    every ``repeat`` seconds until disarmed (an exception raised inside a garbage-collector
    callback or a finalizer is swallowed as "unraisable"; the next one lands elsewhere)."""

    def __init__(self, exc_type: type[Exception] = Hang) -> None:
        self.exc_type = exc_type
        self.armed = False
        self.fired = 0

    def on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.fired += 1
            raise self.exc_type()

    def arm(self, seconds: float) -> None:
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds, max(seconds / 4, 0.01))

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


@contextlib.contextmanager
def installed(timer: AlarmTimer, collect: bool = False) -> Iterator[AlarmTimer]:
    """``timer`` handles SIGALRM for the block (the previous handler comes back after it,
    and no alarm is left pending). ``collect=False``: the garbage collector is off meanwhile,
    so the timer's exception cannot land in a GC callback; the caller collects between
    bounded calls if it makes many."""
    previous = signal.signal(signal.SIGALRM, timer.on_alarm)
    gc_was_enabled = gc.isenabled()
    if not collect:
        gc.disable()
    try:
        yield timer
    finally:
        timer.disarm()
        signal.signal(signal.SIGALRM, previous)
        if gc_was_enabled:
            gc.enable()


@contextlib.contextmanager
def bounded(seconds: float, exc_type: type[Exception] = Hang) -> Iterator[AlarmTimer]:
    """Run the block under a ``seconds`` bound: ``exc_type`` is raised in it when the bound
    passes (and again every quarter of it until the block gives up)."""
    timer = AlarmTimer(exc_type)
    with installed(timer):
        timer.arm(seconds)
        yield timer
