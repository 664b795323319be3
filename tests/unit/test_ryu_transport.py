"""The Ryu shell's transport with a stub datapath: queue on send, write on flush, in
order, with the stage's xid on the wire; a flush re-entered from a blocked write returns."""

from __future__ import annotations

import struct
from types import SimpleNamespace
from typing import Any

from ryu.ofproto import ofproto_v1_3 as ofp_v13
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.southbound.messages import FlowAdd, FlowDelete, Match, PacketOut
from controller.southbound.ryu_transport import RyuTransport


class StubDatapath(SimpleNamespace):
    def __init__(self, dpid: int) -> None:
        super().__init__(id=dpid, ofproto=ofp_v13, ofproto_parser=parser)
        self.wire: list[tuple[str, int, Any]] = []
        self.on_write: Any = None
        self.refuse = False

    def _record(self, kind: str, xid: int, item: Any) -> bool:
        if self.on_write is not None:
            self.on_write()
        self.wire.append((kind, xid, item))
        return not self.refuse

    def send(self, data: bytes) -> bool:
        (xid,) = struct.unpack_from("!I", data, 4)
        return self._record("bytes", xid, data)

    def send_msg(self, msg: Any) -> bool:
        return self._record(type(msg).__name__, msg.xid, msg)


def flow(dpid: int = 1) -> FlowAdd:
    return FlowAdd(dpid, Match(in_port=1, eth_src="00:00:00:00:00:01"), 2, 100, 0x5D << 56)


def test_send_queues_and_flush_writes_in_order_with_the_xids() -> None:
    t, dp = RyuTransport(), StubDatapath(1)
    t.datapaths[1] = dp
    assert t.send(flow(), xid=0x5D000007)
    assert t.send(FlowDelete(1, 0x5D << 56, 0xFF << 56), xid=0x5D000007)
    assert t.send_barrier(1, 0x5D000007)
    assert t.send(PacketOut(1, 0xFFFFFFFD, (2,), b"x" * 60))
    assert dp.wire == [] and t.pending() == 4  # nothing written during the handler
    t.flush()
    kinds = [k for k, _, _ in dp.wire]
    assert kinds == ["bytes", "OFPFlowMod", "OFPBarrierRequest", "OFPPacketOut"]
    assert [x for _, x, _ in dp.wire][:3] == [0x5D000007] * 3
    assert t.pending() == 0


def test_an_unknown_switch_is_refused_at_once() -> None:
    t = RyuTransport()
    assert not t.send(flow(9))
    assert not t.send_barrier(9, 1)
    assert t.pending() == 0


def test_a_flush_reentered_while_writing_keeps_the_order() -> None:
    t, dp = RyuTransport(), StubDatapath(1)
    t.datapaths[1] = dp
    t.send(flow(), xid=1)
    t.send(flow(), xid=2)

    def another_greenlet_runs() -> None:  # as if Datapath.send had yielded
        dp.on_write = None
        t.send(flow(), xid=3)
        t.flush()  # returns at once: the outer flush drains the queue

    dp.on_write = another_greenlet_runs
    t.flush()
    assert [x for _, x, _ in dp.wire] == [1, 2, 3]


def test_a_closing_datapath_counts_lost_messages() -> None:
    t, dp = RyuTransport(), StubDatapath(1)
    t.datapaths[1] = dp
    dp.refuse = True
    t.send(flow())
    t.flush()
    assert t.lost == 1
