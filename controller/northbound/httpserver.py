"""A lean keep-alive HTTP/1.1 server for the REST API's WSGI app, on eventlet green sockets.

eventlet.wsgi (request line, the email parser for headers, a large environ, a write per
part) was more than half of a path query's time. This server reads a connection in
64 KiB chunks, parses the head with ``bytes`` operations, builds a small environ and sends
each answer with one ``sendall``. It keeps every limit eventlet's server enforced, with
the same answers: a request line of 8 KiB or more is a 414, a header line of 8 KiB or more
and a header block over 64 KiB a 400, more than 100 header lines (the blank one too) a 431;
a 10 s socket timeout (and the whole head within it), 5 s idle between requests, and a
per-client connection cap at accept (:class:`ClientLimit`). Its own refusals are JSON
with a 4xx status and close the connection."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

import eventlet

from controller.northbound.httphead import (
    HEAD_LIMIT,
    HEADER_BLOCK_LIMIT,
    HEADER_COUNT_LIMIT,
    HEADER_LINE_LIMIT,
    REQUEST_LINE_LIMIT,
    HttpError,
    environ_of,
    parse_head,
)

log = logging.getLogger("controller.northbound.httpserver")

CHUNK_LINE_LIMIT = 1024
READ_SIZE = 65536

BODYLESS = frozenset((204, 304))
PHRASES = {400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long",
           431: "Request Header Fields Too Large"}  # fmt: skip


class Closed(Exception):
    """The peer closed or went silent: nothing to answer."""


class ClientLimit:
    """The listening socket, refusing a client address's connections beyond ``per_client``
    at accept (so one client's idle or slow connections cannot take every slot of the
    server's pool); :meth:`release` gives the slot back when the connection ends."""

    def __init__(self, sock: Any, per_client: int) -> None:
        self._sock = sock
        self.per_client = per_client
        self.active: Counter[str] = Counter()
        self.refused = 0

    def accept(self) -> tuple[Any, Any]:
        while True:
            conn, addr = self._sock.accept()
            client = str(addr[0])
            if self.active[client] < self.per_client:
                self.active[client] += 1
                return conn, addr
            self.refused += 1
            conn.close()

    def release(self, client: str) -> None:
        self.active[client] -= 1
        if self.active[client] <= 0:
            del self.active[client]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Date:
    """The Date header's value, formatted once a second."""

    second, text = -1, ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.text = second, formatdate(second, usegmt=True)
        return cls.text


def _error_reply(err: HttpError) -> bytes:
    body = json.dumps({"error": err.message}).encode()
    phrase = PHRASES.get(err.status, "Error")
    head = (f"HTTP/1.1 {err.status} {phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
    return head.encode() + body


class Connection:
    """One client connection: its read buffer and the request loop."""

    def __init__(
        self,
        sock: Any,
        addr: Any,
        app: Callable[..., Iterable[bytes]],
        timeouts: tuple[float, float],
        body_limit: int,
    ) -> None:
        self.sock, self.app, self.body_limit = sock, app, body_limit
        self.socket_timeout, self.idle_timeout = timeouts
        local = sock.getsockname()
        self.server = {"SERVER_NAME": str(local[0]), "SERVER_PORT": str(local[1]),
                       "REMOTE_ADDR": str(addr[0]), "REMOTE_PORT": str(addr[1]),
                       "GATEWAY_INTERFACE": "CGI/1.1"}  # fmt: skip
        self.buf = b""

    def _recv(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Closed()
        self.sock.settimeout(min(left, self.socket_timeout))
        chunk = self.sock.recv(READ_SIZE)
        if not chunk:
            raise Closed()
        self.buf += chunk

    def _read_head(self) -> bytes:
        """The next request's head as received, up to its blank line without the last LF
        (leading empty lines skipped)."""
        if not self.buf:  # idle between requests: the keep-alive timeout
            self.sock.settimeout(self.idle_timeout)
            chunk = self.sock.recv(READ_SIZE)
            if not chunk:
                raise Closed()
            self.buf = chunk
        deadline = time.monotonic() + self.socket_timeout
        check_at = REQUEST_LINE_LIMIT
        while True:
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
                return head[:-1]
            end = self.buf.find(b"\n\n")
            if end >= 0:
                head, self.buf = self.buf[: end + 2], self.buf[end + 2 :]
                return head[:-1]
            if len(self.buf) >= check_at:  # fail early: a limit already broken
                parse_head(self.buf, complete=False)
                check_at = len(self.buf) + REQUEST_LINE_LIMIT
                if len(self.buf) > HEAD_LIMIT:
                    raise HttpError(400, f"header lines over {HEADER_BLOCK_LIMIT} bytes in all")
            self._recv(deadline)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        while len(self.buf) < size:
            self._recv(deadline)
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def _read_line(self, deadline: float, limit: int) -> bytes:
        while (end := self.buf.find(b"\n")) < 0:
            if len(self.buf) > limit:
                raise HttpError(400, "chunked body: line too long")
            self._recv(deadline)
        line, self.buf = self.buf[:end], self.buf[end + 1 :]
        return line.rstrip(b"\r")

    def _read_chunked(self, deadline: float) -> tuple[bytes, bool]:
        """(the body up to the limit, whether all of it was read)."""
        parts: list[bytes] = []
        size_read = 0
        while True:
            text = self._read_line(deadline, CHUNK_LINE_LIMIT).split(b";")[0].strip()
            try:
                size = int(text, 16)
            except ValueError:
                raise HttpError(400, "chunked body: bad chunk size") from None
            if size == 0:
                for _ in range(HEADER_COUNT_LIMIT):  # trailers: read past, as many as headers
                    if not self._read_line(deadline, HEADER_LINE_LIMIT):
                        return b"".join(parts), True
                raise HttpError(431, f"more than {HEADER_COUNT_LIMIT - 1} trailer lines")
            if size_read + size > self.body_limit:
                parts.append(self._read_exact(min(size, self.body_limit - size_read), deadline))
                return b"".join(parts)[: self.body_limit], False
            parts.append(self._read_exact(size, deadline))
            size_read += size
            if self._read_line(deadline, 2) != b"":
                raise HttpError(400, "chunked body: chunk not followed by CRLF")

    def _body(self, env: dict[str, Any]) -> tuple[bytes, bool]:
        """(the request body up to the limit, whether the connection may be reused)."""
        length = env.get("CONTENT_LENGTH")
        chunked = env.get("HTTP_TRANSFER_ENCODING")
        if length is not None:
            if not length.isdigit():
                raise HttpError(400, f"Content-Length {length!r} is not a byte count")
            if chunked is not None:
                raise HttpError(400, "Content-Length and Transfer-Encoding together")
        elif chunked is not None and chunked.lower() != "chunked":
            raise HttpError(400, f"Transfer-Encoding {chunked!r} is not supported")
        size = int(length) if length is not None else 0
        if size == 0 and chunked is None:
            return b"", True
        if env.get("HTTP_EXPECT", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        deadline = time.monotonic() + self.socket_timeout
        if chunked is not None:
            return self._read_chunked(deadline)
        body = self._read_exact(min(size, self.body_limit), deadline)
        return body, size <= self.body_limit

    def serve(self) -> None:
        try:
            while self._serve_one():
                # A client that sends its next request at once would find it already
                # there: green recv then never yields, and this connection would hold the
                # loop (other clients, the switches) for as long as it keeps asking.
                eventlet.sleep(0)
        except HttpError as err:
            try:
                self.sock.settimeout(self.socket_timeout)
                self.sock.sendall(_error_reply(err))
            except OSError:
                pass
        except (Closed, OSError):
            pass
        finally:
            self.sock.close()

    def _serve_one(self) -> bool:
        """Answer one request; whether the connection stays open for the next."""
        method, target, version, headers = parse_head(self._read_head(), complete=True)
        env = environ_of(method, target, version, headers, self.server)
        body, whole = self._body(env)
        env["wsgi.input"] = _Input(body)
        conn = env.get("HTTP_CONNECTION", "").lower()
        keep = whole and (conn == "keep-alive" if version == "HTTP/1.0" else conn != "close")
        out, keep = self._respond(env, method, keep, version == "HTTP/1.0")
        self.sock.settimeout(self.socket_timeout)
        self.sock.sendall(out)
        return keep

    def _respond(
        self, env: dict[str, Any], method: str, keep: bool, http10: bool
    ) -> tuple[bytes, bool]:
        """The app's answer as bytes, and whether the connection stays open."""
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return written.append

        try:
            result = self.app(env, start_response)
            try:
                data = b"".join([*written, *result])
            finally:
                if hasattr(result, "close"):
                    result.close()
            status, headers = started
        except Exception:  # the app's fault: logged, a 500 without detail, closed
            log.exception("REST request failed: %s %r", method, env.get("PATH_INFO"))
            status, headers, data, keep = "500 Internal Server Error", [], b"", False
        code = int(status[:3])
        bodyless = method == "HEAD" or code in BODYLESS or code < 200
        lines = [f"HTTP/1.1 {status}"]
        names = set()
        for name, value in headers:
            lines.append(f"{name}: {value}")
            names.add(name.lower())
        if "date" not in names:
            lines.append(f"Date: {_Date.now()}")
        if "content-length" not in names and not bodyless:
            lines.append(f"Content-Length: {len(data)}")
        if not keep:
            lines.append("Connection: close")
        elif http10:
            lines.append(f"Connection: keep-alive\r\nKeep-Alive: timeout={int(self.idle_timeout)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return (head if bodyless else head + data), keep


class _Input:
    """``wsgi.input``: the body read so far (bounded), as a file."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size is None or size < 0 else min(len(self.data), self.pos + size)
        out, self.pos = self.data[self.pos : end], end
        return out

    def readline(self, size: int = -1) -> bytes:
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        if size is not None and size >= 0:
            end = min(end, self.pos + size)
        out, self.pos = self.data[self.pos : end], end
        return out

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


def serve(
    listener: ClientLimit,
    app: Callable[..., Iterable[bytes]],
    *,
    max_connections: int,
    socket_timeout: float,
    idle_timeout: float,
    body_limit: int,
) -> None:
    """Accept for ever; each connection on a green thread of a pool of ``max_connections``
    (accepting waits while the pool is full)."""
    pool = eventlet.GreenPool(max_connections)

    def run(sock: Any, addr: Any) -> None:
        try:
            Connection(sock, addr, app, (socket_timeout, idle_timeout), body_limit).serve()
        except Exception:  # never let one connection end the server
            log.exception("REST connection from %s failed", addr[0])
        finally:
            listener.release(str(addr[0]))

    while True:
        try:
            sock, addr = listener.accept()
        except OSError as exc:  # out of descriptors and the like: back off, keep serving
            log.warning("REST accept failed: %s", exc)
            eventlet.sleep(0.1)
            continue
        pool.spawn_n(run, sock, addr)
