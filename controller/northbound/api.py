"""The operator REST API as plain logic: ``handle(ctx, request) -> Reply``.

Routes and handlers live here, with no web framework: requests are read and validated
by :mod:`controller.northbound.requests`, the controller is read through
:class:`~controller.northbound.view.ControllerView`, and ``northbound.rest`` only adapts
Ryu's WSGI requests. Every error is JSON ``{"error": ...}`` with a 4xx status; a bad
request never changes state. dpids are 16-hex-digit strings, as in Ryu's own REST apps.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.config import METRIC_CHOICES
from controller.ha.election import StoreUnavailable
from controller.ha.member import HaMember
from controller.northbound import openapi
from controller.northbound.render import flow_json, link_json, path_json, route_json
from controller.northbound.requests import (
    MAX_BODY_BYTES,
    ApiError,
    Reply,
    Request,
    check_metric,
    dpid_str,
    host_json,
    json_body,
    no_query_but,
    object_with,
    parse_dpid,
    require_token,
    resolve_endpoint,
)
from controller.northbound.view import ControllerView
from controller.routing.paths import NoPath
from controller.telemetry import RestTimings

API_VERSION = "1.0.0"
MAX_K = 16
MAX_COST = 1e9
__all__ = ["MAX_BODY_BYTES", "ROUTES", "ApiContext", "Reply", "Request", "handle"]


@dataclass
class ApiContext:
    """What the handlers may use: a read-only view of the controller, the write token,
    the clock."""

    view: ControllerView
    token: str = ""
    clock: Callable[[], float] = time.monotonic
    protect_reads: bool = False
    """Reads need the token too (``rest_token_reads``)."""
    rest: RestTimings = field(default_factory=RestTimings)
    """Requests by method and status, and their latency (filled by the WSGI adapter)."""
    ha: HaMember | None = None
    """This instance's part in a controller group (None: it runs alone)."""
    forward: Callable[[str, Request], Reply] | None = None
    """Sends a write to the leader's REST URL and returns its answer (a standby's)."""


# ------------------------------------------------------------------------- handlers
Handler = Callable[[ApiContext, Request, dict[str, str]], Reply]


