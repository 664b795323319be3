"""The WSGI adapter in-process, and a property-based run against our OpenAPI document.

Schemathesis generates requests from /v1/openapi.json (valid and invalid ones) and
sends them through Ryu's own WSGIApplication with our controller registered; every
response must be a non-5xx JSON document that conforms to the schema. Bounded in
examples per operation (SDN_SCHEMA_EXAMPLES, default 25) and without deadlines.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from ryu.app.wsgi import WSGIApplication

from controller.northbound import api
from controller.northbound.rest import FastApi, register_rest
from controller.northbound.view import ControllerView
from tests.fakes import FakeNetwork
from topologies import spec

EXAMPLES = int(os.environ.get("SDN_SCHEMA_EXAMPLES", "25"))


def make_app(token: str = "", fast: bool = True) -> tuple[Any, FakeNetwork]:
    net = FakeNetwork(spec.ring(6).to_networkx())
    net.discover()
    net.announce_all()
    net.deliver("h1", "h4")
    wsgi = WSGIApplication()
    ctx = api.ApiContext(ControllerView(net.core), token=token)
    register_rest(wsgi, ctx)
    # as served: /v1 on the fast path, the rest Ryu's (``fast=False``: all Ryu's)
    return (FastApi(wsgi, ctx) if fast else wsgi), net


def wsgi_call(
    app: Any, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.errors": io.StringIO(),
    }
    for k, v in (headers or {}).items():
        environ["HTTP_" + k.upper().replace("-", "_")] = v
    status: list[str] = []
    hdrs: list[tuple[str, str]] = []

    def start_response(s: str, h: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(s)
        hdrs.extend(h)

    out = b"".join(app(environ, start_response))
    return int(status[0].split()[0]), dict(hdrs), out


def test_adapter_serves_json_and_errors_as_json() -> None:
    app, _ = make_app(token="t")
    status, headers, body = wsgi_call(app, "GET", "/v1/health")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["switches"] == 6
    status, _, body = wsgi_call(app, "GET", "/v1/paths/10.0.0.1/10.0.0.4?k=2&metric=hop")
    assert status == 200 and len(json.loads(body)["paths"]) == 2
    for method, path, data, want in [
        ("GET", "/v1/does-not-exist", b"", 404),
        ("PATCH", "/v1/metric", b"", 405),
        ("PUT", "/v1/metric", b'{"metric": "cost"}', 401),
        ("PUT", "/v1/metric", b"x" * (api.MAX_BODY_BYTES * 4), 401),
    ]:
        status, headers, body = wsgi_call(app, method, path, data)
        assert status == want, (method, path, body)
        assert "error" in json.loads(body)
    status, _, body = wsgi_call(
        app, "PUT", "/v1/metric", b"x" * (api.MAX_BODY_BYTES * 4), {"Authorization": "Bearer t"}
    )
    assert status == 413 and "error" in json.loads(body)


def test_a_crashing_handler_gives_json_500_not_a_traceback(monkeypatch) -> None:
    app, _ = make_app()

    def boom(*_: Any) -> api.Reply:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api, "handle", boom)
    status, _, body = wsgi_call(app, "GET", "/v1/health")
    assert status == 500
    assert json.loads(body) == {"error": "internal error: RuntimeError"}


APP, _NET = make_app()
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_openapi_property_based(case) -> None:
    case.call_and_validate()


def test_the_property_run_covers_every_route() -> None:
    assert api.openapi_document()["openapi"] == "3.0.3"
    tested = {(o.ok().method.upper(), o.ok().path) for o in schema.get_all_operations()}
    # Schemathesis leaves out the document it was loaded from.
    expected = {(r.method, r.template) for r in api.ROUTES} - {("GET", "/v1/openapi.json")}
    assert tested == expected


def test_review_findings_undecodable_and_odd_input_gets_json_4xx() -> None:
    app, _ = make_app(token="s3cret")
    cases = [
        ("GET", "/v1/paths/1/2?k=%C2%B2", b"", {}, 400),  # a unicode digit is not a k
        ("GET", "/v1/flows?dpid=%ff", b"", {}, 400),  # not UTF-8
        ("GET", "/v1/paths/%ff/1", b"", {}, 400),
        ("GET", "/v1", b"", {}, 404),
        ("GET", "/v1/health%0A", b"", {}, 404),  # no newline tricks past the route table
        (
            "PUT",
            "/v1/links/1/2/cost",
            b'{"cost": 1' + b"0" * 400 + b"}",
            {"Authorization": "Bearer s3cret"},
            400,
        ),
        ("PUT", "/v1/metric", b'{"metric": "hop"}', {"Authorization": "Bearer \xe9"}, 401),
    ]
    for method, path, body, headers, want in cases:
        path_only, _, query = path.partition("?")
        from urllib.parse import unquote_to_bytes

        raw_path = unquote_to_bytes(path_only).decode("latin-1")
        status, hdrs, out = wsgi_call(
            app, method, raw_path + ("?" + query if query else ""), body, headers
        )
        assert status == want, (path, status, out)
        assert hdrs["Content-Type"].startswith("application/json")
        assert "error" in json.loads(out)
