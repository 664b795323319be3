"""The operator REST API as plain logic: ``handle(ctx, request) -> Reply``.

Routing, validation, errors and the OpenAPI document all live here, with no web
framework; ``controller.northbound.rest`` only adapts Ryu's WSGI requests to :class:`Request`.
Every error is JSON ``{"error": ...}`` with a 4xx status; a bad request never changes
state. dpids are 16-hex-digit strings, as in Ryu's own REST apps.
"""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.config import METRIC_CHOICES, METRICS
from controller.core import ControllerCore
from controller.hosts.table import Host
from controller.linkcost.features import FEATURE_NAMES
from controller.routing.paths import NoPath, Path
from controller.southbound.messages import COOKIE_BASE

API_VERSION = "1.0.0"
MAX_BODY_BYTES = 64 * 1024
MAX_K = 16
MAX_COST = 1e9
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


@dataclass
class ApiContext:
    """What the handlers may use: the core, the write token, the clock."""

    core: ControllerCore
    token: str = ""
    clock: Callable[[], float] = time.monotonic


# ------------------------------------------------------------------------- helpers
def dpid_str(dpid: int) -> str:
    return f"{dpid:016x}"


def parse_dpid(text: str, what: str = "dpid") -> int:
    if not DPID_RE.match(text):
        raise ApiError(400, f"{what} {text!r} is not a dpid (1 to 16 hex digits)")
    return int(text, 16)


def _host_json(h: Host) -> dict[str, Any]:
    return {"mac": h.mac, "ipv4": h.ipv4, "dpid": dpid_str(h.dpid), "port": h.port}


def _link_json(core: ControllerCore, src: int, dst: int) -> dict[str, Any]:
    st = core.topo.edge(src, dst)
    assert st is not None
    return {
        "src": {"dpid": dpid_str(src), "port": st.src_port},
        "dst": {"dpid": dpid_str(dst), "port": st.dst_port},
        "capacity_bps": st.capacity_bps,
        "tx_bps": st.tx_bps,
        "utilization": st.utilization,
        "latency_ms": st.latency_ms,
        "predicted_cost": st.predicted_cost,
        "cost_override": st.cost_override,
        "weights": {m: float(core.topo.graph.edges[src, dst][m]) for m in METRICS},
        "predicted_latency_ms": st.predicted_latency_ms,
        "features_at": st.features_at,
        "features": (
            dict(zip(FEATURE_NAMES, st.features, strict=True)) if st.features is not None else None
        ),
    }


def _json_body(req: Request) -> Any:
    if len(req.body) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    ctype = req.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype not in ("application/json", ""):
        raise ApiError(415, f"content type {ctype!r} is not application/json")
    try:
        return json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "request body is not valid JSON") from None


def _object_with(body: Any, key: str) -> Any:
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object with {key!r}")
    extra = sorted(set(body) - {key})
    if extra:
        raise ApiError(400, f"unknown field(s) {', '.join(map(repr, extra))}; expected {key!r}")
    if key not in body:
        raise ApiError(400, f"missing field {key!r}")
    return body[key]


def _check_metric(value: Any, choices: tuple[str, ...] = METRICS) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ApiError(400, f"unknown metric {value!r}; valid: {', '.join(choices)}")
    return value


def _require_token(ctx: ApiContext, req: Request) -> None:
    if not ctx.token:
        return
    auth = req.headers.get("authorization", "")
    scheme, _, given = auth.partition(" ")
    expected = ctx.token.encode("utf-8")
    offered = given.strip().encode("utf-8", errors="replace")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered, expected):
        raise ApiError(401, "this route needs 'Authorization: Bearer <token>'")


# ------------------------------------------------------------------------- endpoints
@dataclass(frozen=True)
class Endpoint:
    """A path endpoint: a host (with its attachment) or a switch."""

    dpid: int
    host: Host | None

    def json(self) -> dict[str, Any]:
        if self.host is not None:
            return {"type": "host", **_host_json(self.host)}
        return {"type": "switch", "dpid": dpid_str(self.dpid)}


def resolve_endpoint(core: ControllerCore, text: str, what: str) -> Endpoint:
    """A host IPv4, a host MAC or a dpid -> :class:`Endpoint` (404 if unknown)."""
    if MAC_RE.match(text):
        host = core.hosts.by_mac(text)
        if host is None:
            raise ApiError(404, f"{what}: no host with MAC {text}")
        return Endpoint(host.dpid, host)
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        pass
    else:
        host = core.hosts.by_ip(text)
        if host is None:
            raise ApiError(404, f"{what}: no host with IPv4 {text}")
        return Endpoint(host.dpid, host)
    if DPID_RE.match(text):
        dpid = int(text, 16)
        if not core.topo.has_switch(dpid):
            raise ApiError(404, f"{what}: no switch with dpid {dpid_str(dpid)}")
        return Endpoint(dpid, None)
    raise ApiError(400, f"{what} {text!r} is not a host IPv4, a host MAC or a dpid")


