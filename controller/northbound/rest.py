"""Ryu WSGI adapter for :mod:`controller.northbound.api` (served by ``--wsapi-host/--wsapi-port``).

One catch-all route hands every request under ``/v1`` to :func:`controller.northbound.api.handle`;
routing, validation and errors live there, in plain code.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ryu.app.wsgi import ControllerBase, Response, route

from controller.northbound import api

APP_KEY = "sdn_api_context"
log = logging.getLogger("controller.northbound.rest")
READ_LIMIT = api.MAX_BODY_BYTES + 1


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


class RestController(ControllerBase):
    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.ctx: api.ApiContext = data[APP_KEY]

    @route("sdn", "/v1", methods=None)
    def dispatch_root(self, req, **_):
        return self.dispatch(req)

    @route("sdn", "/v1/{path}", methods=None, requirements={"path": r"[\s\S]*"})
    def dispatch(self, req, **_):
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
    wsgi.register(RestController, {APP_KEY: ctx})
