"""The OpenFlow listener and connection reader that replace Ryu 4.34's.

Its listener (``ryu.controller.controller.StreamServer``) had two defects, found at
scale and with TLS: see :class:`OpenFlowListener`. Its reader read a header, then the
rest of that one message: two system calls and two trips through the hub per message;
:func:`recv_loop` reads what the socket has. :func:`install` puts both in place.
"""

from __future__ import annotations

import logging
import ssl
import struct
from typing import Any

from ryu.base import app_manager  # noqa: F401  (first: Ryu's controller module needs it loaded)
from ryu.controller import controller as ryu_controller
from ryu.controller import ofp_event
from ryu.controller.handler import DEAD_DISPATCHER
from ryu.lib import hub
from ryu.ofproto import ofproto_parser

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


RECV_CHUNK = 65536
_HEADER = struct.Struct("!BBHI")
YIELD_EVERY = 2048
"""Messages handled in a row before other greenlets get a turn (as Ryu's loop)."""


def recv_loop(dp: Any) -> None:
    """``Datapath._recv_loop``, reading up to ``RECV_CHUNK`` bytes at a time and handing
    every complete message in them to the (guarded) parser, in order, as Ryu's does."""
    buf = bytearray()
    count = 0
    while dp.state != DEAD_DISPATCHER:
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
        while end - at >= _HEADER.size:
            version, msg_type, msg_len, xid = _HEADER.unpack_from(buf, at)
            msg_len = max(msg_len, _HEADER.size)  # a length below the header's: Ryu's choice
            if end - at < msg_len:
                break
            msg = ofproto_parser.msg(dp, version, msg_type, msg_len, xid, buf[at : at + msg_len])
            at += msg_len
            if msg:
                ev = ofp_event.ofp_msg_to_ev(msg)
                dp.ofp_brick.send_event_to_observers(ev, dp.state)
                state = dp.state  # handlers chosen before any runs (one may change it)
                handlers = [h for h in dp.ofp_brick.get_handlers(ev)
                            if state in h.callers[ev.__class__].dispatchers]  # fmt: skip
                for handler in handlers:
                    handler(ev)
            count += 1
            if count > YIELD_EVERY:
                count = 0
                hub.sleep(0)
        del buf[:at]


def install() -> None:
    """Ryu's controller uses this module's listener and connection reader."""
    ryu_controller.StreamServer = OpenFlowListener
    ryu_controller.Datapath._recv_loop = ryu_controller._deactivate(recv_loop)
