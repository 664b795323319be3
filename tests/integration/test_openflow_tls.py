"""Tier 2 (Open vSwitch, no Mininet): OpenFlow over TLS binds a switch to its certificate.

A throw-away CA signs a controller and a switch certificate; ryu-manager listens with
``--ctl-privkey/--ctl-cert/--ca-certs`` (TLS only), Open vSwitch connects with ``ssl:``.
The switch is discovered over TLS; a client whose certificate another CA signed, and a
plain TCP client, are refused."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

from testbed import lab

BRIDGE = "sdntls0"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.crt"),
             "-subj", f"/CN={name}")  # fmt: skip


def _signed(d: Path, name: str, ca: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{name}.key"),
             "-out", str(d / f"{name}.csr"), "-subj", f"/CN={name}")  # fmt: skip
    _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / f"{ca}.crt"),
             "-CAkey", str(d / f"{ca}.key"), "-CAcreateserial", "-days", "2",
             "-out", str(d / f"{name}.crt"))  # fmt: skip


def _vsctl(*args: str) -> None:
    subprocess.run(["ovs-vsctl", "--timeout=10", *args], check=True, timeout=20)


def _tls_client(port: int, d: Path, name: str) -> str:
    """Handshake as ``name`` and read; what happened."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(d / f"{name}.crt"), str(d / f"{name}.key"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                s.settimeout(5)
                data = s.recv(8)  # the controller's HELLO, if it accepted us
                return "hello" if data[:1] == b"\x04" else f"closed ({data!r})"
    except (ssl.SSLError, OSError) as exc:
        return f"refused ({type(exc).__name__})"


def test_a_switch_connects_over_tls_and_untrusted_certificates_are_refused(
    ovs: lab.OvsService, tmp_path: Path
) -> None:
    d = tmp_path
    _ca(d, "ca")
    _ca(d, "other-ca")
    for name, ca in (("controller", "ca"), ("switch", "ca"), ("stranger", "other-ca")):
        _signed(d, name, ca)
    port = lab.free_tcp_port()
    ctl = lab.ControllerProcess(
        of_port=port,
        log_path=tmp_path / "ryu-manager.log",
        extra_args=(
            "--ctl-privkey", str(d / "controller.key"),
            "--ctl-cert", str(d / "controller.crt"),
            "--ca-certs", str(d / "ca.crt"),
            "--ofp-ssl-listen-port", str(port),
        ),
    )  # fmt: skip
    ctl.start()
    try:
        _vsctl("set-ssl", str(d / "switch.key"), str(d / "switch.crt"), str(d / "ca.crt"))
        _vsctl("--may-exist", "add-br", BRIDGE,
               "--", "set", "bridge", BRIDGE, "datapath_type=netdev", "protocols=OpenFlow13",
               "other-config:datapath-id=00000000000000aa",
               f"external_ids:{lab.OWNER_KEY}=tls-{os.getpid()}",
               "--", "set-controller", BRIDGE, f"ssl:127.0.0.1:{port}")  # fmt: skip
        t0 = time.monotonic()
        lab.wait_for(
            lambda: lab.get_json(f"{ctl.rest_url}/v1/health")["switches"] == 1, 30, "TLS switch"
        )
        connected_s = time.monotonic() - t0
        stranger = _tls_client(port, d, "stranger")
        trusted = _tls_client(port, d, "switch")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
            plain.sendall(bytes.fromhex("0400000800000001"))  # a plain-text HELLO
            plain.settimeout(5)
            try:
                answer = plain.recv(8)
            except OSError as exc:
                answer = type(exc).__name__.encode()
        health = lab.get_json(f"{ctl.rest_url}/v1/health")
    except BaseException:
        print(f"\n----- ryu-manager log tail ({ctl.log_path}) -----\n{ctl.log_tail(40)}")
        raise
    finally:
        subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", BRIDGE], check=False)
        subprocess.run(["ovs-vsctl", "--timeout=10", "del-ssl"], check=False)
        ctl.stop()
    print(
        f"\n[tls] switch 00000000000000aa connected over TLS after {connected_s:.1f} s; "
        f"a certificate of another CA: {stranger}; the switch's own: {trusted}; "
        f"plain TCP HELLO: answer {answer!r}"
    )
    assert health["switches"] == 1
    assert stranger.startswith("refused") or stranger.startswith("closed")
    assert trusted == "hello"
    assert not answer.startswith(b"\x04")
