"""The OpenFlow listener that replaces Ryu's (``ryu.controller.controller.StreamServer``).

Two defects of Ryu 4.34's listener, found at scale and with TLS: see the class.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from ryu.lib import hub

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
