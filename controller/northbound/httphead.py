"""Reading an HTTP/1.1 request head within eventlet.wsgi's limits, and the WSGI environ
eventlet's server built from it (plain functions, for :mod:`httpserver`)."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote

REQUEST_LINE_LIMIT = 8192
"""Bytes of the request line, CRLF included: 414 at it (eventlet.wsgi.MAX_REQUEST_LINE)."""
HEADER_LINE_LIMIT = 8192
"""Bytes of one header line, CRLF included: 400 at it (eventlet.wsgi.MAX_HEADER_LINE)."""
HEADER_BLOCK_LIMIT = 65536
"""Bytes of all header lines: 400 beyond it (eventlet.wsgi.MAX_TOTAL_HEADER_SIZE)."""
HEADER_COUNT_LIMIT = 100
"""Header lines, the blank one that ends them too: 431 beyond (http.client._MAXHEADERS)."""
HEAD_LIMIT = REQUEST_LINE_LIMIT + HEADER_BLOCK_LIMIT
"""An unfinished head longer than this has broken one of the limits above."""


class HttpError(Exception):
    """A request this server refuses before the app sees it (answered, then closed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def parse_head(head: bytes, complete: bool) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(method, target, version, headers) of a head as received (lines split at LF, so a
    line's size counts its CR as eventlet's did; the blank line last when ``complete``,
    without its LF); raises :class:`HttpError` where a limit is broken. On an
    unfinished head (``complete`` false) only the limits are checked, in the order
    eventlet's server checks them, so the answer is the same however the bytes arrive."""
    lines = head.split(b"\n")
    first = lines[0]
    if len(first) + 1 >= REQUEST_LINE_LIMIT:
        raise HttpError(414, f"request line of {REQUEST_LINE_LIMIT} bytes or more")
    total = count = 0
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        size = len(line) + 1
        if size >= HEADER_LINE_LIMIT:
            raise HttpError(400, f"header line of {HEADER_LINE_LIMIT} bytes or more")
        total += size
        if total > HEADER_BLOCK_LIMIT:
            raise HttpError(400, f"header lines over {HEADER_BLOCK_LIMIT} bytes in all")
        count += 1
        if count > HEADER_COUNT_LIMIT:
            raise HttpError(431, f"more than {HEADER_COUNT_LIMIT - 1} header lines")
        if complete and line not in (b"", b"\r"):
            name, sep, value = line.partition(b":")
            if not sep or not name or name[-1:] in b" \t" or line[:1] in b" \t":
                raise HttpError(400, "malformed header line")
            headers.append((name.decode("latin-1"), value.strip(b" \t\r").decode("latin-1")))
    if not complete:
        return "", "", "", []
    words = first.rstrip(b"\r").decode("latin-1").split()
    if len(words) != 3 or not words[2].startswith("HTTP/1."):
        raise HttpError(400, "request line is not 'METHOD target HTTP/1.x'")
    return words[0], words[1], words[2], headers


def environ_of(
    method: str, target: str, version: str, headers: list[tuple[str, str]], server: Any
) -> dict[str, Any]:
    """The WSGI environ eventlet's server built for the same request: the path unquoted
    as latin-1, a missing Content-Type as ``text/plain``, headers whose name has an
    underscore dropped (they would alias dashed names), repeated headers joined."""
    path, _, query = target.partition("?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "RAW_PATH_INFO": path,
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": version,
        "CONTENT_TYPE": "text/plain",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **server,
    }
    typed = False
    for name, value in headers:
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":  # the first one, as eventlet's server took it
            env[key], typed = (env[key] if typed else value), True
            continue
        if key != "CONTENT_LENGTH":  # repeated Content-Length joined: not a count, a 400
            key = "HTTP_" + key
        env[key] = f"{env[key]},{value}" if key in env else value
    return env
