"""Tier 2 (no Mininet): the northbound side's safe defaults against a real ryu-manager.

Both listeners bind loopback when no host is given; a REST bind beyond loopback without
a token refuses to start with a message saying why; one client holding 1,100 idle
connections does not stop the REST server answering others within 1 s; deeply nested
JSON is a 400; oversized request headers (a 100 KiB line, 1,000 headers, an 80 KiB header
block, a 10 KiB request line) get a 4xx and the server keeps answering."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import time
from pathlib import Path

from controller.northbound.rest import PER_CLIENT
from testbed import lab


def _request(
    port: int, source: str, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _listening(port: int) -> list[str]:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines() if line.split()[3].endswith(f":{port}")]


def test_listeners_default_to_loopback_and_a_public_rest_bind_needs_a_token(
    tmp_path: Path,
) -> None:
    of_port, rest_port = lab.free_tcp_port(), lab.free_tcp_port()
    ryu = str(lab.VENV_BIN / "ryu-manager")
    base = [ryu, "--ofp-tcp-listen-port", str(of_port), "--wsapi-port", str(rest_port)]
    log = tmp_path / "default.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen([*base, "controller/app.py"], cwd=lab.ROOT, stdout=f, stderr=f)
    try:
        lab.wait_for(lambda: _listening(of_port) and _listening(rest_port), 30, "listeners")
        bound = _listening(of_port) + _listening(rest_port)
    finally:
        proc.terminate()
        proc.wait(10)
    refused = subprocess.run(
        [*base, "--wsapi-host", "0.0.0.0", "controller/app.py"],
        cwd=lab.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    print(
        f"\n[rest] without host flags: listening on {bound}; --wsapi-host 0.0.0.0 without "
        f"a token: exit {refused.returncode}, {refused.stderr.strip().splitlines()[-1]!r}"
    )
    assert bound == [f"127.0.0.1:{of_port}", f"127.0.0.1:{rest_port}"]
    started = next(line for line in log.read_text().splitlines() if "sdn controller:" in line)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} INFO ", started), started
    assert refused.returncode != 0
    assert "refusing to start" in refused.stderr and "rest_token" in refused.stderr


def test_idle_connections_from_one_client_do_not_starve_the_rest_server(tmp_path: Path) -> None:
    ctl = lab.ControllerProcess(log_path=tmp_path / "ryu-manager.log")
    ctl.start()
    held: list[socket.socket] = []
    try:
        for _ in range(1100):  # the attacker: idle connections, all from 127.0.0.1
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", ctl.rest_port))
            except OSError:
                s.close()
                continue
            held.append(s)
        # Another client (another loopback source address) asks while they are held.
        t0 = time.monotonic()
        status, body = _request(ctl.rest_port, "127.0.0.2", "GET", "/v1/health")
        answer_s = time.monotonic() - t0
        health = json.loads(body)
        time.sleep(0.5)
        open_now = 0
        for s in held:  # connections beyond the per-client limit were closed at accept
            try:
                s.setblocking(False)
                open_now += s.recv(1) != b""
            except BlockingIOError:
                open_now += 1
            except OSError:
                pass
        deep = b"[" * 5000 + b"]" * 5000
        deep_status, _ = _request(ctl.rest_port, "127.0.0.3", "PUT", "/v1/metric", deep)
    finally:
        for s in held:
            s.close()
        ctl.stop()
    print(
        f"\n[rest] 1,100 idle connections from one client: {open_now} kept open (limit "
        f"{PER_CLIENT}); another client's /v1/health answered in {answer_s * 1e3:.0f} ms "
        f"(bound 1 s); 5,000-deep JSON: HTTP {deep_status}"
    )
    assert status == 200 and health["status"] == "ok" and answer_s < 1.0
    assert open_now <= PER_CLIENT
    assert deep_status == 400


# Eventlet's WSGI server and the standard library's header parser bound what a request
# may carry before our code sees it; README "Security model" states these figures.
MAX_HEADER_LINE = 8192  # bytes, CRLF included: eventlet.wsgi.MAX_HEADER_LINE (400 at it)
MAX_HEADERS = 99  # http.client._MAXHEADERS = 100 lines, the blank line that ends them too
MAX_HEADER_BLOCK = 65536  # bytes: eventlet.wsgi.MAX_TOTAL_HEADER_SIZE (400 beyond it)
MAX_REQUEST_LINE = 8192  # bytes: eventlet.wsgi.MAX_REQUEST_LINE (414 at it)


def _raw(port: int, head: bytes, timeout: float = 5.0) -> tuple[int | None, float]:
    """Send ``head`` (a request without a body) on a fresh connection: (the status of the
    answer, None when the server closed without one; seconds until it came)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it stopped reading and answered (or closed) before the end
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(m.group(1)) if m else None), time.monotonic() - t0


def _get(path: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode()


def test_oversized_request_headers_get_a_4xx_and_the_server_keeps_answering(
    tmp_path: Path,
) -> None:
    # "Host" and "Connection" are two of the headers: fill up to the limits with the rest.
    line_at_limit = "a" * (MAX_HEADER_LINE - len("X-Pad: ") - 3)  # 8,191 bytes with CRLF
    cases = {
        "100 KiB header line": (_get("/v1/health", [("X-Big", "a" * 100 * 1024)]), False),
        "1,000 headers": (_get("/v1/health", [(f"X-H{i}", "1") for i in range(1000)]), False),
        "80 KiB in 20 headers": (
            _get("/v1/health", [(f"X-H{i}", "a" * 4096) for i in range(20)]),
            False,
        ),
        "10 KiB request line": (_get("/v1/health?" + "a" * 10 * 1024, []), False),
        "8,191-byte header line": (_get("/v1/health", [("X-Pad", line_at_limit)]), True),
        "99 headers": (
            _get("/v1/health", [(f"X-H{i}", "1") for i in range(MAX_HEADERS - 2)]),
            True,
        ),
        "100 headers": (
            _get("/v1/health", [(f"X-H{i}", "1") for i in range(MAX_HEADERS - 1)]),
            False,
        ),
    }
    ctl = lab.ControllerProcess(log_path=tmp_path / "ryu-manager.log")
    ctl.start()
    seen: dict[str, tuple[int | None, float, int, float]] = {}
    try:
        for name, (head, _) in cases.items():
            status, took = _raw(ctl.rest_port, head)
            t0 = time.monotonic()
            after, _body = _request(ctl.rest_port, "127.0.0.1", "GET", "/v1/health")
            seen[name] = (status, took, after, time.monotonic() - t0)
        log = ctl.log_tail(400)
    finally:
        ctl.stop()
    print("\n[rest] request header limits (eventlet + http.client defaults):")
    for name, (status, took, after, after_s) in seen.items():
        print(
            f"  {name}: HTTP {status} in {took * 1e3:.0f} ms; /v1/health next: HTTP {after} "
            f"in {after_s * 1e3:.0f} ms"
        )
    for name, (_head, allowed) in cases.items():
        status, _took, after, after_s = seen[name]
        assert after == 200 and after_s < 1.0, (name, after, after_s)
        if allowed:
            assert status == 200, (name, status)
        else:
            assert status is None or 400 <= status < 500, (name, status)
    assert seen["100 KiB header line"][0] == 400
    assert seen["1,000 headers"][0] == seen["100 headers"][0] == 431
    assert seen["80 KiB in 20 headers"][0] == 400
    assert seen["10 KiB request line"][0] == 414
    assert "Traceback" not in log
