"""The lean REST HTTP server (``controller.northbound.httpserver``) on a loopback port:
keep-alive and pipelining, bodies (length, chunked, 100-continue), eventlet's header
limits with the same statuses, timeouts and the per-client connection cap."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from eventlet.green import socket

from controller.northbound import httpserver
from controller.northbound.httphead import HEADER_LINE_LIMIT, REQUEST_LINE_LIMIT

BODY_LIMIT = 1000


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read(BODY_LIMIT + 10)
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("app fault")
    out = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "body": body.decode("latin-1"),
        "ctype": environ["CONTENT_TYPE"],
        "x": environ.get("HTTP_X_THING"),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]


@pytest.fixture
def server() -> Iterator[tuple[int, httpserver.ClientLimit]]:
    sock = eventlet.listen(("127.0.0.1", 0))
    limit = httpserver.ClientLimit(sock, 3)
    gt = eventlet.spawn(
        httpserver.serve,
        limit,
        echo,
        max_connections=16,
        socket_timeout=0.5,
        idle_timeout=0.3,
        body_limit=BODY_LIMIT,
    )
    try:
        yield sock.getsockname()[1], limit
    finally:
        gt.kill()
        sock.close()


def connect(port: int) -> Any:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(3)
    return s


def read_replies(s: Any, n: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``n`` replies off a connection (each with a Content-Length)."""
    buf = b""
    out: list[tuple[int, dict[str, str], bytes]] = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return out
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        size = int(headers.get("content-length", "0"))
        while len(buf) < size:
            buf += s.recv(65536)
        out.append((status, headers, buf[:size]))
        buf = buf[size:]
    return out


def closed(s: Any) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def get(path: str, *extra: str, version: str = "HTTP/1.1") -> bytes:
    return ("\r\n".join([f"GET {path} {version}", "Host: x", *extra]) + "\r\n\r\n").encode()


def test_one_keep_alive_connection_answers_requests_one_after_another_and_pipelined(
    server: Any,
) -> None:
    port, _ = server
    with connect(port) as s:
        for i in range(3):
            s.sendall(get(f"/v1/a%2Fb{i}?k=1&m=2", "X-Thing: yes"))
            [(status, headers, body)] = read_replies(s, 1)
            reply = json.loads(body)
            assert status == 200 and "connection" not in headers and "date" in headers
            assert reply["path"] == f"/v1/a/b{i}" and reply["query"] == "k=1&m=2"
            assert reply["x"] == "yes" and reply["ctype"] == "text/plain"
        s.sendall(get("/p1") + get("/p2") + get("/p3", "Connection: close"))
        replies = read_replies(s, 3)
        assert [json.loads(b)["path"] for _, _, b in replies] == ["/p1", "/p2", "/p3"]
        assert replies[2][1]["connection"] == "close" and closed(s)


def test_http_1_0_closes_unless_asked_to_keep_alive(server: Any) -> None:
    port, _ = server
    with connect(port) as s:
        s.sendall(get("/a", version="HTTP/1.0"))
        assert read_replies(s, 1)[0][1]["connection"] == "close" and closed(s)
    with connect(port) as s:
        s.sendall(get("/a", "Connection: keep-alive", version="HTTP/1.0"))
        assert read_replies(s, 1)[0][1]["connection"] == "keep-alive"
        s.sendall(get("/b", version="HTTP/1.0"))
        assert json.loads(read_replies(s, 1)[0][2])["path"] == "/b"