def get_health(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    view = ctx.view
    counts = view.counts()
    return Reply(
        200,
        {
            "status": "ok",
            "switches": counts["switches"],
            "links": counts["links"],
            "hosts": counts["hosts"],
            "metric": view.metric(),
            "active_metric": view.active_metric(),
            "routes": counts["routes"],
            "counters": view.counters(),
            "path_cache": view.cache_stats(),
            "ha": ctx.ha.status() if ctx.ha is not None else None,
        },
    )


def get_links(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, [link_json(link) for link in ctx.view.links()])


def get_hosts(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, [host_json(h) for h in ctx.view.hosts()])


def get_topology(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    view = ctx.view
    switches = [
        {
            "dpid": dpid_str(d),
            "ports": [
                {
                    "port_no": p.port_no,
                    "name": p.name,
                    "hw_addr": p.hw_addr,
                    "up": p.up,
                    "speed_bps": p.speed_bps,
                }
                for p in view.ports(d)
            ],
            "miss_meters": view.miss_meters(d),
        }
        for d in view.switches()
    ]
    return Reply(
        200,
        {
            "switches": switches,
            "links": get_links(ctx, req, args).body,
            "hosts": get_hosts(ctx, req, args).body,
        },
    )


def get_routes(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    now = ctx.clock()
    return Reply(200, [route_json(r, now) for r in ctx.view.pairs()])


def get_paths(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    view = ctx.view
    no_query_but(req, "metric", "k")
    metric = check_metric(req.query.get("metric", view.active_metric()))
    k_text = req.query.get("k", "1")
    if not re.fullmatch(r"[0-9]{1,2}", k_text) or not 1 <= int(k_text) <= MAX_K:
        raise ApiError(400, f"k must be an integer from 1 to {MAX_K}, got {k_text!r}")
    src = resolve_endpoint(view, args["src"], "src")
    dst = resolve_endpoint(view, args["dst"], "dst")
    try:
        paths = view.paths(
            src.dpid,
            dst.dpid,
            metric,
            int(k_text),
            src.host.port if src.host is not None else None,
            dst.host.port if dst.host is not None else None,
        )
    except NoPath as exc:
        raise ApiError(404, f"no path from {args['src']} to {args['dst']}: {exc}") from None
    return Reply(
        200,
        {
            "src": src.json(),
            "dst": dst.json(),
            "metric": metric,
            "paths": [path_json(p) for p in paths],
        },
    )


def get_flows(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    view = ctx.view
    no_query_but(req, "dpid")
    only = parse_dpid(req.query["dpid"]) if "dpid" in req.query else None
    if only is not None and not view.has_switch(only):
        raise ApiError(404, f"no switch with dpid {dpid_str(only)}")
    flows = [flow_json(f) for f in view.flows(only)]
    return Reply(200, flows)


def _metric_json(view: ControllerView) -> dict[str, Any]:
    return {
        "metric": view.metric(),
        "active": view.active_metric(),
        "available": list(METRIC_CHOICES),
    }


def get_metric(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, _metric_json(ctx.view))


def put_metric(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    require_token(ctx.token, req)
    metric = check_metric(object_with(json_body(req), "metric"), METRIC_CHOICES)
    if ctx.ha is not None:
        _stored(lambda ha: ha.publish_metric(metric), ctx.ha)
    ctx.view.set_metric(metric)
    return Reply(200, _metric_json(ctx.view))


def _link_args(ctx: ApiContext, args: dict[str, str]) -> tuple[int, int]:
    src = parse_dpid(args["src_dpid"], "src_dpid")
    dst = parse_dpid(args["dst_dpid"], "dst_dpid")
    if ctx.view.link(src, dst) is None:
        raise ApiError(404, f"no link from {dpid_str(src)} to {dpid_str(dst)}")
    return src, dst


def _link_reply(ctx: ApiContext, src: int, dst: int) -> Reply:
    link = ctx.view.link(src, dst)
    assert link is not None
    return Reply(200, link_json(link))


def put_link_cost(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    require_token(ctx.token, req)
    src, dst = _link_args(ctx, args)
    cost = object_with(json_body(req), "cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        raise ApiError(400, f"cost must be a number, got {type(cost).__name__}")
    if isinstance(cost, int) and abs(cost) > MAX_COST:
        raise ApiError(400, f"cost must be > 0 and <= {MAX_COST:g}")
    if not math.isfinite(cost) or not 0 < cost <= MAX_COST:
        raise ApiError(400, f"cost must be > 0 and <= {MAX_COST:g}")
    if ctx.ha is not None:
        _stored(lambda ha: ha.publish_override(src, dst, float(cost)), ctx.ha)
    try:
        ctx.view.set_cost_override(src, dst, float(cost))
    except ValueError as exc:  # the override table is full
        raise ApiError(409, str(exc)) from None
    return _link_reply(ctx, src, dst)


def delete_link_cost(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    require_token(ctx.token, req)
    src, dst = _link_args(ctx, args)
    if ctx.ha is not None:
        _stored(lambda ha: ha.publish_override(src, dst, None), ctx.ha)
    ctx.view.set_cost_override(src, dst, None)
    return _link_reply(ctx, src, dst)


def _stored(write: Callable[[HaMember], None], ha: HaMember) -> None:
    """Write operator state to the group's store first: if it cannot be stored, nothing
    changes here either (503), so no instance ever misses it."""
    try:
        write(ha)
    except StoreUnavailable as exc:
        raise ApiError(503, f"not changed: the group's store is unavailable ({exc})") from None


def _forwarded(ctx: ApiContext, req: Request) -> Reply:
    """A standby's answer to a write: the leader's answer to the same request."""
    assert ctx.ha is not None
    url = ctx.ha.leader_url()
    if url is None or ctx.forward is None:
        leader = ctx.ha.election.state.leader
        raise ApiError(503, f"this instance is a standby and the leader ({leader}) is not "
                            "reachable now; retry shortly")  # fmt: skip
    return ctx.forward(url, req)


def _read_at_leader(ctx: ApiContext, req: Request) -> Reply | None:
    """A standby's answer to a read: the leader's (the network as the group sees it), or
    None when the leader does not answer (then the standby's own view is served)."""
    assert ctx.ha is not None
    url = ctx.ha.leader_url()
    if url is None or ctx.forward is None:
        return None
    reply = ctx.forward(url, req)
    return reply if FORWARDED_HEADER in reply.headers else None


def get_model(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    status = ctx.view.model_status(ctx.clock())
    age = status.get("last_prediction_age_s")
    status["last_prediction_time"] = (
        None
        if not isinstance(age, int | float)
        else datetime.fromtimestamp(time.time() - age, tz=UTC).isoformat(timespec="seconds")
    )
    return Reply(200, status)


def get_openapi(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, openapi_document())


# ------------------------------------------------------------------------- routing
@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    summary: str
    query: tuple[str, ...] = ()
    body: str | None = None  # JSON field of the request body, if any
    write: bool = False

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:  # built once: every request tries every route
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        return re.compile(pattern)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/health", get_health, "Status and counts of switches, links, hosts"),
    Route("GET", "/v1/topology", get_topology, "Switches with ports, links, hosts"),
    Route("GET", "/v1/hosts", get_hosts, "Known hosts"),
    Route("GET", "/v1/links", get_links, "Directed switch-to-switch links"),
    Route("GET", "/v1/routes", get_routes, "Installed host-pair routes"),
    Route(
        "GET",
        "/v1/paths/{src}/{dst}",
        get_paths,
        "Up to k paths ordered by total cost",
        query=("metric", "k"),
    ),
    Route("GET", "/v1/flows", get_flows, "Flows this app installed", query=("dpid",)),
    Route("GET", "/v1/metric", get_metric, "The active routing metric"),
    Route(
        "PUT",
        "/v1/metric",
        put_metric,
        "Change the routing metric (new flows use it)",
        body="metric",
        write=True,
    ),
    Route(
        "PUT",
        "/v1/links/{src_dpid}/{dst_dpid}/cost",
        put_link_cost,
        "Override a link's cost (takes precedence over predictions)",
        body="cost",
        write=True,
    ),
    Route(
        "DELETE",
        "/v1/links/{src_dpid}/{dst_dpid}/cost",
        delete_link_cost,
        "Remove a link's cost override",
        write=True,
    ),
    Route("GET", "/v1/model", get_model, "Link-cost model status and predictions"),
    Route("GET", "/v1/openapi.json", get_openapi, "This API as an OpenAPI 3 document"),
)


LOCAL_READS = (get_health, get_openapi)
"""Reads a standby answers itself: its own health (role, leader) and the API document."""
FORWARDED_HEADER = "X-SDN-Forwarded-To"


def handle(ctx: ApiContext, req: Request) -> Reply:
    """Dispatch one request; every failure becomes a JSON error with a 4xx status."""
    path = req.path.rstrip("/") or "/"
    allowed = []
    for route in ROUTES:
        m = route.regex.fullmatch(path)
        if m is None:
            continue
        if route.method != req.method.upper():
            allowed.append(route.method)
            continue
        try:
            if ctx.protect_reads and route.method == "GET":
                require_token(ctx.token, req)
            if ctx.ha is not None and not ctx.ha.is_leader:
                if route.write:
                    require_token(ctx.token, req)
                    return _forwarded(ctx, req)
                if route.handler not in LOCAL_READS:
                    reply = _read_at_leader(ctx, req)
                    if reply is not None:
                        return reply
            return route.handler(ctx, req, m.groupdict())
        except ApiError as exc:
            return Reply(exc.status, {"error": exc.message})
    if allowed:
        methods = ", ".join(sorted(set(allowed)))
        return Reply(
            405,
            {"error": f"method {req.method} not allowed on {path}; allowed: {methods}"},
            {"Allow": methods},
        )
    return Reply(404, {"error": f"no route {path}; see /v1/openapi.json"})


def openapi_document() -> dict[str, Any]:
    """This API as an OpenAPI 3.0 document."""
    return openapi.openapi_document(ROUTES, API_VERSION, MAX_K, MAX_COST)
