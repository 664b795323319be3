"""Fuzz the packet-in frame parser: every input must parse or raise FrameError, quickly.

    python -m testbed.fuzz_frames --frames 1000000 --seed 7 --seconds 60

Inputs are seeded random bytes and mutations of valid seed frames (bit flips, truncation,
extension, lying IPv4/ARP length fields, extra or cut VLAN tags, random ethertypes). Every
call runs under an interval timer (``testbed.alarm``, as in the OpenFlow fuzzer): a parse
still running at the bound is interrupted, so a hang is reported in milliseconds instead of
blocking the run. A call slower than a tenth of the bound (or interrupted) is tried again
after growing pauses, and fails only if every try is over the bound: a scheduler stall on
a busy machine (a 4 ms tick is common) is neither a failure nor the reported maximum. The
garbage collector runs only between calls (the timer's exception must not land in it).
Exit status 1 on any exception other than FrameError or any call over the bound.
tests/unit/test_frames.py runs the same generator for a short while.
"""

from __future__ import annotations

import argparse
import gc
import random
import struct
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from controller.southbound.frames import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_LLDP,
    ETH_TYPE_QINQ,
    ETH_TYPE_VLAN,
    IP_PROTO_TCP,
    IP_PROTO_UDP,
    MAX_FRAME_LEN,
    Frame,
    FrameError,
    arp_frame,
    ethernet_frame,
    ipv4_packet,
    parse_frame,
)
from testbed.alarm import AlarmTimer, Hang, installed

DEFAULT_BOUND_S = 0.005
# Pauses before timing a slow input again: a preempted process or a stalled virtual CPU
# gets time to pass, while an input that is really slow stays slow on every try.
RETRY_PAUSES_S = (0.001, 0.005, 0.02, 0.05, 0.1)
RETIME_FRACTION = 0.1
MAX_KEPT_FAILURES = 20
GC_EVERY = 20_000  # inputs between garbage collections (never while a bound is armed)
H1, H2 = "00:00:00:00:00:01", "00:00:00:00:00:02"
IP1, IP2 = "10.0.0.1", "10.0.0.2"
INTERESTING_TYPES = (
    ETH_TYPE_IPV4,
    ETH_TYPE_ARP,
    ETH_TYPE_VLAN,
    ETH_TYPE_QINQ,
    ETH_TYPE_LLDP,
    0x86DD,  # IPv6
    0x0000,
    0x05DC,  # an 802.3 length, not a type
    0xFFFF,
)


