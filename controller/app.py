"""Ryu OpenFlow 1.3 application: ``ryu-manager controller/app.py`` (no extra flags).

A thin shell: Ryu events are translated into calls on
:class:`controller.core.ControllerCore` with plain values and the current time; the
core sends through :class:`~controller.southbound.ryu_transport.RyuTransport`, which
queues; every handler and periodic step ends by flushing it. Periodic work (LLDP and
stats rounds, housekeeping) runs in ``hub.spawn`` loops with jitter.
"""

from __future__ import annotations

import functools
import gc
import logging
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
from ryu.ofproto import ofproto_parser, ofproto_v1_3

from controller.config import load_config
from controller.core import ControllerCore
from controller.ha.election import Role
from controller.ha.forward import forward
from controller.ha.member import member_from_config
from controller.northbound.api import ApiContext
from controller.northbound.rest import harden_wsgi_server, register_rest
from controller.northbound.view import ControllerView
from controller.southbound import fastpath, listener, ofguard, ofp
from controller.southbound.ryu_transport import STUCK_S, RyuTransport, room
from controller.southbound.sessions import Claim, Sessions

REST_CONTEXT = "wsgi"
GC_THRESHOLDS = (2000, 10, 100)
"""Python's collector: young objects per collection, then how often the older
generations are looked at (defaults 700, 10, 10)."""
LOOPBACK = ("127.0.0.1", "::1", "localhost")

# Safe defaults: both listeners on loopback unless --ofp-listen-host/--wsapi-host say
# otherwise (read when Ryu starts them, after this module is loaded).
cfg.CONF.set_default("ofp_listen_host", "127.0.0.1")
cfg.CONF.set_default("wsapi_host", "127.0.0.1")
harden_wsgi_server()

GUARD_LOG = logging.getLogger("controller.ofguard")


def _close_unsafe_peer(datapath: Any, reason: str) -> None:
    """The OpenFlow guard rejected a message: Ryu closes this peer's connection."""
    GUARD_LOG.warning(
        "closing the OpenFlow connection of %s: %s", ofguard.peer_name(datapath), reason
    )


def _ignore_message(datapath: Any, reason: str) -> None:
    GUARD_LOG.debug("ignored an OpenFlow message from %s: %s", ofguard.peer_name(datapath), reason)


# Ryu's OpenFlow parser loops forever on some malformed input (a zero-length HELLO element
# or multipart entry froze everything): every received message passes the guard first.
ofguard.install(ofproto_parser, _close_unsafe_peer, _ignore_message)

listener.install(reactor=True)  # Ryu's OpenFlow listener, reader and writer, replaced


LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"


def timestamp_logs() -> None:
    """Ryu's handlers print the bare message: give every line a time, a level and its
    logger (handlers that a --log-config-file formatted keep their format)."""
    formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    for handler in logging.getLogger().handlers:
        if handler.formatter is None:
            handler.setFormatter(formatter)


def flushing(handler: Callable[..., None]) -> Callable[..., None]:
    """Run an event handler, then send what the core queued (see RyuTransport)."""

    @functools.wraps(handler)
    def run(self: SdnController, ev: Any) -> None:
        try:
            handler(self, ev)
        finally:
            self._flush()

    return run


def from_holder(handler: Callable[..., None]) -> Callable[..., None]:
    """A switch message handler, called as ``handler(self, msg, dpid)`` only when the
    connection holds its dpid (see controller.southbound.sessions); then flush."""

    @functools.wraps(handler)
    def run(self: SdnController, ev: Any) -> None:
        dpid = self.sessions.owner(ev.msg.datapath)
        if dpid is None or self.transport.passive:  # a standby leaves switches alone
            return
        try:
            handler(self, ev.msg, dpid)
        finally:
            self._flush()

    return run