def _path_json(core: ControllerCore, path: Path, src: Endpoint, dst: Endpoint) -> dict[str, Any]:
    hops = []
    d = path.dpids
    for i, dpid in enumerate(d):
        in_port = core.topo.out_port(dpid, d[i - 1]) if i > 0 else None
        out_port = core.topo.out_port(dpid, d[i + 1]) if i < len(d) - 1 else None
        if i == 0 and src.host is not None:
            in_port = src.host.port
        if i == len(d) - 1 and dst.host is not None:
            out_port = dst.host.port
        hops.append({"dpid": dpid_str(dpid), "in_port": in_port, "out_port": out_port})
    links = [
        {"src": dpid_str(u), "dst": dpid_str(v), "cost": c}
        for (u, v), c in zip(itertools.pairwise(d), path.link_costs, strict=True)
    ]
    return {"hops": hops, "links": links, "total_cost": path.total}


# ------------------------------------------------------------------------- handlers
Handler = Callable[[ApiContext, Request, dict[str, str]], Reply]


def get_health(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    core = ctx.core
    return Reply(
        200,
        {
            "status": "ok",
            "switches": len(core.topo.switches()),
            "links": sum(1 for _ in core.topo.links()),
            "hosts": len(core.hosts),
            "metric": core.metric,
            "active_metric": core.effective_metric(),
            "routes": len(core.routes),
            "counters": dataclasses.asdict(core.counters),
        },
    )


def get_links(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, [_link_json(ctx.core, k.src, k.dst) for k in ctx.core.topo.links()])


def get_hosts(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, [_host_json(h) for h in ctx.core.hosts.all()])


def get_topology(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    core = ctx.core
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
                for p in sorted(core.topo.ports(d).values(), key=lambda p: p.port_no)
            ],
        }
        for d in core.topo.switches()
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
    return Reply(
        200,
        [
            {
                "hosts": [r.a, r.b],
                "cookie": f"0x{r.cookie:016x}",
                "installed": r.installed,
                "metric": r.path.metric,
                "total_cost": r.path.total,
                "hops": [
                    {"dpid": dpid_str(h.dpid), "in_port": h.in_port, "out_port": h.out_port}
                    for h in r.hops
                ],
            }
            for r in sorted(ctx.core.routes.values(), key=lambda r: (r.a, r.b))
        ],
    )


def get_paths(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    core = ctx.core
    unknown = sorted(set(req.query) - {"metric", "k"})
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)}")
    metric = _check_metric(req.query.get("metric", core.effective_metric()))
    k_text = req.query.get("k", "1")
    if not re.fullmatch(r"[0-9]{1,2}", k_text) or not 1 <= int(k_text) <= MAX_K:
        raise ApiError(400, f"k must be an integer from 1 to {MAX_K}, got {k_text!r}")
    k = int(k_text)
    src = resolve_endpoint(core, args["src"], "src")
    dst = resolve_endpoint(core, args["dst"], "dst")
    try:
        paths = core.router.k_shortest_paths(src.dpid, dst.dpid, metric, k)
    except NoPath as exc:
        raise ApiError(404, f"no path from {args['src']} to {args['dst']}: {exc}") from None
    return Reply(
        200,
        {
            "src": src.json(),
            "dst": dst.json(),
            "metric": metric,
            "paths": [_path_json(core, p, src, dst) for p in paths],
        },
    )


