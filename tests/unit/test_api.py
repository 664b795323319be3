"""Every REST route through northbound.api.handle, on a fake ring network; bad input too."""

from __future__ import annotations

import json
import re
from typing import Any

import networkx as nx
import pytest

from controller.config import METRICS
from controller.northbound import api, requests
from controller.northbound.view import ControllerView
from tests.fakes import FakeNetwork
from topologies import spec

TOKEN = "s3cret"


@pytest.fixture
def net() -> FakeNetwork:
    fn = FakeNetwork(spec.ring(6).to_networkx())  # ring of 6, host h<i> on switch i
    fn.discover()
    fn.announce_all()
    fn.deliver("h1", "h4")
    return fn


@pytest.fixture
def ctx(net: FakeNetwork) -> api.ApiContext:
    return api.ApiContext(ControllerView(net.core), clock=lambda: net.now)  # the fake clock


def call(
    ctx: api.ApiContext,
    method: str,
    path: str,
    body: object = None,
    query: dict[str, str] | None = None,
    token: str | None = None,
    raw: bytes | None = None,
    ctype: str = "application/json",
) -> api.Reply:
    headers = {"content-type": ctype}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    reply = api.handle(ctx, api.Request(method, path, query or {}, headers, data))
    json.dumps(reply.body, allow_nan=False)  # always serialisable, never NaN
    if reply.status >= 400:
        assert set(reply.body) == {"error"} and reply.body["error"]
    return reply


def snapshot(ctx: api.ApiContext) -> str:
    return json.dumps([call(ctx, "GET", "/v1/links").body, ctx.view.metric()], sort_keys=True)


# ------------------------------------------------------------------ read routes
def test_health_counts(ctx: api.ApiContext) -> None:
    r = call(ctx, "GET", "/v1/health")
    assert r.status == 200
    assert (r.body["switches"], r.body["links"], r.body["hosts"]) == (6, 12, 6)
    assert r.body["status"] == "ok" and r.body["metric"] == "auto"
    assert r.body["active_metric"] == "hop"  # no model in these tests


def test_topology_hosts_links(ctx: api.ApiContext) -> None:
    topo = call(ctx, "GET", "/v1/topology").body
    assert [s["dpid"] for s in topo["switches"]] == [f"{i:016x}" for i in range(1, 7)]
    assert len(topo["links"]) == 12 and len(topo["hosts"]) == 6
    hosts = call(ctx, "GET", "/v1/hosts").body
    h1 = next(h for h in hosts if h["ipv4"] == "10.0.0.1")
    assert h1["dpid"] == "0000000000000001" and h1["mac"] == "00:00:00:00:00:01"
    link = call(ctx, "GET", "/v1/links").body[0]
    assert set(link["weights"]) == set(METRICS)
    assert re.fullmatch(r"[0-9a-f]{16}", link["src"]["dpid"])


def test_paths_by_ip_mac_and_dpid_with_k(ctx: api.ApiContext) -> None:
    r = call(ctx, "GET", "/v1/paths/10.0.0.1/10.0.0.4", query={"k": "2"})
    assert r.status == 200
    assert len(r.body["paths"]) == 2
    p1, p2 = r.body["paths"]
    assert p1["total_cost"] == p2["total_cost"] == 3  # the two ways round the ring
    assert [h["dpid"][-1] for h in p1["hops"]] == ["1", "2", "3", "4"]  # tie: lowest dpids
    assert p1["hops"][0]["in_port"] == 1 and p1["hops"][-1]["out_port"] == 1  # host ports
    assert [lk["cost"] for lk in p1["links"]] == [1.0, 1.0, 1.0]
    by_mac = call(ctx, "GET", "/v1/paths/00:00:00:00:00:01/00:00:00:00:00:04").body
    assert by_mac["paths"][0]["hops"] == p1["hops"]
    by_dpid = call(ctx, "GET", "/v1/paths/1/0000000000000004").body
    assert by_dpid["src"] == {"type": "switch", "dpid": "0000000000000001"}
    assert by_dpid["paths"][0]["hops"][0]["in_port"] is None


