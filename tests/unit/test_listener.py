"""The connection reader that replaces Ryu's: every message of a byte stream reaches the
parser whole and in order, however the stream is cut into reads."""

from __future__ import annotations

import random
import struct
from types import SimpleNamespace
from typing import Any

import pytest
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER

from controller.southbound import listener


class ChunkedSocket:
    """Hands out ``data`` in the given read sizes (never more than asked), then EOF."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.reads = data, sizes, 0

    def recv(self, n: int) -> bytes:
        self.reads += 1
        if not self.data:
            return b""
        size = min(n, self.sizes.pop(0) if self.sizes else n)
        out, self.data = self.data[:size], self.data[size:]
        return out


def stream(rng: random.Random, n: int) -> list[bytes]:
    msgs = []
    for i in range(n):
        body = rng.randbytes(rng.choice((0, 1, 8, 100, 1500, 9000)))
        msgs.append(struct.pack("!BBHI", 4, rng.randrange(30), 8 + len(body), i) + body)
    return msgs


def read_all(monkeypatch: pytest.MonkeyPatch, data: bytes, sizes: list[int]) -> list[bytes]:
    seen: list[bytes] = []

    def parse(dp: Any, version: int, msg_type: int, msg_len: int, xid: int, buf: Any) -> None:
        assert len(buf) == msg_len and struct.unpack_from("!I", buf, 4)[0] == xid
        seen.append(bytes(buf))
        return None  # no event (as for an ignored message)

    monkeypatch.setattr(listener.ofproto_parser, "msg", parse)
    dp = SimpleNamespace(state=MAIN_DISPATCHER, socket=ChunkedSocket(data, sizes))
    listener.recv_loop(dp)
    return seen


@pytest.mark.parametrize("seed", range(5))
def test_every_message_arrives_whole_and_in_order(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    msgs = stream(rng, 300)
    data = b"".join(msgs)
    sizes = [rng.choice((1, 3, 8, 9, 64, 1000, 70000)) for _ in range(len(data))]
    assert read_all(monkeypatch, data, sizes) == msgs


def test_many_messages_take_few_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    msgs = stream(random.Random(9), 500)
    data = b"".join(msgs)
    dp_socket = ChunkedSocket(data, [])
    monkeypatch.setattr(listener.ofproto_parser, "msg", lambda *a: None)
    listener.recv_loop(SimpleNamespace(state=MAIN_DISPATCHER, socket=dp_socket))
    # Ryu's reader made two reads per message (header, then body): 1,000 here
    assert dp_socket.reads <= len(data) // listener.RECV_CHUNK + 2


def test_a_length_below_the_header_is_read_as_a_bare_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = struct.pack("!BBHI", 4, 2, 3, 1)  # claims 3 bytes: Ryu reads 8 and goes on
    good = struct.pack("!BBHI", 4, 3, 8, 2)
    assert read_all(monkeypatch, bad + good, []) == [bad, good]


def test_a_dead_connection_stops_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    dp = SimpleNamespace(state=DEAD_DISPATCHER, socket=ChunkedSocket(b"\x04" * 64, []))
    listener.recv_loop(dp)
    assert dp.socket.reads == 0


def test_a_tls_peer_that_is_gone_ends_the_loop() -> None:
    import ssl

    class Gone:
        reads = 0

        def recv(self, n: int) -> bytes:
            self.reads += 1
            raise ssl.SSLEOFError("EOF occurred in violation of protocol")

    dp = SimpleNamespace(state=MAIN_DISPATCHER, socket=Gone())
    listener.recv_loop(dp)  # returns (Ryu's loop would spin on it for ever)
    assert dp.socket.reads == 1


# ---------------------------------------------------------------------- the writer
class Writer(SimpleNamespace):
    """A Datapath's sending side: Ryu's queue and semaphore, a socket with a raw ``fd``."""

    def __init__(self, raw: Any) -> None:
        from ryu.lib import hub

        super().__init__(state=MAIN_DISPATCHER, address=("127.0.0.1", 1))
        self.send_q = hub.Queue(16)
        self._send_q_sem = hub.BoundedSemaphore(16)
        self.socket = SimpleNamespace(fd=raw, sendall=raw.sendall)
        self.closed_write = False

    def send(self, buf: bytes, close_socket: bool = False) -> bool:
        self._send_q_sem.acquire()
        self.send_q.put((buf, close_socket))
        return True

    def _close_write(self) -> None:
        self.closed_write = True


def _pair() -> tuple[Any, Any]:
    """OS sockets (the ones under eventlet's green sockets, which Ryu patches in)."""
    import eventlet.patcher

    a, b = eventlet.patcher.original("socket").socketpair()
    a.setblocking(False)
    b.settimeout(5)
    return a, b


def _read(sock: Any, n: int) -> bytes:
    out = b""
    while len(out) < n:
        out += sock.recv(n - len(out))
    return out


def test_write_now_writes_at_once_when_nothing_waits() -> None:
    a, b = _pair()
    dp = Writer(a)
    assert listener.write_now(dp, b"hello") is True
    assert _read(b, 5) == b"hello" and dp.send_q.qsize() == 0


def test_write_now_steps_aside_while_anything_of_the_switch_waits() -> None:
    a, _b = _pair()
    dp = Writer(a)
    dp.send(b"first")
    assert listener.write_now(dp, b"second") is None  # behind what is queued
    dp.send_q.get_nowait()
    dp.sdn_writing = True  # the writer greenlet is in the middle of a write
    assert listener.write_now(dp, b"second") is None
    dp.sdn_writing, dp.send_q = False, None  # closing
    assert listener.write_now(dp, b"second") is None


def test_what_the_socket_does_not_take_is_queued_behind_in_order() -> None:
    a, b = _pair()
    dp = Writer(a)
    big = bytes(range(256)) * 40_000  # far more than a socket buffer holds
    assert listener.write_now(dp, big) is True
    assert dp.send_q.qsize() == 1  # the rest, for the writer
    dp.send(b"tail", close_socket=True)
    import threading

    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(_read(b, len(big) + 4)))
    reader.start()
    a.setblocking(True)  # the writer greenlet's green socket waits; a plain one blocks
    listener.send_loop(dp)  # writes the rest, then the tail, then ends (close_socket)
    reader.join(10)
    assert got == [big + b"tail"]
    assert dp.closed_write and dp.send_q is None


def test_the_writer_joins_what_is_queued_into_one_write() -> None:
    a, b = _pair()
    dp = Writer(a)
    writes: list[bytes] = []
    dp.socket.sendall = lambda data: (writes.append(data), a.sendall(data))
    for i in range(5):
        dp.send(bytes([i]) * 3, close_socket=i == 4)
    listener.send_loop(dp)
    assert writes == [b"".join(bytes([i]) * 3 for i in range(5))]
    assert _read(b, 15) == writes[0]


def test_a_tls_socket_is_left_to_the_writer() -> None:
    dp = Writer(SimpleNamespace(send=lambda data: len(data), sendall=lambda data: None))
    assert listener.write_now(dp, b"x") is None