def get_flows(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    core = ctx.core
    unknown = sorted(set(req.query) - {"dpid"})
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)}")
    only = parse_dpid(req.query["dpid"]) if "dpid" in req.query else None
    if only is not None and not core.topo.has_switch(only):
        raise ApiError(404, f"no switch with dpid {dpid_str(only)}")
    flows: list[dict[str, Any]] = []
    for dpid in core.topo.switches():
        if only is not None and dpid != only:
            continue
        cookie = f"0x{COOKIE_BASE:016x}"
        flows.append(
            {
                "dpid": dpid_str(dpid),
                "cookie": cookie,
                "priority": 0,
                "match": {},
                "actions": ["CONTROLLER"],
                "purpose": "table-miss",
            }
        )
        flows.append(
            {
                "dpid": dpid_str(dpid),
                "cookie": cookie,
                "priority": 65000,
                "match": {"eth_type": 0x88CC},
                "actions": ["CONTROLLER"],
                "purpose": "lldp",
            }
        )
    for r in sorted(core.routes.values(), key=lambda r: (r.a, r.b)):
        path = [dpid_str(h.dpid) for h in r.hops]
        for h in r.hops:
            if only is not None and h.dpid != only:
                continue
            for in_port, src, dst, out in (
                (h.in_port, r.a, r.b, h.out_port),
                (h.out_port, r.b, r.a, h.in_port),
            ):
                flows.append(
                    {
                        "dpid": dpid_str(h.dpid),
                        "cookie": f"0x{r.cookie:016x}",
                        "priority": core.config.flow_priority,
                        "match": {"in_port": in_port, "eth_src": src, "eth_dst": dst},
                        "actions": [f"OUTPUT:{out}"],
                        "purpose": "path",
                        "hosts": [src, dst],
                        "path": path if src == r.a else path[::-1],
                        "installed": r.installed,
                    }
                )
    return Reply(200, flows)


def _metric_json(core: ControllerCore) -> dict[str, Any]:
    return {
        "metric": core.metric,
        "active": core.effective_metric(),
        "available": list(METRIC_CHOICES),
    }


