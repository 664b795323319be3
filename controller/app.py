"""Ryu OpenFlow 1.3 application: ``ryu-manager controller/app.py`` (no extra flags).

A thin shell: Ryu events are translated into calls on
:class:`controller.core.ControllerCore` with plain values and the current time; the
core sends through :class:`~controller.southbound.ryu_transport.RyuTransport`, which
queues; every handler and periodic step ends by flushing it. Periodic work (LLDP and
stats rounds, housekeeping) runs in ``hub.spawn`` loops with jitter.
"""

from __future__ import annotations

import functools
import os
import random
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Loaded by file path (`ryu-manager controller/app.py`): make this clone's package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ryu import cfg
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3

from controller.config import load_config
from controller.core import ControllerCore
from controller.northbound.api import ApiContext
from controller.northbound.rest import register_rest
from controller.northbound.view import ControllerView
from controller.southbound import ofp
from controller.southbound.ryu_transport import RyuTransport

REST_CONTEXT = "wsgi"


def flushing(handler: Callable[..., None]) -> Callable[..., None]:
    """Run an event handler, then send what the core queued (see RyuTransport)."""

    @functools.wraps(handler)
    def run(self: SdnController, ev: Any) -> None:
        try:
            handler(self, ev)
        finally:
            self.transport.flush()

    return run


class SdnController(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {REST_CONTEXT: WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = load_config()
        self.transport = RyuTransport()
        self.core = ControllerCore(self.config, self.transport, nonce=secrets.randbits(128))
        self.api = ApiContext(ControllerView(self.core), token=self.config.rest_token)
        register_rest(kwargs[REST_CONTEXT], self.api)
        wsapi_host = getattr(cfg.CONF, "wsapi_host", "0.0.0.0")
        if not self.config.rest_token and wsapi_host not in ("127.0.0.1", "::1", "localhost"):
            self.logger.warning(
                "REST writes (PUT/DELETE) are open to anyone who reaches %s: set rest_token "
                "or run with --wsapi-host 127.0.0.1",
                wsapi_host,
            )
        linkcost = self.core.linkcost
        if linkcost.model is None:
            self.logger.warning("no link-cost model: %s", linkcost.model_error)
        else:
            self.logger.info("link-cost model %s loaded", linkcost.model.path)
        self.logger.info(
            "sdn controller: metric %s, config %s",
            self.core.metric,
            os.environ.get("SDN_CONFIG", "(defaults)"),
        )
        self._threads = [
            hub.spawn(self._loop, "LLDP round", self.config.lldp_interval, self.core.lldp_round),
            hub.spawn(self._loop, "housekeeping", 0.2, self.core.tick, jitter=False),
            hub.spawn(self._loop, "stats round", self.config.stats_interval, self.core.stats_round),
        ]

    # ----------------------------------------------------------------- switch life cycle
    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    @flushing
    def _state_change(self, ev):
        dp: Any = ev.datapath
        if dp.id is None:
            return
        dpid: int = dp.id
        now = time.monotonic()
        datapaths = self.transport.datapaths
        if ev.state == MAIN_DISPATCHER:
            # Ryu's handshake has read the port descriptions into dp.ports by now.
            datapaths[dpid] = dp
            ports = [ofp.port_info(p) for p in dp.ports.values()]
            self.logger.info("switch %016x up, %d ports", dpid, len(ports))
            self.core.on_switch_up(dpid, ports, now)
        elif ev.state == DEAD_DISPATCHER and datapaths.get(dpid) is dp:
            del datapaths[dpid]
            self.logger.info("switch %016x down", dpid)
            self.core.on_switch_down(dpid, now)

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    @flushing
    def _port_status(self, ev):
        msg = ev.msg
        port = ofp.port_info(msg.desc)
        deleted = msg.reason == msg.datapath.ofproto.OFPPR_DELETE
        state = "deleted" if deleted else ("up" if port.up else "down")
        self.logger.info("switch %016x port %d %s", msg.datapath.id, port.port_no, state)
        self.core.on_port_status(msg.datapath.id, port, time.monotonic(), deleted)

    # ----------------------------------------------------------------- switch messages
    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    @flushing
    def _packet_in(self, ev):
        msg = ev.msg
        self.core.on_packet_in(
            msg.datapath.id, msg.match["in_port"], bytes(msg.data), time.monotonic()
        )

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    @flushing
    def _barrier_reply(self, ev):
        self.core.on_barrier_reply(ev.msg.datapath.id, ev.msg.xid, time.monotonic())

    @set_ev_cls(ofp_event.EventOFPFlowRemoved, MAIN_DISPATCHER)
    @flushing
    def _flow_removed(self, ev):
        msg = ev.msg
        ofproto = msg.datapath.ofproto
        timed_out = msg.reason in (ofproto.OFPRR_IDLE_TIMEOUT, ofproto.OFPRR_HARD_TIMEOUT)
        self.core.on_flow_removed(msg.datapath.id, msg.cookie, timed_out)

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    @flushing
    def _port_stats(self, ev):
        counters = [ofp.port_counters(s) for s in ev.msg.body]
        self.core.on_port_stats(ev.msg.datapath.id, counters, time.monotonic())

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    @flushing
    def _flow_stats(self, ev):
        flows = [ofp.flow_counters(s) for s in ev.msg.body]
        self.core.on_flow_stats(ev.msg.datapath.id, flows, time.monotonic())

    @set_ev_cls(ofp_event.EventOFPEchoReply, MAIN_DISPATCHER)
    @flushing
    def _echo_reply(self, ev):
        self.core.on_echo_reply(ev.msg.datapath.id, bytes(ev.msg.data or b""), time.monotonic())

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    @flushing
    def _error(self, ev):
        msg = ev.msg
        detail = f"error type={msg.type} code={msg.code}"
        self.logger.warning("switch %016x %s (xid %d)", msg.datapath.id, detail, msg.xid)
        self.core.on_error(msg.datapath.id, msg.xid, detail)

    # ----------------------------------------------------------------- periodic work
    def _loop(self, what: str, interval: float, step, jitter: bool = True) -> None:
        """Run ``step(now)`` every ``interval`` (with +-10 % jitter); an error is logged and
        the loop goes on."""
        while True:
            try:
                step(time.monotonic())
            except Exception:
                self.logger.exception("%s failed; continuing", what)
            finally:
                self.transport.flush()
            hub.sleep(interval * (random.uniform(0.9, 1.1) if jitter else 1.0))