def test_bodies_by_length_chunked_and_after_100_continue(server: Any) -> None:
    port, _ = server
    with connect(port) as s:
        s.sendall(b"PUT /x HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n")
        s.sendall(b'{"a": 1}'[:7])
        s.sendall(b"POST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        s.sendall(b"4;ext=1\r\ndefg\r\n0\r\nTrailer: t\r\n\r\n")
        first, second = read_replies(s, 2)
        assert json.loads(first[2])["body"] == '{"a": 1'
        assert json.loads(first[2])["ctype"] == "application/json"
        assert json.loads(second[2])["body"] == "abcdefg"
        s.sendall(b"PUT /z HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"ok")
        assert json.loads(read_replies(s, 1)[0][2])["body"] == "ok"


def test_a_body_over_the_limit_reaches_the_app_cut_and_the_connection_closes(
    server: Any,
) -> None:
    port, _ = server
    big = b"x" * (BODY_LIMIT * 3)
    with connect(port) as s:
        s.sendall(b"PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
        [(status, headers, body)] = read_replies(s, 1)
        assert status == 200 and len(json.loads(body)["body"]) == BODY_LIMIT
        assert headers["connection"] == "close" and closed(s)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/?" + "a" * REQUEST_LINE_LIMIT), 414),
        (get("/", "X-Big: " + "a" * 100_000), 400),
        (get("/", "X-Pad: " + "a" * (HEADER_LINE_LIMIT - len("X-Pad: ") - 2)), 400),
        (get("/", *(f"X-H{i}: {'a' * 4096}" for i in range(20))), 400),
        (get("/", *(f"X-H{i}: 1" for i in range(99))), 431),  # 100 with Host
        (get("/", *(f"X-H{i}: 1" for i in range(1000))), 431),
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", 400),
        (b"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 100, 431),
    ],
)
def test_refused_requests_get_a_json_4xx_and_a_close(
    server: Any, request_bytes: bytes, status: int
) -> None:
    port, _ = server
    with connect(port) as s:
        try:
            s.sendall(request_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass
        [(got, headers, body)] = read_replies(s, 1)
        assert (got, headers["connection"]) == (status, "close")
        assert "error" in json.loads(body)
    with connect(port) as s:  # and the server goes on answering
        s.sendall(get("/after"))
        assert read_replies(s, 1)[0][0] == 200


def test_heads_at_the_limits_are_served(server: Any) -> None:
    port, _ = server
    pad = "a" * (HEADER_LINE_LIMIT - len("X-Pad: ") - 3)  # 8,191 bytes with CRLF
    line = "/?" + "a" * (REQUEST_LINE_LIMIT - len("GET /? HTTP/1.1") - 3)  # 8,191 too
    for head in (get("/", f"X-Pad: {pad}"), get("/", *(f"X-H{i}: 1" for i in range(98))),
                 get(line)):  # fmt: skip
        with connect(port) as s:
            s.sendall(head)
            assert read_replies(s, 1)[0][0] == 200


def test_an_app_fault_is_a_500_without_detail_and_a_close(server: Any) -> None:
    port, _ = server
    with connect(port) as s:
        s.sendall(get("/boom"))
        [(status, headers, body)] = read_replies(s, 1)
        assert (status, headers["connection"], body) == (500, "close", b"")


def test_idle_and_slow_connections_are_closed(server: Any) -> None:
    port, _ = server
    with connect(port) as s:  # idle past the keep-alive timeout (0.3 s)
        t0 = eventlet.hubs.get_hub().clock()
        assert closed(s)
        assert eventlet.hubs.get_hub().clock() - t0 < 1.5
    with connect(port) as s:  # a head trickled in: the whole head within 0.5 s
        t0 = eventlet.hubs.get_hub().clock()
        s.sendall(b"GET / HTTP/1.1\r\n")
        for _ in range(20):
            eventlet.sleep(0.1)
            try:
                s.sendall(b"X: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        assert closed(s)
        assert eventlet.hubs.get_hub().clock() - t0 < 1.5


def test_connections_beyond_the_per_client_cap_are_closed_at_accept(server: Any) -> None:
    port, limit = server
    held = [connect(port) for _ in range(5)]
    try:
        eventlet.sleep(0.05)
        assert limit.refused == 2 and limit.active["127.0.0.1"] == 3
        for s in held[:3]:
            s.sendall(get("/"))
            assert read_replies(s, 1)[0][0] == 200
        assert all(closed(s) for s in held[3:])
    finally:
        for s in held:
            s.close()
    eventlet.sleep(0.05)
    assert "127.0.0.1" not in limit.active


def test_no_reply_leaks_a_traceback() -> None:
    err = httpserver._error_reply(httpserver.HttpError(431, "too many"))
    assert re.match(rb"HTTP/1\.1 431 Request Header Fields Too Large\r\n", err)
    assert err.endswith(b'{"error": "too many"}')
