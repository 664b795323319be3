"""A group member: shared operator state applied to the core, writes stored first (503
when the store is down), a standby forwarding writes to the leader."""

from __future__ import annotations

import json

import pytest

from controller.ha.member import HaMember
from controller.northbound import api
from controller.northbound.view import ControllerView
from tests.fakes import FakeNetwork
from tests.ha_fakes import FakeStore
from topologies import spec


def member(store: FakeStore, name: str, cut: set[str]) -> HaMember:
    return HaMember(store.client(name, cut), "g", name, ttl=3,  # type: ignore[arg-type]
                    rest_url=f"http://{name}:8080")  # fmt: skip


@pytest.fixture
def net() -> FakeNetwork:
    fn = FakeNetwork(spec.ring(4).to_networkx())
    fn.discover()
    return fn


def call(ctx: api.ApiContext, method: str, path: str, body: object = None) -> api.Reply:
    data = b"" if body is None else json.dumps(body).encode()
    req = api.Request(method, path, {}, {"content-type": "application/json"}, data)
    return api.handle(ctx, req)


def test_writes_are_stored_then_applied_and_a_standby_follows(net: FakeNetwork) -> None:
    store, cut = FakeStore(), set[str]()
    leader, standby = member(store, "a", cut), member(store, "b", cut)
    other = FakeNetwork(spec.ring(4).to_networkx())  # the standby's own core: no switches
    leader.tick(0.0, net.core)
    standby.tick(0.0, other.core)
    assert leader.is_leader and not standby.is_leader
    ctx = api.ApiContext(ControllerView(net.core), ha=leader)
    assert call(ctx, "PUT", "/v1/metric", {"metric": "latency"}).status == 200
    assert call(ctx, "PUT", f"/v1/links/{1:016x}/{2:016x}/cost", {"cost": 9}).status == 200
    assert store.kv["/sdn-costroute/g/operator/metric"] == "latency"
    assert store.kv[f"/sdn-costroute/g/operator/cost/{1:016x}-{2:016x}"] == "9.0"
    standby.tick(0.5, other.core)
    assert other.core.metric == "latency" and other.core.cost_overrides == {(1, 2): 9.0}
    # Deleted through the leader: gone on the standby at its next read.
    assert call(ctx, "DELETE", f"/v1/links/{1:016x}/{2:016x}/cost").status == 200
    standby.tick(1.0, other.core)
    assert other.core.cost_overrides == {}
    st = standby.status()
    assert st["role"] == "standby" and st["leader"] == "a" and st["leader_url"] == "http://a:8080"


def test_a_write_that_cannot_be_stored_changes_nothing(net: FakeNetwork) -> None:
    store, cut = FakeStore(), set[str]()
    leader = member(store, "a", cut)
    leader.tick(0.0, net.core)
    ctx = api.ApiContext(ControllerView(net.core), ha=leader)
    cut.add("a")
    r = call(ctx, "PUT", "/v1/metric", {"metric": "latency"})
    assert r.status == 503 and "store" in r.body["error"]
    assert net.core.metric == "auto"
    r = call(ctx, "PUT", f"/v1/links/{1:016x}/{2:016x}/cost", {"cost": 9})
    assert r.status == 503 and net.core.cost_overrides == {}


def test_a_standby_forwards_writes_to_the_leader(net: FakeNetwork) -> None:
    store, cut = FakeStore(), set[str]()
    leader, standby = member(store, "a", cut), member(store, "b", cut)
    leader.tick(0.0, net.core)
    standby.tick(0.0, FakeNetwork(spec.linear(2).to_networkx()).core)
    sent: list[tuple[str, str, str]] = []

    def forward(url: str, req: api.Request) -> api.Reply:
        sent.append((url, req.method, req.path))
        return api.Reply(200, {"metric": "cost"}, {"X-SDN-Forwarded-To": url})

    ctx = api.ApiContext(ControllerView(FakeNetwork(spec.linear(2).to_networkx()).core), ha=standby,
                         forward=forward, token="t")  # fmt: skip
    r = call(ctx, "PUT", "/v1/metric", {"metric": "cost"})
    assert r.status == 401 and sent == []  # the token is checked here too
    req = api.Request("PUT", "/v1/metric", {}, {"authorization": "Bearer t",
                      "content-type": "application/json"}, b'{"metric": "cost"}')  # fmt: skip
    r = api.handle(ctx, req)
    assert r.status == 200 and sent == [("http://a:8080", "PUT", "/v1/metric")]
    health = call(ctx, "GET", "/v1/health")  # its own health: role and leader
    assert health.status == 200 and health.body["ha"]["role"] == "standby"
    assert sent[-1][2] == "/v1/metric"
    # A read of the network is the leader's answer (the standby has no view of its own) ...
    r = call(ctx, "GET", "/v1/links")
    assert sent[-1] == ("http://a:8080", "GET", "/v1/links") and r.status == 200
    # ... unless the leader does not answer: then the standby's own view, not an error.
    answer = forward

    def unreachable(url: str, req: api.Request) -> api.Reply:
        return api.Reply(503, {"error": "the leader did not answer"})

    ctx.forward = unreachable
    r = call(ctx, "GET", "/v1/links")
    assert r.status == 200 and r.body == []
    ctx.forward = answer
    # With no leader known, a standby says so (503), it does not guess.
    store.keys.clear()
    standby.election.state.leader = None
    r = api.handle(ctx, req)
    assert r.status == 503 and "standby" in r.body["error"]


def test_a_store_read_overtaken_by_a_local_write_is_not_applied(net: FakeNetwork) -> None:
    store, cut = FakeStore(), set[str]()
    leader = member(store, "a", cut)
    leader.tick(0.0, net.core)
    stale = leader.shared.read()  # read before the write lands
    leader.publish_metric("latency")
    net.core.set_metric("latency")
    writes_before = leader.counters.skipped_for_local_write
    # A tick whose read started before a write must not undo it: simulate by applying the
    # stale state only through tick's guard (the write counter moved meanwhile).
    original = leader.shared.read

    def read_then_write():  # type: ignore[no-untyped-def]
        state = original()
        leader.publish_metric("utilization")
        net.core.set_metric("utilization")
        return state

    leader.shared.read = read_then_write  # type: ignore[method-assign]
    leader.tick(0.5, net.core)
    assert net.core.metric == "utilization"
    assert leader.counters.skipped_for_local_write == writes_before + 1
    leader.shared.read = original  # type: ignore[method-assign]
    leader.tick(1.0, net.core)
    assert net.core.metric == "utilization" and stale.metric is None


def test_malformed_store_entries_are_skipped_and_counted(net: FakeNetwork) -> None:
    store, cut = FakeStore(), set[str]()
    m = member(store, "a", cut)
    store.kv["/sdn-costroute/g/operator/metric"] = "fastest"
    store.kv["/sdn-costroute/g/operator/cost/zz-01"] = "3"
    store.kv[f"/sdn-costroute/g/operator/cost/{1:016x}-{2:016x}"] = "-1"
    store.kv[f"/sdn-costroute/g/operator/cost/{2:016x}-{3:016x}"] = "4"
    m.tick(0.0, net.core)
    assert net.core.metric == "auto" and net.core.cost_overrides == {(2, 3): 4.0}
    assert m.counters.malformed_entries == 3