class SdnController(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {REST_CONTEXT: WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        timestamp_logs()
        self.config = load_config()
        self.transport = RyuTransport()
        self.sessions = Sessions(self.transport.datapaths, dead_state=DEAD_DISPATCHER)
        self.core = ControllerCore(self.config, self.transport, nonce=secrets.randbits(128))
        self.core.extra_counters += [self.sessions.counters, self.transport.counters]
        self._draining = False
        self._flush_due = False
        rest_url = f"http://{cfg.CONF.wsapi_host}:{cfg.CONF.wsapi_port}"
        self.ha = member_from_config(self.config, rest_url)
        self.transport.passive = self.ha is not None  # a group member starts as standby
        self.api = ApiContext(
            ControllerView(self.core),
            token=self.config.rest_token,
            protect_reads=self.config.rest_token_reads,
            ha=self.ha,
            forward=forward,
        )
        register_rest(kwargs[REST_CONTEXT], self.api)
        fast = fastpath.FastPath(
            self.sessions, self.transport, self.core, self._switch_error, self._flush_soon
        )
        ofguard.install(ofproto_parser, _close_unsafe_peer, _ignore_message, fast=fast)
        listener.set_after_read(self._after_read)
        wsapi_host = cfg.CONF.wsapi_host
        if wsapi_host not in LOOPBACK and not self.config.rest_token:
            raise SystemExit(
                f"refusing to start: the REST API would listen on {wsapi_host!r} without a "
                "token; set rest_token in the configuration ($SDN_CONFIG), or listen on "
                "loopback (--wsapi-host 127.0.0.1, the default)"
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
            hub.spawn(self._loop, "housekeeping", 0.2, self._housekeeping, jitter=False),
            hub.spawn(self._loop, "stats round", self.config.stats_interval, self.core.stats_round),
        ]
        # Everything loaded so far lives as long as the process: out of the collector's
        # way (a full collection of it paused the controller for ~70 ms under load), and
        # young collections less often (GC_THRESHOLDS).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        if self.ha is not None:
            self.logger.info("HA: group %s on %s as %s", self.config.ha_group,
                             self.config.ha_etcd, self.ha.instance)  # fmt: skip
            tick = self.config.ha_lease_ttl / 4
            self._threads.append(hub.spawn(self._loop, "HA", tick, self._ha_tick, jitter=False))

    # ----------------------------------------------------------------- switch life cycle
    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    @flushing
    def _state_change(self, ev):
        dp: Any = ev.datapath
        if dp.id is None:
            return
        dpid: int = dp.id
        now = time.monotonic()
        if ev.state == MAIN_DISPATCHER:
            claim = self.sessions.claim(dp, now)
            if claim is Claim.ACCEPTED:
                self._switch_up(dp, now)
            elif claim is Claim.CONTESTED:  # is the holder alive? settled in housekeeping
                holder = self.transport.datapaths[dpid]
                self.logger.warning(
                    "switch %016x: a second connection from %s claims it; probing the one from %s",
                    dpid,
                    dp.address,
                    holder.address,
                )
                if room(holder) > 0:  # never wait on it: a full queue is no answer either
                    holder.send_msg(holder.ofproto_parser.OFPEchoRequest(holder, data=b"id"))
            else:
                self._refuse(dp, "a claim for it is being settled")
        elif ev.state == DEAD_DISPATCHER:
            if self.sessions.owner(dp) is not None:
                del self.transport.datapaths[dpid]
                self.transport.forget(dpid, dp)
                self.logger.info("switch %016x down", dpid)
                if not self.transport.passive:
                    self.core.on_switch_down(dpid, now)
            settled = self.sessions.gone(dp)
            if settled is not None and settled.promoted is not None:
                self._switch_up(settled.promoted, now)

    def _switch_up(self, dp: Any, now: float) -> None:
        # Ryu's handshake has read the port descriptions into dp.ports by now.
        ports = [ofp.port_info(p) for p in dp.ports.values()]
        self.logger.info("switch %016x up from %s, %d ports", dp.id, dp.address, len(ports))
        if self.ha is not None:  # its role first: the switch takes orders from the leader only
            leader, generation = self.ha.is_leader, self.ha.election.state.generation or 0
            self.transport.send_role(dp.id, leader, generation)
            if not leader:
                return
        self.core.on_switch_up(dp.id, ports, now)

    def _refuse(self, dp: Any, why: str) -> None:
        self.logger.warning("switch %016x: connection from %s refused (%s)", dp.id, dp.address, why)
        dp.close()

    def _settle_sessions(self, now: float) -> None:
        """Contested dpids whose probe time is over (see controller.southbound.sessions)."""
        for s in self.sessions.settle(now):
            if s.promoted is None:
                self._refuse(s.close, "the switch already connected answers")
                continue
            self.logger.warning(
                "switch %016x: the connection from %s did not answer; the one from %s takes over",
                s.dpid,
                s.close.address,
                s.promoted.address,
            )
            s.close.close()
            self.core.on_switch_down(s.dpid, now)
            self._switch_up(s.promoted, now)

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    @from_holder
    def _port_status(self, msg, dpid: int):
        port = ofp.port_info(msg.desc)
        deleted = msg.reason == msg.datapath.ofproto.OFPPR_DELETE
        state = "deleted" if deleted else ("up" if port.up else "down")
        self.logger.info("switch %016x port %d %s", dpid, port.port_no, state)
        self.core.on_port_status(dpid, port, time.monotonic(), deleted)

    # ----------------------------------------------------------------- switch messages
    # Packet-ins, barrier replies, port-stats and echo replies never reach Ryu's event
    # queue: controller.southbound.fastpath handles them (see __init__); so do errors,
    # but for experimenter errors (below).
    @set_ev_cls(ofp_event.EventOFPFlowRemoved, MAIN_DISPATCHER)
    @from_holder
    def _flow_removed(self, msg, dpid: int):
        ofproto = msg.datapath.ofproto
        timed_out = msg.reason in (ofproto.OFPRR_IDLE_TIMEOUT, ofproto.OFPRR_HARD_TIMEOUT)
        self.core.on_flow_removed(dpid, msg.cookie, timed_out)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    @from_holder
    def _flow_stats(self, msg, dpid: int):
        flows = [ofp.flow_counters(s) for s in msg.body]
        self.core.on_flow_stats(dpid, flows, time.monotonic())

    @set_ev_cls(ofp_event.EventOFPMeterFeaturesStatsReply, MAIN_DISPATCHER)
    @from_holder
    def _meter_features(self, msg, dpid: int):
        self.core.on_meter_features(dpid, [ofp.meter_features(s) for s in msg.body])

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    @from_holder
    def _error(self, msg, dpid: int):
        self._switch_error(dpid, msg.xid, msg.type, getattr(msg, "code", -1))

    def _switch_error(self, dpid: int, xid: int, err_type: int, code: int) -> None:
        detail = f"error type={err_type} code={code}"
        expected = self.core.on_error(dpid, xid, detail, err_type, code)
        level = logging.DEBUG if expected else logging.WARNING
        self.logger.log(level, "switch %016x %s (xid %d)", dpid, detail, xid)

    # ----------------------------------------------------------------- sending
    def _flush_soon(self) -> None:
        """Send what the core queued once the connection's greenlet has handled all it
        read (:meth:`_after_read`): a batch of replies leaves as one write per switch."""
        self._flush_due = True

    def _after_read(self) -> None:
        if not self._flush_due:
            return
        self._flush_due = False
        try:
            self._flush()
        except Exception:  # a defect of ours must not end the switch's connection
            self.logger.exception("flush")

    def _flush(self) -> None:
        """Send what the core queued; what a full switch queue did not take is drained by
        one greenlet, so no handler or loop ever waits for a slow switch."""
        self.transport.flush()
        if self.transport.backlogged and not self._draining:
            self._draining = True
            hub.spawn(self._drain)

    def _drain(self) -> None:
        try:
            while self.transport.backlogged:
                moved = self.transport.flush()
                for dp in self.transport.stuck(time.monotonic()):
                    self._refuse(dp, f"it took no message for {STUCK_S:.0f} s")
                hub.sleep(0 if moved else 0.005)
        finally:
            self._draining = False

    # ----------------------------------------------------------------- high availability
    def _ha_tick(self, now: float) -> None:
        """Election and shared state; on a change of role, take the switches over (role
        MASTER, then each adopted as at a restart) or let them go (the core forgets
        them, with nothing sent: a standby changes no switch)."""
        assert self.ha is not None
        change = self.ha.tick(now, self.core)
        if change is None:
            return
        leader, was_leader = change.role is Role.LEADER, not self.transport.passive
        self.transport.passive = not leader
        for dpid, dp in list(self.transport.datapaths.items()):
            if leader and not was_leader:
                self._switch_up(dp, now)
            elif not leader:  # SLAVE under the leadership's generation (a new one: again)
                self.transport.send_role(dpid, False, change.generation or 0)
                if was_leader:
                    self.core.on_switch_down(dpid, now)

    # ----------------------------------------------------------------- periodic work
    def _housekeeping(self, now: float) -> None:
        self._settle_sessions(now)
        self.core.tick(now)

    def _loop(self, what: str, interval: float, step, jitter: bool = True) -> None:
        """Run ``step(now)`` every ``interval`` (with +-10 % jitter); an error is logged and
        the loop goes on."""
        while True:
            try:
                step(time.monotonic())
            except Exception:
                self.logger.exception("%s failed; continuing", what)
            finally:
                self._flush()
            hub.sleep(interval * (random.uniform(0.9, 1.1) if jitter else 1.0))
