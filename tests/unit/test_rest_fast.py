"""The REST fast path (``FastApi``: environ -> api.handle, no Ryu routing or webob) answers
every request exactly as the Ryu WSGI path does: status, JSON body, headers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from controller.northbound import api
from tests.unit.test_rest_schema import make_app, wsgi_call

TIME_KEYS = ("age", "uptime", "since", "_at", "_s")


def apps(token: str) -> tuple[Any, Any]:
    """Two identical networks: one served through Ryu's stack, one through FastApi."""
    return make_app(token, fast=False)[0], make_app(token)[0]


def timeless(value: Any) -> Any:
    """The body without clock-dependent figures (the two networks run a moment apart)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if not k.endswith(TIME_KEYS)}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


REQUESTS = [
    ("GET", "/v1/health", b"", {}),
    ("GET", "/v1/topology", b"", {}),
    ("GET", "/v1/hosts", b"", {}),
    ("GET", "/v1/links", b"", {}),
    ("GET", "/v1/routes", b"", {}),
    ("GET", "/v1/flows?dpid=0000000000000001", b"", {}),
    ("GET", "/v1/paths/10.0.0.1/10.0.0.4?k=2&metric=hop", b"", {}),
    ("GET", "/v1/paths/10.0.0.1/10.0.0.4?metric=nope", b"", {}),
    ("GET", "/v1/paths/10.0.0.1/10.0.0.4?k=1&k=3", b"", {}),
    ("GET", "/v1/paths/%31%30.0.0.1/10.0.0.4", b"", {}),
    ("GET", "/v1/metric", b"", {}),
    ("GET", "/v1/model", b"", {}),
    ("GET", "/v1/openapi.json", b"", {}),
    ("GET", "/v1", b"", {}),
    ("GET", "/v1/does-not-exist", b"", {}),
    ("PATCH", "/v1/metric", b"", {}),
    ("PUT", "/v1/metric", b'{"metric": "cost"}', {}),
    ("PUT", "/v1/metric", b'{"metric": "cost"}', {"X-SDN-Token": "wrong"}),
    ("PUT", "/v1/metric", b'{"metric": "latency"}', {"Authorization": "Bearer t"}),
    ("PUT", "/v1/metric", b"{not json", {"Authorization": "Bearer t"}),
    ("PUT", "/v1/metric", b'{"metric": "cost"}', {"X-SDN-Token": "t"}),
    ("GET", "/v1/metric", b"", {}),
    ("PUT", "/v1/metric", b"[" * 100 + b"]" * 100, {"X-SDN-Token": "t"}),
    ("PUT", "/v1/metric", b"x" * (api.MAX_BODY_BYTES * 2), {"X-SDN-Token": "t"}),
]


@pytest.mark.parametrize("token", ["", "t"])
def test_the_fast_path_answers_as_ryus_stack(token: str) -> None:
    ryu, fast = apps(token)
    for method, path, body, headers in REQUESTS:
        s1, h1, b1 = wsgi_call(ryu, method, path, body, headers)
        s2, h2, b2 = wsgi_call(fast, method, path, body, headers)
        what = f"{method} {path}"
        assert s1 == s2, what
        assert timeless(json.loads(b1)) == timeless(json.loads(b2)), what
        assert h1["Content-Type"] == h2["Content-Type"], what
        extra = {k.lower() for k in h1} - {"content-type", "content-length"}
        assert {k: h1[k] for k in h1 if k.lower() in extra} == {
            k: h2[k] for k in h2 if k.lower() in extra
        }, what
        assert int(h2["Content-Length"]) == len(b2)


def test_other_routes_and_head_go_to_ryus_stack() -> None:
    ryu, fast = apps("")
    for method, path in (("GET", "/ui/"), ("GET", "/metrics"), ("HEAD", "/v1/health")):
        assert wsgi_call(ryu, method, path)[0] == wsgi_call(fast, method, path)[0]
