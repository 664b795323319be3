"""The reactor that reads established switch connections in one greenlet: fast-path
messages handled there in order, one after-read round per wakeup, and everything else
handed back to the connection's own greenlet with the bytes in order."""

from __future__ import annotations

import struct
from types import SimpleNamespace
from typing import Any

import eventlet
import eventlet.patcher
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER

from controller.southbound.reactor import Handback, Reactor, plain_socket

ECHO_REPLY, PACKET_IN, PORT_STATUS, BARRIER_REPLY = 3, 10, 12, 21


def msg(msg_type: int, xid: int, body: bytes = b"") -> bytes:
    return struct.pack("!BBHI", 4, msg_type, 8 + len(body), xid) + body


class Harness:
    """A reactor over one OS socketpair; ``parse`` records what it is given."""

    def __init__(self, refuse_xid: int | None = None, pass_on_xid: int | None = None) -> None:
        os_socket = eventlet.patcher.original("socket")
        self.ours, self.switch = os_socket.socketpair()
        self.ours.setblocking(False)
        self.dp = SimpleNamespace(state=MAIN_DISPATCHER, socket=SimpleNamespace(fd=self.ours))
        self.parsed: list[tuple[int, int]] = []
        self.rounds: list[int] = []
        self.refuse_xid, self.pass_on_xid = refuse_xid, pass_on_xid
        self.reactor = Reactor(lambda: self.parse, [lambda: self.rounds.append(len(self.parsed))])
        self.back: list[Handback] = []

    def parse(self, dp: Any, version: int, msg_type: int, length: int, xid: int, buf: Any) -> Any:
        assert len(buf) == length and struct.unpack_from("!I", buf, 4)[0] == xid
        if xid == self.refuse_xid:
            raise ValueError("refused")
        self.parsed.append((msg_type, xid))
        return "a parsed message" if xid == self.pass_on_xid else None

    def start(self, buf: bytes = b"") -> None:
        raw = plain_socket(self.dp)
        assert raw is not None
        eventlet.spawn(lambda: self.back.append(self.reactor.serve(self.dp, raw, bytearray(buf))))
        eventlet.sleep(0.01)

    def send(self, data: bytes) -> None:
        self.switch.sendall(data)
        for _ in range(50):
            eventlet.sleep(0.005)
            if self.back:
                break


def test_fast_messages_are_handled_in_order_one_round_per_read() -> None:
    h = Harness()
    h.start(msg(PACKET_IN, 1)[:5])  # a partial message the greenlet had read already
    h.send(msg(PACKET_IN, 1)[5:] + msg(BARRIER_REPLY, 2) + msg(ECHO_REPLY, 3))
    assert h.parsed == [(PACKET_IN, 1), (BARRIER_REPLY, 2), (ECHO_REPLY, 3)]
    assert h.rounds == [3] and not h.back  # still the reactor's
    h.send(msg(BARRIER_REPLY, 4)[:3])  # a message cut in two reads
    h.send(msg(BARRIER_REPLY, 4)[3:])
    assert h.parsed[-1] == (BARRIER_REPLY, 4)


def test_another_message_goes_back_first_with_the_rest_in_order() -> None:
    h = Harness()
    h.start()
    rest = msg(BARRIER_REPLY, 6) + msg(PACKET_IN, 7)[:10]
    h.send(msg(BARRIER_REPLY, 5) + msg(PORT_STATUS, 9, b"x" * 8) + rest)
    assert h.parsed == [(BARRIER_REPLY, 5)]  # the port status is not parsed here
    (back,) = h.back
    assert bytes(back.buf) == msg(PORT_STATUS, 9, b"x" * 8) + rest
    assert back.msg is None and not back.ended and back.error is None


def test_a_fast_type_the_fast_path_passes_on_goes_back_parsed() -> None:
    h = Harness(pass_on_xid=5)
    h.start()
    h.send(msg(BARRIER_REPLY, 5) + msg(BARRIER_REPLY, 6))
    (back,) = h.back
    assert back.msg == "a parsed message" and bytes(back.buf) == msg(BARRIER_REPLY, 6)


def test_a_refused_message_ends_the_connection_with_its_error() -> None:
    h = Harness(refuse_xid=2)
    h.start()
    h.send(msg(BARRIER_REPLY, 1) + msg(BARRIER_REPLY, 2) + msg(BARRIER_REPLY, 3))
    (back,) = h.back
    assert isinstance(back.error, ValueError) and h.parsed == [(BARRIER_REPLY, 1)]


def test_end_of_stream_ends_the_connection() -> None:
    h = Harness()
    h.start()
    h.switch.close()
    for _ in range(50):
        eventlet.sleep(0.005)
    (back,) = h.back
    assert back.ended


def test_a_connection_the_controller_closed_is_given_up() -> None:
    h = Harness()
    h.start()
    h.dp.state = DEAD_DISPATCHER  # Datapath.close(): the switch may never send again
    for _ in range(200):
        eventlet.sleep(0.01)
        if h.back:
            break
    (back,) = h.back
    assert back.ended


def test_only_plain_os_sockets_are_taken() -> None:
    assert plain_socket(SimpleNamespace(socket=SimpleNamespace(fd=object()))) is None
    assert plain_socket(SimpleNamespace()) is None
