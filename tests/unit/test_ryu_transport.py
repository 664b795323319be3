"""The Ryu shell's transport with a stub datapath: queue on send, write on flush, in
order, with the stage's xid on the wire; per-switch outboxes that never block on a full
switch queue, bounded, low-value messages shed first, a stuck switch reported."""

from __future__ import annotations

import struct
from types import SimpleNamespace
from typing import Any

from ryu.ofproto import ofproto_v1_3 as ofp_v13
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.southbound.messages import FlowAdd, FlowDelete, Match, PacketOut
from controller.southbound.ryu_transport import (
    LOW_VALUE_BACKLOG,
    MAX_BATCH,
    MAX_OUTBOX,
    STUCK_S,
    RyuTransport,
)


class StubQueue:
    """Ryu's per-datapath send queue: 16 slots, emptied by the switch reading."""

    def __init__(self) -> None:
        self.maxsize = 16
        self.items = 0

    def qsize(self) -> int:
        return self.items


class StubDatapath(SimpleNamespace):
    def __init__(self, dpid: int) -> None:
        super().__init__(id=dpid, ofproto=ofp_v13, ofproto_parser=parser)
        self.wire: list[tuple[str, int, Any]] = []
        self.on_write: Any = None
        self.refuse = False
        self.send_q = StubQueue()
        self.reading = True
        """False: the switch stopped reading, its queue fills and stays full."""
        self.writes = 0

    def _record(self, kind: str, xid: int, item: Any) -> bool:
        if self.on_write is not None:
            self.on_write()
        assert self.send_q.items < self.send_q.maxsize, "Datapath.send would block"
        if not self.reading:
            self.send_q.items += 1
        self.wire.append((kind, xid, item))
        return not self.refuse

    def send(self, data: bytes) -> bool:
        """One write of one or more encoded messages (one queue slot): each recorded."""
        self.writes += 1
        at = struct.unpack_from("!H", data, 2)[0]
        ok = self._record("bytes", struct.unpack_from("!I", data, 4)[0], data[:at])
        while at < len(data):  # the rest of a joined run
            length, xid = struct.unpack_from("!HI", data, at + 2)
            self.wire.append(("bytes", xid, data[at : at + length]))
            at += length
        return ok

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
    assert kinds == ["bytes", "OFPFlowMod", "bytes", "bytes"]  # struct-built
    assert dp.writes == 2  # the barrier and the packet-out in one write
    assert [x for _, x, _ in dp.wire][:3] == [0x5D000007] * 3
    assert t.pending() == 0


def test_an_unknown_switch_is_refused_at_once() -> None:
    t = RyuTransport()
    assert not t.send(flow(9))
    assert not t.send_barrier(9, 1)
    assert t.pending() == 0


def test_a_switch_that_stops_reading_never_blocks_a_flush_nor_delays_the_others() -> None:
    t, slow, fast = RyuTransport(), StubDatapath(1), StubDatapath(2)
    t.datapaths.update({1: slow, 2: fast})
    slow.reading = False
    held = 16 * MAX_BATCH  # 16 queue slots, a run of encoded messages in each
    for i in range(held + 40):
        t.send(flow(1), xid=i)
        t.send(flow(2), xid=i)
    assert t.flush(now=0.0) == held + held  # each takes what its queue holds, no more
    t.flush(now=0.1)
    t.flush(now=0.2)  # the fast switch read meanwhile; the slow one did not
    assert [x for _, x, _ in fast.wire] == list(range(held + 40))
    assert [x for _, x, _ in slow.wire] == list(range(held)) and t.backlogged
    slow.send_q.items = 0  # it read again: the rest follows, in order
    slow.reading = True
    t.flush(now=1.0)
    t.flush(now=1.1)
    assert [x for _, x, _ in slow.wire] == list(range(held + 40)) and not t.backlogged


def test_the_outbox_is_bounded_and_packet_outs_are_shed_first() -> None:
    t, dp = RyuTransport(), StubDatapath(1)
    t.datapaths[1] = dp
    dp.send_q.items = dp.send_q.maxsize  # full, not reading
    dp.reading = False
    probe = PacketOut(1, 0xFFFFFFFD, (2,), b"x" * 60)
    assert all(t.send(flow(), xid=i) for i in range(LOW_VALUE_BACKLOG))
    assert not t.send(probe)  # a backlog this deep takes no more packet-outs
    assert all(t.send(flow(), xid=i) for i in range(MAX_OUTBOX - LOW_VALUE_BACKLOG))
    assert not t.send(flow()) and not t.send_barrier(1, 7)
    assert t.pending() == MAX_OUTBOX
    assert t.counters.messages_dropped_congested == 3


def test_a_switch_that_takes_nothing_for_the_stuck_time_is_reported_once() -> None:
    t, dp = RyuTransport(), StubDatapath(1)
    t.datapaths[1] = dp
    dp.send_q.items = dp.send_q.maxsize
    t.send(flow())
    t.flush(now=100.0)
    assert t.stuck(100.0 + STUCK_S - 0.1) == []
    t.flush(now=105.0)  # still nothing taken: the clock keeps running from 100
    assert t.stuck(100.0 + STUCK_S) == [dp]
    assert t.stuck(200.0) == [] and t.pending() == 0
    assert t.counters.switches_disconnected_stuck == 1


def test_a_new_connection_for_the_dpid_does_not_inherit_the_old_outbox() -> None:
    t, old, new = RyuTransport(), StubDatapath(1), StubDatapath(1)
    t.datapaths[1] = old
    old.send_q.items = old.send_q.maxsize
    t.send(flow(), xid=1)
    t.flush()
    t.datapaths[1] = new
    t.send(flow(), xid=2)
    t.flush()
    assert [x for _, x, _ in new.wire] == [2] and old.wire == []
    assert t.counters.messages_lost_closing == 1


def test_a_closing_datapath_counts_lost_messages() -> None:
    t, dp = RyuTransport(), StubDatapath(1)
    t.datapaths[1] = dp
    dp.refuse = True
    t.send(flow())
    t.flush()
    assert t.counters.messages_lost_closing == 1


def test_a_switch_that_went_leaves_no_outbox_behind() -> None:
    """5,000 switches connecting, sending and going: no outbox (nor its Datapath) stays;
    a newer connection's outbox is not taken by the old one's end."""
    t = RyuTransport()
    for d in range(1, 5001):
        dp = StubDatapath(d)
        t.datapaths[d] = dp
        assert t.send(flow(d))
        if d % 2:
            t.flush()  # half of them with nothing waiting, half with a message
        del t.datapaths[d]
        t.forget(d, dp)
    assert t._boxes == {} and not t.backlogged
    old, new = StubDatapath(7), StubDatapath(7)
    t.datapaths[7] = new
    assert t.send(flow(7))
    t.forget(7, old)  # the old connection's DEAD event, after the new one's first send
    t.flush()
    assert [k for k, _, _ in new.wire] == ["bytes"]