def test_path_metric_parameter_and_cost_override(ctx: api.ApiContext) -> None:
    # Make 1->2 expensive under `cost`: the cost path goes the other way round.
    assert call(ctx, "PUT", "/v1/links/1/2/cost", {"cost": 50}).status == 200
    cost = call(ctx, "GET", "/v1/paths/10.0.0.1/10.0.0.3", query={"metric": "cost"}).body
    hop = call(ctx, "GET", "/v1/paths/10.0.0.1/10.0.0.3", query={"metric": "hop"}).body
    assert [h["dpid"][-1] for h in hop["paths"][0]["hops"]] == ["1", "2", "3"]
    assert [h["dpid"][-1] for h in cost["paths"][0]["hops"]] == ["1", "6", "5", "4", "3"]
    # No model and no delay measured here: each link costs 1 + 1 ms (UNMEASURED_MS) / 1 ms.
    assert cost["metric"] == "cost" and cost["paths"][0]["total_cost"] == 8
    cleared = call(ctx, "DELETE", "/v1/links/1/2/cost")
    assert cleared.status == 200 and cleared.body["cost_override"] is None
    again = call(ctx, "GET", "/v1/paths/10.0.0.1/10.0.0.3", query={"metric": "cost"}).body
    assert [h["dpid"][-1] for h in again["paths"][0]["hops"]] == ["1", "2", "3"]


def test_routes_and_flows(ctx: api.ApiContext, net: FakeNetwork) -> None:
    routes = call(ctx, "GET", "/v1/routes").body
    assert len(routes) == 1 and routes[0]["installed"]
    flows = call(ctx, "GET", "/v1/flows").body
    path_flows = [f for f in flows if f["purpose"] == "path"]
    assert len(path_flows) == 8  # 4 switches x 2 directions
    # Each advertised flow is really in the (fake) switch table, with that output.
    for f in path_flows:
        out = net.tables.lookup(
            int(f["dpid"], 16), f["match"]["in_port"], f["match"]["eth_src"], f["match"]["eth_dst"]
        )
        assert f["actions"] == [f"OUTPUT:{out}"]
    only = call(ctx, "GET", "/v1/flows", query={"dpid": "0000000000000002"}).body
    assert {f["dpid"] for f in only} == {"0000000000000002"}
    assert {f["purpose"] for f in only} == {"table-miss", "lldp", "path"}


def test_routes_and_health_show_a_reoptimization_move(
    ctx: api.ApiContext, net: FakeNetwork
) -> None:
    def h1_h4() -> dict[str, Any]:
        routes = call(ctx, "GET", "/v1/routes").body
        return next(r for r in routes if r["hosts"] == ["00:00:00:00:00:01", "00:00:00:00:00:04"])

    def path(route: dict[str, Any], src: str) -> list[int]:
        d = next(d for d in route["directions"] if d["src"] == src)
        return [int(x, 16) for x in d["path"]]

    assert call(ctx, "PUT", "/v1/metric", {"metric": "cost"}).status == 200  # both ways cost 6
    before = h1_h4()
    assert (before["moves"], before["last_move_reason"]) == (0, None)
    assert call(ctx, "GET", "/v1/health").body["counters"]["moves"] == 0
    assert path(before, "00:00:00:00:00:01") == [1, 2, 3, 4]
    # 1 -> 2 now costs 50: h1 -> h4 moves the other way round; h4 -> h1 (2 -> 1) stays.
    assert call(ctx, "PUT", "/v1/links/1/2/cost", {"cost": 50}).status == 200
    net.advance(0.4)  # housekeeping re-optimizes at once after an override
    after = h1_h4()
    assert after["moves"] == 1 and after["last_move_reason"] == "cost override"
    assert after["last_move_age_s"] is not None and after["last_move_age_s"] >= 0
    assert [(d["src"], d["dst"]) for d in after["directions"]] == [
        ("00:00:00:00:00:01", "00:00:00:00:00:04"),
        ("00:00:00:00:00:04", "00:00:00:00:00:01"),
    ]
    assert path(after, "00:00:00:00:00:01") == [1, 6, 5, 4]
    assert path(after, "00:00:00:00:00:04") == [4, 3, 2, 1]
    assert net.walk("h1", "h4") == [1, 6, 5, 4]  # what it shows is what is installed
    assert call(ctx, "GET", "/v1/health").body["counters"]["moves"] == 1


def test_metric_get_and_put_changes_new_routes(ctx: api.ApiContext, net: FakeNetwork) -> None:
    got = call(ctx, "GET", "/v1/metric").body
    assert (got["metric"], got["active"]) == ("auto", "hop")
    r = call(ctx, "PUT", "/v1/metric", {"metric": "utilization"})
    assert r.status == 200 and r.body["metric"] == "utilization"
    assert net.core.metric == "utilization"
    net.deliver("h2", "h5")
    route = next(
        x for x in call(ctx, "GET", "/v1/routes").body if "00:00:00:00:00:02" in x["hosts"]
    )
    assert route["metric"] == "utilization"


