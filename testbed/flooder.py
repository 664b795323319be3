"""Flood from inside a Mininet host: unicast frames to ever-new MACs, each a table miss.

    python3 testbed/flooder.py h1-eth0 10000 5     # 10k frames/s for 5 s, then stop

Bounded by count (rate x seconds) and time; prints "<frames sent> <seconds>". Stdlib
only (it runs in the host's namespace with the system python3). Every frame is an
IPv4/UDP packet from 00:00:00:00:00:01 / 10.0.0.1 to 10.0.0.250 and to a MAC no host
has (02:ff:<counter>), so no installed flow matches it and its switch sends a packet-in.
"""

import socket
import struct
import sys
import time


def main() -> None:
    iface, pps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    ip = bytes.fromhex("450000200000000040110000") + bytes([10, 0, 0, 1, 10, 0, 0, 250])
    udp = struct.pack("!HHHH", 9, 9, 12, 0) + b"flood!"
    src = bytes.fromhex("000000000001")
    t0, sent = time.monotonic(), 0
    while time.monotonic() - t0 < seconds and sent < pps * seconds:
        for _ in range(100):
            s.send(b"\x02\xff" + sent.to_bytes(4, "big") + src + b"\x08\x00" + ip + udp)
            sent += 1
        ahead = sent / pps - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    print(sent, time.monotonic() - t0)


if __name__ == "__main__":
    main()
