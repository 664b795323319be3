"""The OpenFlow listener, connection reader and writer that replace Ryu 4.34's.

Its listener (``ryu.controller.controller.StreamServer``) had two defects, found at
scale and with TLS: see :class:`OpenFlowListener`. Its reader read a header, then the
rest of that one message: two system calls and two trips through the hub per message;
:func:`recv_loop` reads what the socket has, and tells a hook when it has handled a
read (the shell sends the replies then). Its writer was a greenlet per switch fed by a
queue: every write cost a queue hand-over and a greenlet switch; :func:`write_now`
writes at once when nothing of the switch's waits, and :func:`send_loop` (the queue's
writer, as Ryu's) joins what is queued into one write. :func:`install` puts them in
place.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

from ryu.base import app_manager  # noqa: F401  (first: Ryu's controller module needs it loaded)
from ryu.controller import controller as ryu_controller
from ryu.controller import ofp_event
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER
from ryu.lib import hub
from ryu.ofproto import ofproto_parser

from controller.southbound.reactor import HEADER, RECV_CHUNK, Reactor, plain_socket

LOG = logging.getLogger("controller.southbound")
TLS_HANDSHAKE_S = 10.0
OFP_LISTEN_BACKLOG = 1024
"""Pending OpenFlow connections the kernel queues (eventlet's default is 50: 1,000
switches connecting at once overflowed it, and each dropped SYN cost its switch a 1 s
retransmission; the kernel caps this at net.core.somaxconn)."""


class OpenFlowListener(hub.StreamServer):
    """Ryu's OpenFlow listener with a deep accept queue, and TLS that serves every
    switch, not just the first.

    Ryu 4.34's ``StreamServer`` pops the SSL context out of its shared arguments while
    wrapping the first connection, so every later one is wrapped without a certificate
    and fails its handshake (OVS: "sslv3 alert handshake failure"): with TLS on, only
    one switch could ever connect. Here the context is built once (TLS 1.2 at least), and
    a client that does not finish its handshake within ``TLS_HANDSHAKE_S`` is dropped."""

    def __init__(self, listen_info, handle=None, backlog=None, spawn="default", **ssl_args):
        ctx = ssl_args.pop("ssl_ctx", None)
        if ctx is None:
            super().__init__(listen_info, handle, backlog, spawn, **ssl_args)
            self.server.listen(OFP_LISTEN_BACKLOG)
            return
        super().__init__(listen_info, handle, backlog, spawn)
        self.server.listen(OFP_LISTEN_BACKLOG)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(ssl_args["certfile"], ssl_args["keyfile"])
        if "cert_reqs" in ssl_args:
            ctx.verify_mode = ssl_args["cert_reqs"]
        if "ca_certs" in ssl_args:
            ctx.load_verify_locations(ssl_args["ca_certs"])
        plain: Any = self.handle  # type: ignore[has-type]

        def handshake_then_handle(sock: Any, addr: Any) -> None:
            sock.settimeout(TLS_HANDSHAKE_S)
            try:
                tls = ctx.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                logging.getLogger("controller.app").warning(
                    "OpenFlow TLS handshake from %s refused: %s", addr, exc
                )
                sock.close()
                return
            plain(tls, addr)

        self.handle = handshake_then_handle


YIELD_EVERY = 2048
"""Messages handled in a row before other greenlets get a turn (as Ryu's loop)."""


_after_read: list[Callable[[], None]] = []
"""Called once the messages of a read are handled (see :func:`set_after_read`)."""


def set_after_read(hook: Callable[[], None] | None) -> None:
    """``hook()`` runs on the connection's greenlet after the messages of each read are
    handled: what they caused leaves in one write per switch, with no other greenlet in
    between (None: no hook)."""
    _after_read[:] = [hook] if hook is not None else []


def _dispatch(dp: Any, msg: Any) -> None:
    """Ryu's handlers for one parsed message, as Ryu's own reader runs them."""
    ev = ofp_event.ofp_msg_to_ev(msg)
    dp.ofp_brick.send_event_to_observers(ev, dp.state)
    state = dp.state  # handlers chosen before any runs (one may change it)
    handlers = [h for h in dp.ofp_brick.get_handlers(ev)
                if state in h.callers[ev.__class__].dispatchers]  # fmt: skip
    for handler in handlers:
        handler(ev)


def _holds_a_message(buf: bytearray) -> bool:
    if len(buf) < HEADER.size:
        return False
    return len(buf) >= max(HEADER.size, HEADER.unpack_from(buf)[2])


def recv_loop(dp: Any) -> None:
    """``Datapath._recv_loop``, reading up to ``RECV_CHUNK`` bytes at a time and handing
    every complete message in them to the (guarded) parser, in order, as Ryu's does. An
    established plain-TCP connection is read by the reactor (when installed) for as
    long as its messages are the fast path's."""
    buf = bytearray()
    count = 0
    while dp.state != DEAD_DISPATCHER:
        usable = _reactor and _reactor[0].usable and dp.state == MAIN_DISPATCHER
        raw = plain_socket(dp) if usable else None
        if raw is not None and not _holds_a_message(buf):
            back = _reactor[0].serve(dp, raw, buf)
            if back.error is not None:
                raise back.error
            if back.ended:
                break
            buf = back.buf
            if back.msg is not None:
                _dispatch(dp, back.msg)
        else:
            try:
                data = dp.socket.recv(RECV_CHUNK)
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                break  # the TLS peer is gone (Ryu's loop retried these for ever)
            except (TimeoutError, ssl.SSLError):  # a read timeout (eventlet: SSLError too)
                continue
            except (EOFError, OSError):
                break
            if not data:
                break
            buf += data
        at, end = 0, len(buf)
        while end - at >= HEADER.size:
            version, msg_type, msg_len, xid = HEADER.unpack_from(buf, at)
            msg_len = max(msg_len, HEADER.size)  # a length below the header's: Ryu's choice
            if end - at < msg_len:
                break
            msg = ofproto_parser.msg(dp, version, msg_type, msg_len, xid, buf[at : at + msg_len])
            at += msg_len
            if msg:
                _dispatch(dp, msg)
            count += 1
            if count > YIELD_EVERY:
                count = 0
                hub.sleep(0)
        del buf[:at]
        for hook in _after_read:
            hook()


SEND_JOIN = 64
"""Queued writes joined into one by :func:`send_loop`."""


def send_loop(dp: Any) -> None:
    """``Datapath._send_loop``: the writer of the switch's queue (as Ryu's, with its
    clean-up), joining what is queued into one write, and marking the connection busy
    while a write is under way so that :func:`write_now` never cuts in."""
    try:
        while dp.state != DEAD_DISPATCHER:
            buf, close_socket = dp.send_q.get()
            dp._send_q_sem.release()
            dp.sdn_writing = True
            parts = [buf]
            while not close_socket and len(parts) < SEND_JOIN and not dp.send_q.empty():
                more, close_socket = dp.send_q.get_nowait()
                dp._send_q_sem.release()
                parts.append(more)
            dp.socket.sendall(parts[0] if len(parts) == 1 else b"".join(parts))
            dp.sdn_writing = False
            if close_socket:
                break
    except (TimeoutError, OSError) as exc:  # as Ryu's: the reader sees the connection end
        LOG.debug("sending to %s failed: %r", getattr(dp, "address", "?"), exc)
    finally:
        q, dp.send_q = dp.send_q, None
        try:
            while q.get(block=False):
                dp._send_q_sem.release()
        except hub.QueueEmpty:
            pass
        dp._close_write()


def write_now(dp: Any, data: bytes) -> bool | None:
    """Write ``data`` to the switch's socket at once, without yielding, when nothing of
    the switch's is queued or being written (else None: queue it as usual). What the
    socket did not take is queued behind it. True when all of it is sent or queued,
    False when the connection is closing."""
    q = dp.send_q
    if q is None or getattr(dp, "sdn_writing", False) or q.qsize():
        return None
    raw = plain_socket(dp)
    if raw is None:  # TLS (or a stub): the writer greenlet's job
        return None
    try:
        sent = raw.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        return False  # the reader sees the connection end
    return True if sent == len(data) else bool(dp.send(data[sent:]))


_reactor: list[Reactor] = []


def install(reactor: bool = False) -> None:
    """Ryu's controller uses this module's listener, connection reader and writer (and,
    with ``reactor``, reads established plain-TCP connections in one greenlet)."""
    _reactor[:] = [Reactor(lambda: ofproto_parser.msg, _after_read)] if reactor else []
    ryu_controller.StreamServer = OpenFlowListener
    ryu_controller.Datapath._recv_loop = ryu_controller._deactivate(recv_loop)
    ryu_controller.Datapath._send_loop = send_loop
