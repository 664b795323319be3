"""Reading REST requests safely: the plain request and reply, errors, bounded bodies,
dpids, metrics, endpoints (a host IPv4, a host MAC or a dpid)."""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.config import METRICS
from controller.hosts.table import Host
from controller.northbound.view import ControllerView

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects a request body may have (deeper: 400, not a 500 from
the JSON parser's recursion)."""
DPID_RE = re.compile(r"^[0-9a-fA-F]{1,16}$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    body: bytes = b""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def dpid_str(dpid: int) -> str:
    return f"{dpid:016x}"


def parse_dpid(text: str, what: str = "dpid") -> int:
    if not DPID_RE.match(text):
        raise ApiError(400, f"{what} {text!r} is not a dpid (1 to 16 hex digits)")
    return int(text, 16)


def host_json(h: Host) -> dict[str, Any]:
    return {"mac": h.mac, "ipv4": h.ipv4, "dpid": dpid_str(h.dpid), "port": h.port}


def json_body(req: Request) -> Any:
    if len(req.body) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    ctype = req.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype not in ("application/json", ""):
        raise ApiError(415, f"content type {ctype!r} is not application/json")
    try:
        text = req.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not valid JSON") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ApiError(400, f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings (one pass; for a size-bounded body)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def object_with(body: Any, key: str) -> Any:
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object with {key!r}")
    extra = sorted(set(body) - {key})
    if extra:
        raise ApiError(400, f"unknown field(s) {', '.join(map(repr, extra))}; expected {key!r}")
    if key not in body:
        raise ApiError(400, f"missing field {key!r}")
    return body[key]


def check_metric(value: Any, choices: tuple[str, ...] = METRICS) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ApiError(400, f"unknown metric {value!r}; valid: {', '.join(choices)}")
    return value


def require_token(token: str, req: Request) -> None:
    """Writes need the configured bearer token (compared in constant time)."""
    if not token:
        return
    auth = req.headers.get("authorization", "")
    scheme, _, given = auth.partition(" ")
    expected = token.encode("utf-8")
    offered = given.strip().encode("utf-8", errors="replace")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered, expected):
        raise ApiError(401, "this route needs 'Authorization: Bearer <token>'")


def no_query_but(req: Request, *allowed: str) -> None:
    unknown = sorted(set(req.query) - set(allowed))
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)}")


@dataclass(frozen=True)
class Endpoint:
    """A path endpoint: a host (with its attachment) or a switch."""

    dpid: int
    host: Host | None

    def json(self) -> dict[str, Any]:
        if self.host is not None:
            return {"type": "host", **host_json(self.host)}
        return {"type": "switch", "dpid": dpid_str(self.dpid)}


def resolve_endpoint(view: ControllerView, text: str, what: str) -> Endpoint:
    """A host IPv4, a host MAC or a dpid -> :class:`Endpoint` (404 if unknown)."""
    if MAC_RE.match(text):
        host = view.host_by_mac(text)
        if host is None:
            raise ApiError(404, f"{what}: no host with MAC {text}")
        return Endpoint(host.dpid, host)
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        pass
    else:
        host = view.host_by_ip(text)
        if host is None:
            raise ApiError(404, f"{what}: no host with IPv4 {text}")
        return Endpoint(host.dpid, host)
    if DPID_RE.match(text):
        dpid = int(text, 16)
        if not view.has_switch(dpid):
            raise ApiError(404, f"{what}: no switch with dpid {dpid_str(dpid)}")
        return Endpoint(dpid, None)
    raise ApiError(400, f"{what} {text!r} is not a host IPv4, a host MAC or a dpid")
