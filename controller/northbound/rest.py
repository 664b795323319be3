"""Ryu WSGI adapter for :mod:`controller.northbound.api` (served by ``--wsapi-host/--wsapi-port``).

One catch-all route hands every request under ``/v1`` to :func:`controller.northbound.api.handle`;
routing, validation and errors live there, in plain code.
"""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from ryu.app.wsgi import ControllerBase, Response, route
from ryu.lib import hub

from controller.northbound import api, httpserver
from controller.northbound.metrics import MetricsExporter
from controller.northbound.requests import ApiError, require_token
from controller.northbound.web import RawReply, StaticSite

APP_KEY = "sdn_api_context"
WEB_KEY = "sdn_web"
log = logging.getLogger("controller.northbound.rest")
READ_LIMIT = api.MAX_BODY_BYTES + 1

SOCKET_TIMEOUT_S = 10.0
"""A client that sends or reads nothing for this long is disconnected."""
KEEPALIVE_IDLE_S = 5.0
"""An open connection waits this long for its next request."""
PER_CLIENT = 32
"""Connections one client address may hold at once; more are closed at accept."""
MAX_CONNECTIONS = 1024


def _response(reply: api.Reply) -> Response:
    resp = Response(
        status=reply.status,
        content_type="application/json",
        charset="utf-8",
        body=json.dumps(reply.body, sort_keys=True, allow_nan=False).encode(),
    )
    for name, value in reply.headers.items():
        resp.headers[name] = value
    return resp


def _raw_response(reply: RawReply) -> Response:
    resp = Response(status=reply.status, body=reply.body)
    resp.headers["Content-Type"] = reply.content_type
    for name, value in reply.headers.items():
        resp.headers[name] = value
    return resp


class WebParts:
    """What the non-JSON routes serve: the web view's files and the metrics exporter."""

    def __init__(self, ctx: api.ApiContext) -> None:
        self.site = StaticSite()
        self.metrics = MetricsExporter(ctx.view, ctx.rest)


def timed(handler: Any) -> Any:
    """Count the request by method and status and time it (``sdn_rest_*`` metrics)."""

    def run(self: RestController, req: Any, **kwargs: Any) -> Response:
        start = time.perf_counter()
        resp = handler(self, req, **kwargs)
        self.ctx.rest.observe(req.method, resp.status_code, time.perf_counter() - start)
        return resp

    run.__name__ = handler.__name__
    return run


class RestController(ControllerBase):
    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.ctx: api.ApiContext = data[APP_KEY]
        self.web: WebParts = data[WEB_KEY]

    @route("sdn", "/", methods=None)
    @timed
    def web_root(self, req, **_):
        return self.web_files(req)

    @route("sdn", "/ui", methods=None)
    @timed
    def web_ui(self, req, **_):
        return self.web_files(req)

    @route("sdn", "/ui/{path}", methods=None, requirements={"path": r"[\s\S]*"})
    @timed
    def web_file(self, req, **_):
        return self.web_files(req)

    def web_files(self, req: Any) -> Response:
        path = req.environ.get("PATH_INFO", "")
        reply = self.web.site.handle(req.method, path, req.headers.get("If-None-Match", ""))
        if reply is None:
            return _response(api.Reply(404, {"error": f"no route {path}"}))
        return _raw_response(reply)

    @route("sdn", "/metrics", methods=None)
    @timed
    def metrics(self, req, **_):
        if req.method not in ("GET", "HEAD"):
            return _response(api.Reply(405, {"error": "GET /metrics"}, {"Allow": "GET, HEAD"}))
        if self.ctx.protect_reads:
            try:
                require_token(self.ctx.token, _request_from(req))
            except ApiError as exc:
                return _response(api.Reply(exc.status, {"error": exc.message}))
        body = self.web.metrics.render()
        return _raw_response(RawReply(200, self.web.metrics.content_type, body))

    @route("sdn", "/v1", methods=None)
    @timed
    def dispatch_root(self, req, **_):
        return self.dispatch_api(req)

    @route("sdn", "/v1/{path}", methods=None, requirements={"path": r"[\s\S]*"})
    @timed
    def dispatch(self, req, **_):
        return self.dispatch_api(req)

    def dispatch_api(self, req: Any) -> Response:
        environ = req.environ
        try:
            request = _request_from(req)
        except (UnicodeDecodeError, ValueError) as exc:
            return _response(api.Reply(400, {"error": f"undecodable request: {exc}"}))
        try:
            return _response(api.handle(self.ctx, request))
        except Exception as exc:  # never a traceback to the client
            log.exception(
                "REST request failed: %s %r",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
            )
            return _response(api.Reply(500, {"error": f"internal error: {type(exc).__name__}"}))


