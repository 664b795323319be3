"""Tier 2: two controller instances on etcd in front of one Mininet network (high
availability): SIGKILL of the leader during a 10 ms ping, takeover, shared operator
state, and the old leader coming back as a standby."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from testbed import lab
from testbed.ha import ha_lab
from topologies import build_topo

TTL = 3
pytestmark = pytest.mark.integration


def health(ctl: lab.ControllerProcess) -> dict[str, Any]:
    h = ctl.health()
    assert h is not None, "no /v1/health answer"
    return h


def put(url: str, body: object) -> tuple[int, dict[str, Any], Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read()), resp.headers  # case-insensitive


def start_ping(host: Any, dst_ip: str, count: int, log_file: Path) -> str:
    pid = host.cmd(f"ping -i 0.01 -c {count} -W 1 {dst_ip} > {log_file} 2>&1 & echo $!")
    return pid.strip().splitlines()[-1]


def ping_result(host: Any, pid: str, log_file: Path, bound: float) -> tuple[int, int]:
    lab.wait_for(lambda: not host.cmd(f"kill -0 {pid} 2>/dev/null && echo alive").strip(),
                 bound, "the ping to finish")  # fmt: skip
    out = log_file.read_text()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def link_override(ctl: lab.ControllerProcess, src: int, dst: int) -> float | None:
    for link in lab.get_json(f"{ctl.rest_url}/v1/links"):
        if int(link["src"]["dpid"], 16) == src and int(link["dst"]["dpid"], 16) == dst:
            return link["cost_override"]
    return None


def test_leader_killed_traffic_flows_standby_takes_over_with_the_shared_state(
    tmp_path: Path,
) -> None:
    topo = build_topo("ring,4")
    with ha_lab(topo, tmp_path, instances=2, lease_ttl=TTL) as g:
        a, b = g.controllers
        g.net.wait_discovered(a)
        assert g.role(a) == "leader" and g.role(b) == "standby"
        hb = health(b)["ha"]
        assert hb["leader"] == "c0" and hb["leader_url"] == a.rest_url.rstrip("/")
        roles = g.switch_roles()
        assert roles[a.of_port] == ["master"] * 4 and roles[b.of_port] == ["slave"] * 4, roles

        # An operator writes through the standby: forwarded to the leader, stored in etcd.
        status, body, headers = put(f"{b.rest_url}/v1/links/{1:016x}/{2:016x}/cost", {"cost": 25})
        assert status == 200 and body["cost_override"] == 25
        assert headers.get("X-SDN-Forwarded-To") == a.rest_url.rstrip("/")
        assert link_override(a, 1, 2) == 25

        h1, h3 = g.net.host("h1"), g.net.host("h3")
        assert g.net.ping("h1", "h3", count=2)
        log_file = tmp_path / "ping.log"
        count = int((TTL + 9) / 0.01)
        pid = start_ping(h1, h3.IP(), count, log_file)
        time.sleep(1.5)

        t_kill = time.monotonic()
        g.kill(a)
        lab.wait_for(lambda: g.role(b) == "leader", TTL + 5, "the standby to lead")
        t_leader = time.monotonic() - t_kill
        lab.wait_for(lambda: g.net.ping("h2", "h4", count=1, timeout_s=1), TTL + 8,
                     "a new pair to ping")  # fmt: skip
        t_new_pair = time.monotonic() - t_kill
        tx, rx = ping_result(h1, pid, log_file, TTL + 20)
        g.net.wait_discovered(b, timeout=20)
        roles = g.switch_roles()
        override = link_override(b, 1, 2)
        generation = health(b)["ha"]["generation"]
        print(
            f"\nHA takeover (lease ttl {TTL} s): leader after {t_leader:.2f} s, new pair "
            f"served after {t_new_pair:.2f} s; 10 ms ping across it: {tx - rx} of {tx} lost; "
            f"override on the new leader {override}; switch roles {roles}"
        )
        assert tx - rx == 0, f"{tx - rx} of {tx} pings lost across the takeover"
        assert t_leader <= TTL + 2
        assert t_new_pair <= TTL + 5
        assert override == 25
        assert roles[b.of_port] == ["master"] * 4 and roles[a.of_port] == [], roles

        # The old leader comes back: a standby; nothing flushed, the leader stays.
        routes_before = {tuple(r["hosts"]) for r in lab.get_json(f"{b.rest_url}/v1/routes")}
        pid = start_ping(h1, h3.IP(), 600, log_file)
        a.start()
        lab.wait_for(lambda: g.role(a) == "standby" and health(a)["ha"]["leader"] == "c1",
                     TTL + 10, "the old leader to rejoin as a standby")  # fmt: skip
        lab.wait_for(lambda: g.switch_roles()[a.of_port] == ["slave"] * 4, 10,
                     "the switches to see it as slave")  # fmt: skip
        tx, rx = ping_result(h1, pid, log_file, 30)
        assert g.role(b) == "leader" and health(b)["ha"]["generation"] == generation
        routes_after = {tuple(r["hosts"]) for r in lab.get_json(f"{b.rest_url}/v1/routes")}
        print(f"old leader back as standby: {tx - rx} of {tx} pings lost; routes kept "
              f"{len(routes_before & routes_after)} of {len(routes_before)}")  # fmt: skip
        assert tx - rx == 0 and routes_before <= routes_after


def test_a_standby_answers_reads_and_refuses_writes_without_a_leader(tmp_path: Path) -> None:
    topo = build_topo("linear,2")
    with ha_lab(topo, tmp_path, instances=2, lease_ttl=TTL) as g:
        a, b = g.controllers
        g.net.wait_discovered(a)
        hb = health(b)
        assert hb["ha"]["role"] == "standby" and hb["ha"]["etcd"] == g.etcd.endpoint
        assert hb["switches"] == 0  # learned state is the leader's; a new leader rebuilds it
        g.etcd.pause()  # the store is unreachable: a write cannot be stored, so it fails
        try:
            req = urllib.request.Request(f"{a.rest_url}/v1/metric", method="PUT",
                                         data=b'{"metric": "latency"}',
                                         headers={"Content-Type": "application/json"})  # fmt: skip
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=10)
            assert err.value.code == 503
            assert health(a)["metric"] != "latency"
            # Cut off from etcd, the leader steps down within the lease (fencing).
            lab.wait_for(lambda: g.role(a) == "standby", TTL + 2, "the leader to step down")
        finally:
            g.etcd.resume()
        lab.wait_for(lambda: g.leader() is not None, 3 * TTL + 5, "a leader again")


def test_make_run_ha_2_scripted_starts_a_group_and_cleans_up() -> None:
    """`make run ARGS='--ha 2 --scripted'`: etcd, two instances, the default topology."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--ha", "2", "--scripted"],
        capture_output=True, text=True, timeout=300, cwd=lab.ROOT,
    )  # fmt: skip
    print(proc.stdout[-2500:])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"pingall through the leader: (\d+) pings, 0 lost", proc.stdout)
    roles = re.findall(r"\*\*\* instance (c\d): (leader|standby)", proc.stdout)
    assert sorted(roles) == [("c0", "leader"), ("c1", "standby")], roles
    assert "*** OK" in proc.stdout and not lab.our_bridges()
