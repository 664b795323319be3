"""Operator API as plain functions of the core: each returns (HTTP status, JSON body).

The WSGI layer (``controller.rest``) only adapts requests to these; no routing or
graph logic lives there. dpids are 16-hex-digit strings, as in Ryu's own REST apps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from controller.core import ControllerCore
from controller.routing import link_weights

Reply = tuple[int, Any]


def dpid_str(dpid: int) -> str:
    return f"{dpid:016x}"


def health(core: ControllerCore) -> Reply:
    topo = core.topo
    return 200, {
        "status": "ok",
        "switches": len(topo.switches()),
        "links": sum(1 for _ in topo.links()),
        "hosts": len(core.hosts),
        "metric": core.metric,
        "routes": len(core.routes),
        "counters": dataclasses.asdict(core.counters),
    }


def links(core: ControllerCore) -> Reply:
    out = []
    for key in core.topo.links():
        st = core.topo.link(key)
        out.append(
            {
                "src": {"dpid": dpid_str(key.src), "port": key.src_port},
                "dst": {"dpid": dpid_str(key.dst), "port": key.dst_port},
                "capacity_bps": st.capacity_bps,
                "tx_bps": st.tx_bps,
                "utilization": st.utilization,
                "latency_ms": st.latency_ms,
                "predicted_cost": st.predicted_cost,
                "cost_override": st.cost_override,
                "weights": link_weights(st),
            }
        )
    return 200, out


def hosts(core: ControllerCore) -> Reply:
    return 200, [
        {"mac": h.mac, "ipv4": h.ipv4, "dpid": dpid_str(h.dpid), "port": h.port}
        for h in core.hosts.all()
    ]


def topology(core: ControllerCore) -> Reply:
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
    return 200, {"switches": switches, "links": links(core)[1], "hosts": hosts(core)[1]}


def routes(core: ControllerCore) -> Reply:
    return 200, [
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
        for r in sorted(core.routes.values(), key=lambda r: (r.a, r.b))
    ]