def _request_from(req: Any) -> api.Request:
    """The plain request; raises UnicodeDecodeError/ValueError on undecodable input."""
    environ = req.environ
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    body = req.body_file.read(READ_LIMIT) if (req.content_length or chunked) else b""
    path = environ.get("PATH_INFO", "")
    if isinstance(path, str):  # WSGI gives latin-1 decoded bytes: undo, decode as UTF-8
        path = path.encode("latin-1").decode("utf-8")
    query = {k: v for k, v in req.GET.items()}
    headers = {k.lower(): v for k, v in req.headers.items()}
    return api.Request(method=req.method, path=path, query=query, headers=headers, body=body)


def register_rest(wsgi: Any, ctx: api.ApiContext) -> None:
    wsgi.register(RestController, {APP_KEY: ctx, WEB_KEY: WebParts(ctx)})
    wsgi.sdn_api_context = ctx  # the WSGI server serves /v1 with it through FastApi


class FastApi:
    """The ``/v1`` routes without Ryu's routing and webob layers: the WSGI environ becomes
    an :class:`api.Request` as :func:`_request_from` makes it, :func:`api.handle` answers,
    the reply goes out as :func:`_response` writes it (a unit test holds the two paths
    equal). Everything else (the web view, ``/metrics``, HEAD) goes to ``app``. About half
    of a path query's time was those layers."""

    def __init__(self, app: Any, ctx: api.ApiContext) -> None:
        self.app, self.ctx = app, ctx

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if not (path == "/v1" or path.startswith("/v1/")) or method == "HEAD":
            return self.app(environ, start_response)
        start = time.perf_counter()
        try:
            reply = api.handle(self.ctx, _request_from_environ(environ))
        except (UnicodeDecodeError, ValueError) as exc:
            reply = api.Reply(400, {"error": f"undecodable request: {exc}"})
        except Exception as exc:  # never a traceback to the client
            log.exception("REST request failed: %s %r", method, path)
            reply = api.Reply(500, {"error": f"internal error: {type(exc).__name__}"})
        body = json.dumps(reply.body, sort_keys=True, allow_nan=False).encode()
        headers = [("Content-Type", "application/json"),
                   ("Content-Length", str(len(body))), *reply.headers.items()]  # fmt: skip
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers)
        self.ctx.rest.observe(method, reply.status, time.perf_counter() - start)
        return [body]


def _request_from_environ(environ: dict[str, Any]) -> api.Request:
    """:func:`_request_from` on the bare environ."""
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    length = environ.get("CONTENT_LENGTH") or ""
    size = int(length) if length.isdigit() else 0
    if chunked or size > 0:  # never read past the body: a server's input may not stop there
        body = environ["wsgi.input"].read(READ_LIMIT if chunked else min(size, READ_LIMIT))
    else:
        body = b""
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
               if k.startswith("HTTP_")}  # fmt: skip
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return api.Request(method=environ.get("REQUEST_METHOD", ""), path=path, query=query,
                       headers=headers, body=body)  # fmt: skip


def harden_wsgi_server() -> None:
    """Ryu's WSGI server replaced by :func:`httpserver.serve` (eventlet's HTTP server was
    more than half of a path query's time), with bounded connections: a socket timeout,
    an idle timeout between requests, a per-client connection limit, eventlet's header
    limits (eventlet's defaults waited forever, so about 1,000 idle connections stopped
    the REST server)."""

    def serve_forever(self: Any) -> None:
        listener = httpserver.ClientLimit(self.server, PER_CLIENT)
        ctx = getattr(self.handle, "sdn_api_context", None)
        app = FastApi(self.handle, ctx) if ctx is not None else self.handle
        httpserver.serve(
            listener,
            app,
            max_connections=MAX_CONNECTIONS,
            socket_timeout=SOCKET_TIMEOUT_S,
            idle_timeout=KEEPALIVE_IDLE_S,
            body_limit=READ_LIMIT,
        )  # no access-log line per request: /metrics counts them

    hub.WSGIServer.serve_forever = serve_forever