def _udp(sport: int, dport: int, body: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def _tcp_syn(sport: int, dport: int, options: bytes) -> bytes:
    offset = (20 + len(options)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, offset << 4, 0x02, 65535, 0, 0) + options


TCP_OPT_SACK = 5
TCP_OPT_EXPERIMENT = 254


def tcp_option_len0_frame(kind: int = TCP_OPT_EXPERIMENT) -> bytes:
    """A TCP SYN from h1 to h2 whose first option (``kind``, then two NOPs) claims length 0:
    Ryu's TCP option loop never returns on it. The kind matters: Ryu skips a fixed size for
    the options it knows the size of (MSS, window scale, timestamps...), whatever their
    length byte says, and the option's own length for the rest (SACK, unknown kinds)."""
    options = bytes([kind, 0, 1, 1])
    return ipv4_packet(H1, H2, IP1, IP2, IP_PROTO_TCP, _tcp_syn(40000, 80, options))


def seed_frames() -> list[bytes]:
    """Valid frames of every kind the parser distinguishes, the starting points of mutation."""
    udp = ipv4_packet(H1, H2, IP1, IP2, IP_PROTO_UDP, _udp(5000, 53, b"query"))
    ip_udp = udp[14:]
    tags = struct.pack("!HHHH", 100, ETH_TYPE_VLAN, 200, ETH_TYPE_IPV4)
    lldp_tlvs = b"\x02\x07\x04" + bytes(6) + b"\x04\x05\x02\x00\x00\x00\x01\x06\x02\x00\x78\x00\x00"
    return [
        arp_frame(ARP_REQUEST, H1, IP1, "00:00:00:00:00:00", IP2),
        arp_frame(ARP_REPLY, H2, IP2, H1, IP1),
        udp,
        ipv4_packet(H1, H2, IP1, IP2, IP_PROTO_TCP, _tcp_syn(40000, 22, b"\x02\x04\x05\xb4")),
        tcp_option_len0_frame(),
        tcp_option_len0_frame(TCP_OPT_SACK),
        ipv4_packet(H1, BROADCAST_MAC, IP1, "10.255.255.255", 1, b"\x08\x00" + bytes(30)),
        ethernet_frame(H2, H1, ETH_TYPE_IPV4, ip_udp, vlan=100),
        ethernet_frame(H2, H1, ETH_TYPE_QINQ, tags + ip_udp),
        ethernet_frame("01:80:c2:00:00:0e", H1, ETH_TYPE_LLDP, lldp_tlvs),
        ethernet_frame(H2, H1, 0x86DD, bytes(60)),
        ethernet_frame(H2, H1, 0x1234, b"unknown"),
    ]


def _l3_offset(frame: bytes) -> int:
    """Where the payload after up to two VLAN tags starts (14 for an untagged frame)."""
    offset = 14
    for _ in range(2):
        if frame[offset - 2 : offset] not in (b"\x81\x00", b"\x88\xa8"):
            break
        offset += 4
    return offset


def _put(frame: bytes, offset: int, value: bytes) -> bytes:
    """``frame`` with ``value`` written at ``offset`` (extended if shorter)."""
    if len(frame) < offset:
        frame += bytes(offset - len(frame))
    return frame[:offset] + value + frame[offset + len(value) :]


def flip_bits(rng: random.Random, frame: bytes) -> bytes:
    if not frame:
        return frame
    data = bytearray(frame)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def truncate(rng: random.Random, frame: bytes) -> bytes:
    return frame[: rng.randrange(len(frame) + 1)]


def extend(rng: random.Random, frame: bytes) -> bytes:
    return frame + rng.randbytes(rng.randint(1, 64))


def set_ethertype(rng: random.Random, frame: bytes) -> bytes:
    ethertype = rng.choice(INTERESTING_TYPES) if rng.random() < 0.7 else rng.getrandbits(16)
    return _put(frame, _l3_offset(frame) - 2, struct.pack("!H", ethertype))


def lie_ipv4(rng: random.Random, frame: bytes) -> bytes:
    """Rewrite one IPv4 header field that governs lengths or what follows."""
    at = _l3_offset(frame)
    choice = rng.randrange(4)
    if choice == 0:  # version / IHL
        return _put(frame, at, bytes([rng.getrandbits(8)]))
    if choice == 1:  # total length
        length = rng.choice((0, 1, 19, 20, 21, 24, 1500, 65535, rng.getrandbits(16)))
        return _put(frame, at + 2, struct.pack("!H", length))
    if choice == 2:  # flags / fragment offset
        return _put(frame, at + 6, struct.pack("!H", rng.getrandbits(16)))
    return _put(frame, at + 9, bytes([rng.choice((IP_PROTO_TCP, IP_PROTO_UDP, 1, 0, 255))]))


def lie_arp(rng: random.Random, frame: bytes) -> bytes:
    """Rewrite ARP htype, ptype, hlen or plen."""
    at = _l3_offset(frame)
    choice = rng.randrange(3)
    if choice == 0:
        return _put(frame, at, struct.pack("!H", rng.choice((0, 1, 6, rng.getrandbits(16)))))
    if choice == 1:
        return _put(frame, at + 2, struct.pack("!H", rng.choice((0x0800, 0x86DD, 0))))
    return _put(frame, at + 4 + rng.randrange(2), bytes([rng.choice((0, 4, 6, 16, 255))]))


def lie_vlan(rng: random.Random, frame: bytes) -> bytes:
    """Insert one to four VLAN tags, or cut the frame inside the tag area."""
    if rng.random() < 0.25:
        return frame[: 12 + rng.randrange(1, 11)]
    tags = b""
    for _ in range(rng.randint(1, 4)):
        tpid = rng.choice((ETH_TYPE_VLAN, ETH_TYPE_QINQ))
        tags += struct.pack("!HH", tpid, rng.getrandbits(16))
    return frame[:12] + tags + frame[12:]


def splice(rng: random.Random, frame: bytes) -> bytes:
    start = rng.randrange(len(frame) + 1)
    end = min(len(frame), start + rng.randint(0, 16))
    return frame[:start] + rng.randbytes(rng.randint(0, 16)) + frame[end:]


def oversize(rng: random.Random, frame: bytes) -> bytes:
    """Pad to exactly the maximum length or one byte past it."""
    target = MAX_FRAME_LEN + rng.randrange(2)
    return frame + bytes(max(0, target - len(frame)))


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    flip_bits,
    truncate,
    extend,
    set_ethertype,
    lie_ipv4,
    lie_arp,
    lie_vlan,
    splice,
)