def test_model_and_openapi(ctx: api.ApiContext) -> None:
    model = call(ctx, "GET", "/v1/model").body
    assert model["loaded"] is True  # the shipped model
    assert model["features"] and model["metrics"]["NumPy network (ours)"]["r2"]["median"] > 0
    assert "persistence (delay now)" in model["metrics"]  # the baselines, side by side
    assert model["live_quality"]["samples"] == 0 and model["coverage"] is None
    assert model["last_prediction_time"] is None  # no counters yet in this fake network
    assert {lk["src"] for lk in model["links"]} == {f"{i:016x}" for i in range(1, 7)}
    doc = call(ctx, "GET", "/v1/openapi.json").body
    assert doc["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(r.method, r.template) for r in api.ROUTES}


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("method", "path", "query", "status"),
    [
        ("GET", "/v1/paths/10.0.0.1/10.9.9.9", {}, 404),
        ("GET", "/v1/paths/00:00:00:00:00:99/10.0.0.1", {}, 404),
        ("GET", "/v1/paths/99/1", {}, 404),
        ("GET", "/v1/paths/not-a-thing/1", {}, 400),
        ("GET", "/v1/paths/1/12345678901234567", {}, 400),
        ("GET", "/v1/paths/1/2", {"metric": "speed"}, 400),
        ("GET", "/v1/paths/1/2", {"k": "0"}, 400),
        ("GET", "/v1/paths/1/2", {"k": "17"}, 400),
        ("GET", "/v1/paths/1/2", {"k": "two"}, 400),
        ("GET", "/v1/paths/1/2", {"bogus": "1"}, 400),
        ("GET", "/v1/flows", {"dpid": "xyz"}, 400),
        ("GET", "/v1/flows", {"dpid": "99"}, 404),
        ("GET", "/v1/nope", {}, 404),
        ("POST", "/v1/metric", {}, 405),
        ("DELETE", "/v1/health", {}, 405),
    ],
)
def test_bad_requests_get_json_4xx(
    ctx: api.ApiContext, method: str, path: str, query: dict[str, str], status: int
) -> None:
    before = snapshot(ctx)
    assert call(ctx, method, path, query=query).status == status
    assert snapshot(ctx) == before


def test_unknown_endpoint_message_says_which(ctx: api.ApiContext) -> None:
    r = call(ctx, "GET", "/v1/paths/10.0.0.1/10.9.9.9")
    assert "dst" in r.body["error"] and "10.9.9.9" in r.body["error"]


def test_no_path_is_404(net: FakeNetwork, ctx: api.ApiContext) -> None:
    net.link_down(1, 2)
    net.link_down(1, 6)
    r = call(ctx, "GET", "/v1/paths/1/4")
    assert r.status == 404 and "no path" in r.body["error"]


@pytest.mark.parametrize(
    ("method", "path", "raw", "ctype", "status"),
    [
        ("PUT", "/v1/metric", b"{not json", "application/json", 400),
        ("PUT", "/v1/metric", b'{"metric": 3}', "application/json", 400),
        ("PUT", "/v1/metric", b'{"metric": "speed"}', "application/json", 400),
        ("PUT", "/v1/metric", b'{"metric": "hop", "x": 1}', "application/json", 400),
        ("PUT", "/v1/metric", b"[]", "application/json", 400),
        ("PUT", "/v1/metric", b'"hop"', "application/json", 400),
        ("PUT", "/v1/metric", b"\xff\xfe", "application/json", 400),
        ("PUT", "/v1/metric", b'{"metric": "cost"}', "text/plain", 415),
        ("PUT", "/v1/metric", b" " * (api.MAX_BODY_BYTES + 1), "application/json", 413),
        ("PUT", "/v1/links/1/2/cost", b'{"cost": -1}', "application/json", 400),
        ("PUT", "/v1/links/1/2/cost", b'{"cost": 0}', "application/json", 400),
        ("PUT", "/v1/links/1/2/cost", b'{"cost": "cheap"}', "application/json", 400),
        ("PUT", "/v1/links/1/2/cost", b'{"cost": true}', "application/json", 400),
        ("PUT", "/v1/links/1/2/cost", b'{"cost": 1e400}', "application/json", 400),
        ("PUT", "/v1/links/1/2/cost", b'{"cost": NaN}', "application/json", 400),
        ("PUT", "/v1/links/1/2/cost", b"{}", "application/json", 400),
        ("PUT", "/v1/links/1/3/cost", b'{"cost": 2}', "application/json", 404),
        ("PUT", "/v1/links/zz/3/cost", b'{"cost": 2}', "application/json", 400),
        ("DELETE", "/v1/links/1/3/cost", b"", "application/json", 404),
    ],
)
def test_bad_writes_change_nothing(
    ctx: api.ApiContext, method: str, path: str, raw: bytes, ctype: str, status: int
) -> None:
    before = snapshot(ctx)
    assert call(ctx, method, path, raw=raw, ctype=ctype).status == status
    assert snapshot(ctx) == before


