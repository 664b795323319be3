"""Ryu WSGI adapter for :mod:`controller.api` (served by ``--wsapi-host/--wsapi-port``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ryu.app.wsgi import ControllerBase, Response, route

from controller import api

APP_KEY = "sdn_app"


def _json(status: int, body: Any) -> Response:
    return Response(
        status=status,
        content_type="application/json",
        charset="utf-8",
        body=json.dumps(body, sort_keys=True).encode(),
    )


class RestController(ControllerBase):
    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.app = data[APP_KEY]

    def _call(self, fn: Callable[..., api.Reply], *args: Any) -> Response:
        try:
            status, body = fn(self.app.core, *args)
        except Exception as exc:
            self.app.logger.exception("REST handler failed")
            return _json(500, {"error": f"internal error: {type(exc).__name__}"})
        return _json(status, body)

    @route("sdn", "/v1/health", methods=["GET"])
    def get_health(self, req, **_):
        return self._call(api.health)

    @route("sdn", "/v1/topology", methods=["GET"])
    def get_topology(self, req, **_):
        return self._call(api.topology)

    @route("sdn", "/v1/links", methods=["GET"])
    def get_links(self, req, **_):
        return self._call(api.links)

    @route("sdn", "/v1/hosts", methods=["GET"])
    def get_hosts(self, req, **_):
        return self._call(api.hosts)

    @route("sdn", "/v1/routes", methods=["GET"])
    def get_routes(self, req, **_):
        return self._call(api.routes)


def register_rest(wsgi: Any, app: Any) -> None:
    wsgi.register(RestController, {APP_KEY: app})