def random_frame(rng: random.Random) -> bytes:
    """Random bytes, half of them with a type the parser looks into."""
    frame = rng.randbytes(rng.randrange(0, 128))
    if len(frame) >= 14 and rng.random() < 0.5:
        frame = _put(frame, 12, struct.pack("!H", rng.choice(INTERESTING_TYPES)))
    return frame


def mutate(rng: random.Random, frame: bytes) -> bytes:
    """One to three stacked mutations of ``frame`` (rarely: oversized)."""
    if rng.random() < 0.001:
        return oversize(rng, frame)
    for _ in range(rng.randint(1, 3)):
        frame = rng.choice(MUTATIONS)(rng, frame)
    return frame


def generate(rng: random.Random, seeds: list[bytes]) -> Iterator[bytes]:
    """Endless inputs: 10% random bytes, 5% unmodified seeds, the rest mutated seeds."""
    while True:
        roll = rng.random()
        if roll < 0.10:
            yield random_frame(rng)
        elif roll < 0.15:
            yield rng.choice(seeds)
        else:
            yield mutate(rng, rng.choice(seeds))


def outcome(result: Frame) -> str:
    """Coarse kind of a parsed frame, for the outcome counts."""
    if result.arp is not None:
        kind = "arp"
    elif result.ipv4 is not None:
        kind = "ipv4+ports" if result.ipv4.src_port is not None else "ipv4"
    elif result.is_lldp:
        kind = "lldp"
    else:
        kind = "other"
    return kind if result.vlan is None else "vlan/" + kind


@dataclass
class FuzzReport:
    """Counts and timings of one fuzz run; ``failures`` holds what should never happen."""

    frames: int = 0
    elapsed_s: float = 0.0
    parse_s: float = 0.0
    max_call_s: float = 0.0  # after re-timing calls over the bound
    raw_max_call_s: float = 0.0  # first measurement, scheduler hiccups included
    retimed: int = 0
    interrupted: int = 0  # tries the timer stopped at the bound (each retried; a hang: all)
    hangs: int = 0  # inputs interrupted on every try
    slowest_input: str = ""  # length and first bytes of the input behind max_call_s
    outcomes: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # the first MAX_KEPT_FAILURES

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fail(self, message: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_KEPT_FAILURES:
            self.failures.append(message)

    def summary(self, bound_s: float) -> str:
        rate = self.frames / self.elapsed_s if self.elapsed_s else 0.0
        parse_rate = self.frames / self.parse_s if self.parse_s else 0.0
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.frames} frames in {self.elapsed_s:.1f} s ({rate:.0f} frames/s, parser alone "
            f"{parse_rate:.0f}/s); max call {self.max_call_s * 1e3:.3f} ms (first timing "
            f"{self.raw_max_call_s * 1e3:.3f} ms, {self.retimed} re-timed, "
            f"{self.interrupted} interrupted at the bound, bound {bound_s * 1e3:g} ms; slowest "
            f"input {self.slowest_input}); hangs {self.hangs}; failures {self.failed}; "
            f"outcomes: {counts}"
        )