def test_token_rule(net: FakeNetwork) -> None:
    ctx = api.ApiContext(ControllerView(net.core), token=TOKEN)
    before = snapshot(ctx)
    for token in (None, "wrong", ""):
        assert call(ctx, "PUT", "/v1/metric", {"metric": "cost"}, token=token).status == 401
        assert call(ctx, "PUT", "/v1/links/1/2/cost", {"cost": 5}, token=token).status == 401
        assert call(ctx, "DELETE", "/v1/links/1/2/cost", token=token).status == 401
    assert snapshot(ctx) == before
    assert call(ctx, "GET", "/v1/metric").status == 200  # reads need no token
    assert call(ctx, "PUT", "/v1/metric", {"metric": "cost"}, token=TOKEN).status == 200
    assert net.core.metric == "cost"


def test_reads_can_be_protected_too(net: FakeNetwork) -> None:
    ctx = api.ApiContext(ControllerView(net.core), token=TOKEN, protect_reads=True)
    for path in ("/v1/health", "/v1/topology", "/v1/metric", "/v1/routes"):
        assert call(ctx, "GET", path).status == 401
        assert call(ctx, "GET", path, token="wrong").status == 401
        assert call(ctx, "GET", path, token=TOKEN).status == 200


@pytest.mark.parametrize("depth", [32, 33, 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(ctx: api.ApiContext, depth: int) -> None:
    raw = ("[" * depth + "]" * depth).encode()
    if len(raw) > api.MAX_BODY_BYTES:
        raw = raw[: api.MAX_BODY_BYTES]  # the parser never sees more
    reply = call(ctx, "PUT", "/v1/metric", raw=raw)
    assert reply.status == 400
    if depth > 32:
        assert "nests deeper" in reply.body["error"]


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert requests.json_depth('{"a": "[[[{{{\\"[", "b": [1, {"c": []}]}') == 4
    assert requests.json_depth('"\\"[[["') == 0


def test_no_token_configured_means_writes_are_open(ctx: api.ApiContext) -> None:
    assert call(ctx, "PUT", "/v1/metric", {"metric": "latency"}).status == 200


def test_paths_and_flows_report_the_installed_ports_on_crossed_parallel_cables() -> None:
    """Two cables between s1 and s2, crossed (s1's lower port meets s2's higher one), so
    the edge 1->2 and the edge 2->1 ride different cables. /v1/paths must report the
    in_port the runtime installs, and /v1/flows exactly the installed flows."""
    g = nx.MultiGraph()
    g.add_edges_from([(1, 2), (1, 2), (2, 3)])
    net = FakeNetwork(g)
    (p1a, p1b), (p2a, p2b) = (
        sorted(p for (d, p), (nd, _) in net.wires.items() if d == s and nd == o)
        for s, o in ((1, 2), (2, 1))
    )
    net.wires[(1, p1a)], net.wires[(2, p2b)] = (2, p2b), (1, p1a)  # cross the cables
    net.wires[(1, p1b)], net.wires[(2, p2a)] = (2, p2a), (1, p1b)
    net.discover()
    net.announce_all()
    # Both cables known both ways when the edges are chosen (as after the cable they had
    # went stale): each direction takes its lowest-numbered cable, a different one here.
    graph = net.core.graph
    graph.graph.remove_edge(1, 2)
    graph.graph.remove_edge(2, 1)
    graph._sync({(1, 2)})
    e12, e21 = graph.edge(1, 2), graph.edge(2, 1)
    assert e12 is not None and e21 is not None
    assert (e12.src_port, e12.dst_port) != (e21.dst_port, e21.src_port)  # different cables
    assert net.deliver("h1", "h3") == [1, 2, 3]
    ctx = api.ApiContext(ControllerView(net.core))
    (path,) = call(ctx, "GET", "/v1/paths/10.0.0.1/10.0.0.3").body["paths"]
    for hop in path["hops"]:
        h1, h3 = net.host("h1"), net.host("h3")
        dpid = int(hop["dpid"], 16)
        installed = net.tables.lookup(dpid, hop["in_port"], h1.mac, h3.mac)
        assert installed == hop["out_port"], hop  # the reported in_port is the installed one
    flows = [f for f in call(ctx, "GET", "/v1/flows").body if f["purpose"] == "path"]
    on_switches = {
        (d, e.match.in_port, e.match.eth_src, e.match.eth_dst, e.out_port)
        for d, e in net.tables.flows()
        if e.match.eth_src is not None
    }
    advertised = {
        (int(f["dpid"], 16), f["match"]["in_port"], f["match"]["eth_src"],
         f["match"]["eth_dst"], int(f["actions"][0].removeprefix("OUTPUT:")))
        for f in flows
    }  # fmt: skip
    assert advertised == on_switches
