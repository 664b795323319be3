"""JSON shapes of what the REST API returns (from the read-only view's records)."""

from __future__ import annotations

import itertools
from typing import Any

from controller.forwarding.plan import PartialHop
from controller.linkcost.features import FEATURE_NAMES
from controller.northbound.requests import dpid_str
from controller.northbound.view import FlowView, LinkView, PairView, PathView
from controller.southbound.messages import OFPP_CONTROLLER


def link_json(link: LinkView) -> dict[str, Any]:
    st, key = link.state, link.key
    return {
        "src": {"dpid": dpid_str(key.src), "port": key.src_port},
        "dst": {"dpid": dpid_str(key.dst), "port": key.dst_port},
        "capacity_bps": st.capacity_bps,
        "tx_bps": st.tx_bps,
        "utilization": st.utilization,
        "latency_ms": st.latency_ms,
        "predicted_cost": st.predicted_cost,
        "fallback_cost": st.fallback_cost,
        "cost_override": st.cost_override,
        "weights": link.weights,
        "predicted_latency_ms": st.predicted_latency_ms,
        "features_at": st.features_at,
        "features": (
            dict(zip(FEATURE_NAMES, st.features, strict=True)) if st.features is not None else None
        ),
    }


def hop_json(h: PartialHop) -> dict[str, Any]:
    return {"dpid": dpid_str(h.dpid), "in_port": h.in_port, "out_port": h.out_port}


def path_json(p: PathView) -> dict[str, Any]:
    links = [
        {"src": dpid_str(u), "dst": dpid_str(v), "cost": c}
        for (u, v), c in zip(itertools.pairwise(p.path.dpids), p.path.link_costs, strict=True)
    ]
    return {"hops": [hop_json(h) for h in p.hops], "links": links, "total_cost": p.path.total}


def route_json(r: PairView, now: float) -> dict[str, Any]:
    def age(t: float | None) -> float | None:
        return None if t is None else round(now - t, 3)

    return {
        "hosts": [r.a, r.b],
        "cookie": f"0x{r.cookie:016x}",
        "installed": r.installed,
        "metric": r.path.metric,
        "total_cost": r.path.total,
        "hops": [hop_json(h) for h in r.hops],
        "directions": [
            {
                "src": d.src,
                "dst": d.dst,
                "path": [dpid_str(x) for x in d.path.dpids],
                "hops": [hop_json(h) for h in d.hops],
                "total_cost": d.path.total,
                "live": d.live,
            }
            for d in r.directions
        ],
        "installed_age_s": age(r.installed_at),
        "moves": r.moves,
        "last_move_reason": r.last_move or None,
        "last_move_age_s": age(r.last_move_at),
    }


def flow_json(f: FlowView) -> dict[str, Any]:
    m = f.flow.match
    match = {
        name: value
        for name, value in (
            ("in_port", m.in_port),
            ("eth_src", m.eth_src),
            ("eth_dst", m.eth_dst),
            ("eth_type", m.eth_type),
        )
        if value is not None
    }
    out = "CONTROLLER" if f.flow.out_port == OFPP_CONTROLLER else f"OUTPUT:{f.flow.out_port}"
    meter = [] if f.flow.meter_id is None else [f"METER:{f.flow.meter_id}"]
    entry: dict[str, Any] = {
        "dpid": dpid_str(f.flow.dpid),
        "cookie": f"0x{f.flow.cookie:016x}",
        "priority": f.flow.priority,
        "match": match,
        "actions": [*meter, out],
        "purpose": f.purpose,
    }
    if f.hosts is not None and f.path is not None:
        entry["hosts"] = list(f.hosts)
        entry["path"] = [dpid_str(d) for d in f.path]
        entry["installed"] = f.installed
    return entry