class Try(NamedTuple):
    """One timed parse of an input."""

    seconds: float
    frame: Frame | None
    error: BaseException | None
    interrupted: bool  # the timer stopped it at the bound (``seconds`` is then about that)


def timed_parse(data: bytes, timer: AlarmTimer, bound_s: float) -> Try:
    """Parse ``data`` once under ``timer`` armed for ``bound_s`` (installed by the caller)."""
    start = time.perf_counter()
    try:
        try:
            timer.arm(bound_s)
            frame: Frame | None = parse_frame(data)
            error: BaseException | None = None
        except Hang:
            raise
        except Exception as exc:
            frame, error = None, exc
        finally:
            timer.disarm()
    except Hang:  # the bound passed (perhaps just as the call ended: it is tried again)
        timer.disarm()
        return Try(time.perf_counter() - start, None, None, True)
    return Try(time.perf_counter() - start, frame, error, False)


def check(report: FuzzReport, data: bytes, timer: AlarmTimer, bound_s: float) -> None:
    """Parse one input (again after pauses when slow or interrupted) and record it."""
    first = best = timed_parse(data, timer, bound_s)
    report.parse_s += first.seconds
    report.raw_max_call_s = max(report.raw_max_call_s, first.seconds)
    report.interrupted += first.interrupted
    if first.interrupted or first.seconds > bound_s * RETIME_FRACTION:
        report.retimed += 1
        for pause in RETRY_PAUSES_S:
            time.sleep(pause)
            again = timed_parse(data, timer, bound_s)
            report.interrupted += again.interrupted
            if not again.interrupted and (best.interrupted or again.seconds < best.seconds):
                best = again
            if not best.interrupted and best.seconds <= bound_s * RETIME_FRACTION:
                break  # the first timing was a stall
    report.frames += 1
    if best.interrupted:
        report.hangs += 1
        tries = 1 + len(RETRY_PAUSES_S)
        report.fail(f"hang (stopped at {bound_s * 1e3:g} ms, {tries} tries): {data[:200].hex()}")
        return
    if best.seconds > bound_s:
        report.fail(f"slow ({best.seconds * 1e3:.3f} ms): {data[:200].hex()}")
    if best.seconds > report.max_call_s:
        report.max_call_s = best.seconds
        report.slowest_input = f"{len(data)} bytes {data[:24].hex()}"
    if isinstance(best.error, FrameError):
        report.outcomes["FrameError"] += 1
    elif best.error is not None:
        trace = "".join(traceback.format_exception(best.error)).strip()
        report.fail(f"{trace}\ninput: {data[:200].hex()}")
    elif not isinstance(best.frame, Frame):
        report.fail(f"returned {best.frame!r} for input {data[:200].hex()}")
    else:
        report.outcomes[outcome(best.frame)] += 1


def run(
    frames: int, seed: int, seconds: float = float("inf"), bound_s: float = DEFAULT_BOUND_S
) -> FuzzReport:
    """Parse up to ``frames`` generated inputs (stopping after ``seconds``), each under a
    ``bound_s`` interval timer, and report. Main thread only (the timer is SIGALRM)."""
    rng = random.Random(seed)
    report = FuzzReport()
    inputs = generate(rng, seed_frames())
    timer = AlarmTimer()
    with installed(timer):
        start = time.perf_counter()
        deadline = start + seconds
        for n in range(frames):
            if n % GC_EVERY == 0:
                gc.collect()
            check(report, next(inputs), timer, bound_s)
            if time.perf_counter() > deadline:
                break
        report.elapsed_s = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: run, print one summary line (and the first failures), exit 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=1_000_000, help="inputs to parse at most")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    parser.add_argument(
        "--bound-ms",
        type=float,
        default=DEFAULT_BOUND_S * 1e3,
        help="per-call time bound: a parse still running then is interrupted (a hang)",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    bound_s = args.bound_ms / 1e3
    report = run(args.frames, seed, args.seconds, bound_s)
    print(f"fuzz_frames seed {seed}: {report.summary(bound_s)}")
    for failure in report.failures[:10]:
        print("FAILURE:", failure, file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
