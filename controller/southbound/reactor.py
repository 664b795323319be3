"""One greenlet that reads every established plain-TCP switch connection.

Under eventlet each connection's reader is its own greenlet: every wait for data is a
timer, two ``epoll_ctl`` calls, a greenlet switch and a failed ``recv``, and every read
is flushed on its own. With hundreds of small reads a second (packet-ins, barrier
replies) that was most of the controller's time. Here the connections in
``MAIN_DISPATCHER`` are registered once with an epoll set of our own; one greenlet waits
on that set, reads every connection that has data, hands each message to the (guarded)
parser, whose fast path (:mod:`controller.southbound.fastpath`) handles it, and runs the
after-read hooks once per round: the replies of a round leave as one write per switch.

A message the fast path does not take (port status, flow removed, flow stats, ...) is
not run here: the connection goes back to its own greenlet with that message first and
the rest of its bytes, in order, and Ryu's handlers run there as before (one that blocks
holds up that switch only). The reactor never blocks: reads are non-blocking and the
fast path never yields. TLS connections stay with their greenlets throughout.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import eventlet.patcher
from eventlet.hubs import trampoline
from ryu.controller.handler import DEAD_DISPATCHER
from ryu.lib import hub

from controller.southbound.fastpath import FAST_TYPES

LOG = logging.getLogger("controller.southbound")

RECV_CHUNK = 65536
"""Bytes read from a connection at a time (here and by its own greenlet's reader)."""
MAX_EVENTS = 1024
DEAD_CHECK_S = 0.5
"""How often connections closed by the controller (``Datapath.close``) are looked for."""
HEADER = struct.Struct("!BBHI")


@dataclass
class Handback:
    """What the connection's own greenlet gets back."""

    buf: bytearray = field(default_factory=bytearray)
    """Bytes not yet handled (starting with ``msg``'s successor when ``msg`` is set)."""
    msg: Any = None
    """A parsed message for Ryu's handlers, to run before ``buf``."""
    ended: bool = False
    """The connection is over (end of stream, an error, or the controller closed it)."""
    error: BaseException | None = None
    """The parser refused a message: raised on the connection's greenlet (Ryu closes it)."""


@dataclass
class _Conn:
    dp: Any
    raw: socket.socket
    fd: int
    buf: bytearray
    done: Any  # hub.Event
    result: Handback | None = None


_OS_SOCKET: type = eventlet.patcher.original("socket").socket
"""The standard library's socket class (``socket.socket`` is eventlet's once Ryu has
monkey-patched the process)."""
_OS_SELECT: Any = eventlet.patcher.original("select")


def plain_socket(dp: Any) -> socket.socket | None:
    """The non-blocking OS socket under an eventlet green socket (None: TLS or a stub)."""
    raw = getattr(getattr(dp, "socket", None), "fd", None)
    return cast(socket.socket, raw) if type(raw) is _OS_SOCKET else None


class Reactor:
    def __init__(
        self,
        parse: Callable[[], Callable[..., Any]],
        after_read: list[Callable[[], None]],
    ) -> None:
        self._parse = parse
        """Returns the parser to use (looked up per round: the guard may be re-installed)."""
        self._after_read = after_read
        self._epoll: Any = _OS_SELECT.epoll()  # eventlet's green select has none
        self._conns: dict[int, _Conn] = {}
        self._thread: Any = None
        self._last_dead_check = 0.0
        self.usable = True
        """False after a defect of the reactor: every connection reads for itself."""

    def serve(self, dp: Any, raw: socket.socket, buf: bytearray) -> Handback:
        """Read ``dp`` here until it needs its own greenlet again or ends; blocks the
        calling (the connection's) greenlet meanwhile. ``buf`` holds no whole message."""
        fd = raw.fileno()
        conn = _Conn(dp, raw, fd, buf, hub.Event())
        try:
            self._epoll.register(fd, _OS_SELECT.EPOLLIN)
        except FileExistsError:  # a closed socket's number, reused before it was dropped
            self._epoll.modify(fd, _OS_SELECT.EPOLLIN)
        self._conns[fd] = conn
        if self._thread is None:
            self._thread = hub.spawn(self._run)
        try:
            conn.done.wait()
        finally:
            self._drop(conn)  # also when this greenlet is killed while it waits
        assert conn.result is not None
        return conn.result

    def _drop(self, conn: _Conn) -> None:
        if self._conns.get(conn.fd) is conn:
            del self._conns[conn.fd]
            try:
                self._epoll.unregister(conn.fd)
            except (OSError, ValueError):
                pass  # closed already: the kernel dropped it from the set

    def _end(self, conn: _Conn, result: Handback) -> None:
        self._drop(conn)  # before the greenlet runs on and may close the socket
        conn.result = result
        conn.done.set()

    def _run(self) -> None:
        try:
            while self._conns:
                try:
                    trampoline(self._epoll.fileno(), read=True, timeout=DEAD_CHECK_S,
                               timeout_exc=TimeoutError)  # fmt: skip
                except TimeoutError:
                    pass
                ready = self._epoll.poll(0, MAX_EVENTS)
                parse = self._parse()
                for fd, _events in ready:
                    conn = self._conns.get(fd)
                    if conn is not None:
                        self._read(conn, parse)
                if ready:
                    for hook in self._after_read:
                        hook()
                now = time.monotonic()
                if now - self._last_dead_check >= DEAD_CHECK_S:
                    self._last_dead_check = now
                    for conn in [c for c in self._conns.values() if c.dp.state == DEAD_DISPATCHER]:
                        self._end(conn, Handback(conn.buf, ended=True))
        except Exception:  # a defect of ours: every connection back to its own greenlet
            LOG.exception("switch reactor failed; connections are read by their own greenlets")
            self.usable = False
            for conn in list(self._conns.values()):
                self._end(conn, Handback(conn.buf))
        finally:
            self._thread = None

    def _read(self, conn: _Conn, parse: Callable[..., Any]) -> None:
        try:
            data = conn.raw.recv(RECV_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self._end(conn, Handback(conn.buf, ended=True))
            return
        if not data:
            self._end(conn, Handback(conn.buf, ended=True))
            return
        buf, dp = conn.buf, conn.dp
        buf += data
        at, end = 0, len(buf)
        while end - at >= HEADER.size:
            version, msg_type, msg_len, xid = HEADER.unpack_from(buf, at)
            msg_len = max(msg_len, HEADER.size)  # as the connection's own reader
            if end - at < msg_len:
                break
            if msg_type not in FAST_TYPES:  # Ryu's handlers: on the connection's greenlet
                self._end(conn, Handback(buf[at:]))
                return
            try:
                msg = parse(dp, version, msg_type, msg_len, xid, buf[at : at + msg_len])
            except Exception as exc:  # refused by the guard: the connection ends there
                self._end(conn, Handback(bytearray(), error=exc))
                return
            at += msg_len
            if msg:  # a fast type the fast path passed on (e.g. another multipart)
                self._end(conn, Handback(buf[at:], msg=msg))
                return
            if dp.state == DEAD_DISPATCHER:
                self._end(conn, Handback(buf[at:], ended=True))
                return
        del buf[:at]
