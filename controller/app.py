"""Ryu OpenFlow 1.3 application (run: ``ryu-manager controller/app.py``).

Minimal learning switch for loop-free topologies: the switch handshake, a table-miss
entry that sends packets to the controller, MAC learning with idle-timeout flows.
The Ryu part is a thin shell over ``controller.learning``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Loaded by file path (`ryu-manager controller/app.py`): make this clone's package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from ryu.lib.packet import ethernet, packet
from ryu.ofproto import ofproto_v1_3

from controller.learning import FLOOD, MacTable

COOKIE = 0x5D_0000_0000_0001  # marks the flows this app installs
IDLE_TIMEOUT = 60


class SdnController(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.macs = MacTable()
        self.packet_ins = 0

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _switch_features(self, ev):
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        self.macs.forget_switch(dp.id)
        # Remove what an earlier run of this app left, then the table-miss entry.
        dp.send_msg(
            parser.OFPFlowMod(
                dp,
                cookie=COOKIE,
                cookie_mask=0xFFFFFFFFFFFFFFFF,
                command=ofp.OFPFC_DELETE,
                table_id=ofp.OFPTT_ALL,
                out_port=ofp.OFPP_ANY,
                out_group=ofp.OFPG_ANY,
            )
        )
        actions = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
        dp.send_msg(
            parser.OFPFlowMod(
                dp, cookie=COOKIE, priority=0, match=parser.OFPMatch(), instructions=inst
            )
        )
        self.logger.info("switch %016x connected", dp.id)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def _switch_gone(self, ev):
        if ev.datapath.id is not None:
            self.macs.forget_switch(ev.datapath.id)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        self.packet_ins += 1
        in_port = msg.match["in_port"]
        eth = packet.Packet(msg.data).get_protocol(ethernet.ethernet)
        if eth is None:
            return
        decision = self.macs.decide(dp.id, in_port, eth.src, eth.dst)
        out = ofp.OFPP_FLOOD if decision.out_port == FLOOD else decision.out_port
        actions = [parser.OFPActionOutput(out)]
        if decision.install:
            match = parser.OFPMatch(in_port=in_port, eth_src=eth.src, eth_dst=eth.dst)
            inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
            dp.send_msg(
                parser.OFPFlowMod(
                    dp,
                    cookie=COOKIE,
                    priority=10,
                    match=match,
                    idle_timeout=IDLE_TIMEOUT,
                    instructions=inst,
                )
            )
        dp.send_msg(
            parser.OFPPacketOut(
                dp, buffer_id=ofp.OFP_NO_BUFFER, in_port=in_port, actions=actions, data=msg.data
            )
        )
