"""Ryu OpenFlow 1.3 application: ``ryu-manager controller/app.py`` (no extra flags).

A thin shell: Ryu events are translated into calls on
:class:`controller.core.ControllerCore` with plain values and the current time, and
what the core returns is sent. Periodic work (LLDP probes, link expiry, barrier
timeouts) runs in ``hub.spawn`` loops with jitter.
"""

from __future__ import annotations

import os
import random
import secrets
import sys
import time
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
from controller.core import ControllerCore, Output
from controller.forwarding.installer import Installer, JobResult, SendStage
from controller.northbound.api import ApiContext
from controller.northbound.rest import register_rest
from controller.southbound import ofp
from controller.southbound.messages import FlowAdd, Message

REST_CONTEXT = "wsgi"


class SdnController(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {REST_CONTEXT: WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = load_config()
        self.core = ControllerCore(self.config, nonce=secrets.randbits(128))
        self.installer = Installer(self.config.barrier_timeout)
        self.datapaths: dict[int, Any] = {}
        self.api = ApiContext(self.core, token=self.config.rest_token)
        register_rest(kwargs[REST_CONTEXT], self.api)
        wsapi_host = getattr(cfg.CONF, "wsapi_host", "0.0.0.0")
        if not self.config.rest_token and wsapi_host not in ("127.0.0.1", "::1", "localhost"):
            self.logger.warning(
                "REST writes (PUT/DELETE) are open to anyone who reaches %s: set rest_token "
                "or run with --wsapi-host 127.0.0.1",
                wsapi_host,
            )
        if self.core.model is None:
            self.logger.warning("no link-cost model: %s", self.core.model_error)
        else:
            self.logger.info("link-cost model %s loaded", self.core.model.path)
        self.logger.info(
            "sdn controller: metric %s, config %s",
            self.core.metric,
            os.environ.get("SDN_CONFIG", "(defaults)"),
        )
        self._threads = [
            hub.spawn(self._lldp_loop),
            hub.spawn(self._housekeeping_loop),
            hub.spawn(self._stats_loop),
        ]

    # ----------------------------------------------------------------- sending
    def send(self, out: Output) -> None:
        # Job bookkeeping first (pure, cannot yield), so no other handler can slip an
        # older plan in between; then the messages, then the first stages.
        stages, results = self.installer.begin(out.cancel, out.jobs, time.monotonic())
        for msg in out.messages:
            self._send_one(msg)
        self._send_stages(stages)
        self._finish(results)

    def _send_one(self, msg: Message) -> bool:
        dp = self.datapaths.get(msg.dpid)
        if dp is None:
            return False
        self._write(dp, msg)
        return True

    @staticmethod
    def _write(dp: Any, msg: Message) -> None:
        if isinstance(msg, FlowAdd):
            dp.send(ofp.encode_flow_add(msg))  # struct-built: the hot path of flow setup
        else:
            dp.send_msg(ofp.to_ofp(dp, msg))

    def _send_stages(self, stages: list[SendStage]) -> None:
        for st in stages:
            dp = self.datapaths.get(st.dpid)
            if dp is None:
                self._finish(self.installer.switch_gone(st.dpid))
                continue
            for msg in st.messages:
                self._write(dp, msg)
            dp.send_msg(ofp.barrier(dp, st.barrier_xid))

    def _finish(self, results: list[JobResult]) -> None:
        for res in results:
            self.send(self.core.on_job_done(res.name, res.ok, res.reason))

    # ----------------------------------------------------------------- switch life cycle
    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev):
        dp: Any = ev.datapath
        if dp.id is None:
            return
        now = time.monotonic()
        if ev.state == MAIN_DISPATCHER:
            # Ryu's handshake has read the port descriptions into dp.ports by now.
            self.datapaths[dp.id] = dp
            ports = [ofp.port_info(p) for p in dp.ports.values()]
            self.logger.info("switch %016x up, %d ports", dp.id, len(ports))
            self.send(self.core.on_switch_up(dp.id, ports, now))
        elif (
            ev.state == DEAD_DISPATCHER and dp.id in self.datapaths and self.datapaths[dp.id] is dp
        ):
            dpid: int = dp.id
            del self.datapaths[dpid]
            self.logger.info("switch %016x down", dpid)
            self._finish(self.installer.switch_gone(dpid))
            self.send(self.core.on_switch_down(dpid, now))

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev):
        msg = ev.msg
        ofproto = msg.datapath.ofproto
        port = ofp.port_info(msg.desc)
        deleted = msg.reason == ofproto.OFPPR_DELETE
        self.logger.info(
            "switch %016x port %d %s",
            msg.datapath.id,
            port.port_no,
            "deleted" if deleted else ("up" if port.up else "down"),
        )
        self.send(self.core.on_port_status(msg.datapath.id, port, time.monotonic(), deleted))

    # ----------------------------------------------------------------- packets
    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev):
        msg = ev.msg
        self.send(
            self.core.on_packet_in(
                msg.datapath.id, msg.match["in_port"], bytes(msg.data), time.monotonic()
            )
        )

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier_reply(self, ev):
        stages, results = self.installer.on_barrier_reply(
            ev.msg.datapath.id, ev.msg.xid, time.monotonic()
        )
        self._send_stages(stages)
        self._finish(results)

    @set_ev_cls(ofp_event.EventOFPFlowRemoved, MAIN_DISPATCHER)
    def _flow_removed(self, ev):
        msg = ev.msg
        ofproto = msg.datapath.ofproto
        timed_out = msg.reason in (ofproto.OFPRR_IDLE_TIMEOUT, ofproto.OFPRR_HARD_TIMEOUT)
        self.send(self.core.on_flow_removed(msg.datapath.id, msg.cookie, timed_out))

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    def _port_stats(self, ev):
        msg = ev.msg
        counters = [ofp.port_counters(s) for s in msg.body]
        self.core.on_port_stats(msg.datapath.id, counters, time.monotonic())

    @set_ev_cls(ofp_event.EventOFPEchoReply, MAIN_DISPATCHER)
    def _echo_reply(self, ev):
        self.core.on_echo_reply(ev.msg.datapath.id, bytes(ev.msg.data or b""), time.monotonic())

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def _error(self, ev):
        msg = ev.msg
        self.logger.warning(
            "switch %016x error type=%d code=%d", msg.datapath.id, msg.type, msg.code
        )

    # ----------------------------------------------------------------- periodic work
    def _guarded(self, what: str, step) -> None:
        """Run one iteration of a periodic loop; an error is logged, the loop goes on."""
        try:
            step()
        except Exception:
            self.logger.exception("%s failed; continuing", what)

    def _lldp_round(self) -> None:
        now = time.monotonic()
        self.send(Output(self.core.echo_requests(now)))
        self.send(Output(self.core.lldp_round(now)))

    def _lldp_loop(self):
        interval = self.config.lldp_interval
        while True:
            self._guarded("LLDP round", self._lldp_round)
            hub.sleep(interval * random.uniform(0.9, 1.1))

    def _stats_loop(self):
        interval = self.config.stats_interval
        while True:
            hub.sleep(interval * random.uniform(0.9, 1.1))
            self._guarded("stats round", self._stats_round)

    def _stats_round(self) -> None:
        # Costs from the counters gathered since the last round, then the next round.
        self.core.update_costs(time.monotonic())
        self.send(Output(self.core.stats_requests()))

    def _housekeeping_loop(self):
        while True:
            hub.sleep(0.2)
            self._guarded("housekeeping", self._housekeeping)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        self._finish(self.installer.expire(now))
        self.send(self.core.tick(now))
