"""Tier 2 smoke tests of the foundation: Ryu on Python 3.11 against real OVS + Mininet."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from mininet.topo import LinearTopo

from testbed import lab


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_ryu_manager_runs_our_app_with_ofctl_rest_and_forwards(lab_factory) -> None:
    ctl, net = lab_factory(LinearTopo(3), apps=("controller/app.py", "ryu.app.ofctl_rest"))
    net.wait_discovered(ctl)
    # ryu.app.wsgi-based app: answers over HTTP with the switches it sees.
    switches = lab.wait_for(
        lambda: len(_get_json(f"http://127.0.0.1:{ctl.rest_port}/stats/switches")) == 3,
        20,
        "ofctl_rest to list 3 switches",
    )
    assert switches
    sent, lost = net.pingall()
    print(f"\npingall linear,3: {sent} sent, {lost} lost")
    assert (sent, lost) == (6, 0)
    # TCP end to end (needs TX checksum offload off on the userspace datapath).
    server, client = net.host("h3"), net.host("h1")
    server.cmd("iperf3 -s -1 -D -p 5201")
    lab.wait_for(lambda: "5201" in server.cmd("ss -ltn"), 10, "iperf3 server to listen")
    out = client.cmd(f"timeout 20 iperf3 -c {server.IP()} -p 5201 -t 2 -J")
    report = json.loads(out)
    mbps = report["end"]["sum_received"]["bits_per_second"] / 1e6
    print(f"iperf3 h1->h3 over linear,3: {mbps:.0f} Mbit/s")
    assert mbps > 1
    # Our cookie range marks the flows we installed (table-miss, LLDP, the h1<->h3 path).
    flows = subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", "s1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours = [ln for ln in flows.splitlines() if "cookie=0x5d" in ln]
    mac1, mac3 = client.MAC(), server.MAC()
    assert any(f"dl_src={mac1}" in ln and f"dl_dst={mac3}" in ln for ln in ours), ours
    log = ctl.log_text()
    assert "Traceback" not in log and "ImportError" not in log, log[-3000:]


def test_ryu_topology_lldp_discovery_with_rest_topology(lab_factory) -> None:
    ctl, _ = lab_factory(
        LinearTopo(3),
        apps=("ryu.app.simple_switch_13", "ryu.app.rest_topology"),
        extra_args=("--observe-links",),
    )
    url = f"http://127.0.0.1:{ctl.rest_port}/v1.0/topology/links"
    t0 = time.monotonic()
    links = lab.wait_for(
        lambda: (lk := _get_json(url)) and len(lk) == 4 and lk,
        30,
        "LLDP to discover the 4 directed links of linear,3",
    )
    print(f"\nryu.topology discovered {len(links)} directed links in {time.monotonic() - t0:.1f}s")
    assert "Traceback" not in ctl.log_text()


def test_teardown_leaves_nothing_behind(lab_factory) -> None:
    ctl, net = lab_factory(LinearTopo(2))
    pid, names = ctl.pid, [s.name for s in net.net.switches]
    host_pids = [h.pid for h in net.net.hosts]
    net.stop()
    ctl.stop()
    bridges = subprocess.run(
        ["ovs-vsctl", "list-br"], capture_output=True, text=True
    ).stdout.split()
    assert not set(names) & set(bridges)
    for p in [pid, *host_pids]:
        assert not lab._pid_alive(p), f"process {p} still alive"
    assert not lab.our_bridges(net.owner)


def test_demo_scripted_mode_exits_zero_and_cleans_up() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--scripted"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=lab.ROOT,
    )
    print(proc.stdout[-2000:])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0% loss" in proc.stdout
    assert "REST http://127.0.0.1:" in proc.stdout
    assert "*** web view: http://127.0.0.1:" in proc.stdout and "/ui/" in proc.stdout
    assert not lab.our_bridges()
