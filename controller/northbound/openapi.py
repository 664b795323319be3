"""The OpenAPI 3 document of the REST API, generated from its route table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from controller.config import METRIC_CHOICES, METRICS


class RouteSpec(Protocol):
    """What the document needs to know of a route (``api.Route`` is one)."""

    @property
    def method(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def query(self) -> tuple[str, ...]: ...
    @property
    def body(self) -> str | None: ...
    @property
    def write(self) -> bool: ...
    @property
    def operation_id(self) -> str: ...


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
            "fallback_cost": nullable_num,
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
                "path_cache": {"type": "object"},
                "ha": {"type": "object", "nullable": True},
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


def openapi_document(
    routes: Sequence[RouteSpec], version: str, max_k: int, max_cost: float
) -> dict[str, Any]:
    """OpenAPI 3.0 document generated from the route table (so it matches it exactly)."""
    err = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    paths: dict[str, Any] = {}
    for r in routes:
        name = r.operation_id
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
                qschema = {"type": "integer", "minimum": 1, "maximum": max_k}
            params.append({"name": q, "in": "query", "required": False, "schema": qschema})
        if params:
            op["parameters"] = params
        if r.body:
            prop: dict[str, Any] = (
                {"type": "string", "enum": list(METRIC_CHOICES)}
                if r.body == "metric"
                else {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": max_cost}
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
            op["responses"]["503"] = err  # high availability: the store or leader unreachable
        paths.setdefault(r.template, {})[r.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "sdn-costroute controller API", "version": version},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