def get_metric(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    return Reply(200, _metric_json(ctx.core))


def put_metric(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    _require_token(ctx, req)
    metric = _check_metric(_object_with(_json_body(req), "metric"), METRIC_CHOICES)
    ctx.core.set_metric(metric)
    return Reply(200, _metric_json(ctx.core))


def _link_args(ctx: ApiContext, args: dict[str, str]) -> tuple[int, int]:
    src = parse_dpid(args["src_dpid"], "src_dpid")
    dst = parse_dpid(args["dst_dpid"], "dst_dpid")
    if ctx.core.topo.edge(src, dst) is None:
        raise ApiError(404, f"no link from {dpid_str(src)} to {dpid_str(dst)}")
    return src, dst


def put_link_cost(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    _require_token(ctx, req)
    src, dst = _link_args(ctx, args)
    cost = _object_with(_json_body(req), "cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        raise ApiError(400, f"cost must be a number, got {type(cost).__name__}")
    if isinstance(cost, int) and abs(cost) > MAX_COST:
        raise ApiError(400, f"cost must be > 0 and <= {MAX_COST:g}")
    if not math.isfinite(cost) or not 0 < cost <= MAX_COST:
        raise ApiError(400, f"cost must be > 0 and <= {MAX_COST:g}")
    ctx.core.set_cost_override(src, dst, float(cost))
    return Reply(200, _link_json(ctx.core, src, dst))


def delete_link_cost(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    _require_token(ctx, req)
    src, dst = _link_args(ctx, args)
    ctx.core.set_cost_override(src, dst, None)
    return Reply(200, _link_json(ctx.core, src, dst))


def get_model(ctx: ApiContext, req: Request, args: dict[str, str]) -> Reply:
    status = ctx.core.model_status(ctx.clock())
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
    def regex(self) -> re.Pattern[str]:
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


# ------------------------------------------------------------------------- OpenAPI
def _schemas() -> dict[str, Any]:
    dpid = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
    port = {"type": "integer", "minimum": 0}
    nullable_num = {"type": "number", "nullable": True}
    link = {
        "type": "object",
        "required": ["src", "dst", "capacity_bps", "tx_bps", "utilization", "weights"],
        "properties": {
            "src": {"type": "object", "properties": {"dpid": dpid, "port": port}},
            "dst": {"type": "object", "properties": {"dpid": dpid, "port": port}},
            "capacity_bps": {"type": "integer"},
            "tx_bps": {"type": "number"},
            "utilization": {"type": "number", "minimum": 0},
            "latency_ms": nullable_num,
            "predicted_cost": nullable_num,
            "cost_override": nullable_num,
            "weights": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    }
    host = {
        "type": "object",
        "required": ["mac", "ipv4", "dpid", "port"],
        "properties": {
            "mac": {"type": "string"},
            "ipv4": {"type": "string", "nullable": True},
            "dpid": dpid,
            "port": port,
        },
    }
    hop = {
        "type": "object",
        "required": ["dpid", "in_port", "out_port"],
        "properties": {
            "dpid": dpid,
            "in_port": {"type": "integer", "nullable": True},
            "out_port": {"type": "integer", "nullable": True},
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "Link": link,
        "Host": host,
        "Hop": hop,
        "Health": {
            "type": "object",
            "required": ["status", "switches", "links", "hosts"],
            "properties": {
                "status": {"type": "string"},
                "switches": {"type": "integer"},
                "links": {"type": "integer"},
                "hosts": {"type": "integer"},
                "metric": {"type": "string"},
                "routes": {"type": "integer"},
                "counters": {"type": "object"},
            },
        },
        "Topology": {
            "type": "object",
            "required": ["switches", "links", "hosts"],
            "properties": {
                "switches": {"type": "array", "items": {"type": "object"}},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                "hosts": {"type": "array", "items": {"$ref": "#/components/schemas/Host"}},
            },
        },
        "Paths": {
            "type": "object",
            "required": ["src", "dst", "metric", "paths"],
            "properties": {
                "src": {"type": "object"},
                "dst": {"type": "object"},
                "metric": {"type": "string", "enum": list(METRICS)},
                "paths": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["hops", "links", "total_cost"],
                        "properties": {
                            "hops": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Hop"},
                            },
                            "links": {"type": "array", "items": {"type": "object"}},
                            "total_cost": {"type": "number"},
                        },
                    },
                },
            },
        },
        "Metric": {
            "type": "object",
            "required": ["metric", "active"],
            "properties": {
                "metric": {"type": "string", "enum": list(METRIC_CHOICES)},
                "active": {"type": "string", "enum": list(METRICS)},
                "available": {"type": "array", "items": {"type": "string"}},
            },
        },
    }


_RESPONSE_SCHEMA = {
    "get_health": "Health",
    "get_topology": "Topology",
    "get_paths": "Paths",
    "get_metric": "Metric",
    "put_metric": "Metric",
    "put_link_cost": "Link",
    "delete_link_cost": "Link",
}
_ARRAY_SCHEMA = {"get_hosts": "Host", "get_links": "Link"}
_DPID_PATTERN = "^[0-9a-fA-F]{1,16}$"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_PATTERN = rf"{_OCTET}(\.{_OCTET}){{3}}"
_ENDPOINT = {
    "type": "string",
    "description": "a host IPv4, a host MAC or a switch dpid (hex)",
    "pattern": f"^([0-9a-fA-F]{{1,16}}|[0-9a-fA-F]{{2}}(:[0-9a-fA-F]{{2}}){{5}}|{_IPV4_PATTERN})$",
}
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "src": _ENDPOINT,
    "dst": _ENDPOINT,
    "src_dpid": {"type": "string", "pattern": _DPID_PATTERN},
    "dst_dpid": {"type": "string", "pattern": _DPID_PATTERN},
    "dpid": {"type": "string", "pattern": _DPID_PATTERN},
}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.0 document generated from :data:`ROUTES` (so it matches them exactly)."""
    err = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    paths: dict[str, Any] = {}
    for r in ROUTES:
        name = r.handler.__name__
        if name in _RESPONSE_SCHEMA:
            schema: dict[str, Any] = {"$ref": f"#/components/schemas/{_RESPONSE_SCHEMA[name]}"}
        elif name in _ARRAY_SCHEMA:
            schema = {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{_ARRAY_SCHEMA[name]}"},
            }
        elif name in ("get_routes", "get_flows"):
            schema = {"type": "array", "items": {"type": "object"}}
        else:
            schema = {"type": "object"}
        op: dict[str, Any] = {
            "operationId": name,
            "summary": r.summary,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                "400": err,
                "404": err,
            },
        }
        params = [
            {"name": p, "in": "path", "required": True, "schema": _PARAM_SCHEMAS[p]}
            for p in re.findall(r"\{(\w+)\}", r.template)
        ]
        for q in r.query:
            qschema: dict[str, Any] = _PARAM_SCHEMAS.get(q, {"type": "string"})
            if q == "metric":
                qschema = {"type": "string", "enum": list(METRICS)}
            elif q == "k":
                qschema = {"type": "integer", "minimum": 1, "maximum": MAX_K}
            params.append({"name": q, "in": "query", "required": False, "schema": qschema})
        if params:
            op["parameters"] = params
        if r.body:
            prop: dict[str, Any] = (
                {"type": "string", "enum": list(METRIC_CHOICES)}
                if r.body == "metric"
                else {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": MAX_COST}
            )
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [r.body],
                            "additionalProperties": False,
                            "properties": {r.body: prop},
                        }
                    }
                },
            }
            op["responses"]["413"] = err
            op["responses"]["415"] = err
        if r.write:
            op["security"] = [{"bearer": []}, {}]
            op["responses"]["401"] = err
        paths.setdefault(r.template, {})[r.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "sdn-costroute controller API", "version": API_VERSION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
