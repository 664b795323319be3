"""The main job: controller + Mininet topology, connectivity proof, then run until Ctrl-C.

    sudo .venv/bin/python -m scripts.demo [--topo SPEC] [--scripted] [--cli]

Starts Open vSwitch if needed, ``ryu-manager controller/app.py`` on loopback, and the
topology; proves connectivity (every host pair pings); prints where the controller
listens. ``--scripted`` exits after the demonstration (status 0 only if everything
worked); otherwise it keeps running until Ctrl-C. Everything it started is stopped
on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from controller.southbound.messages import PAIR_MASK
from testbed import lab
from topologies import build_topo

DEFAULT_TOPO = "ring,6"


def show_sample_path(ctl: lab.ControllerProcess, net: lab.LabNetwork) -> bool:
    """Print the installed path of a sample host pair, from REST and from the switches."""
    import subprocess

    first, last = net.net.hosts[0], net.net.hosts[len(net.net.hosts) // 2]
    key = sorted((first.MAC(), last.MAC()))
    routes = lab.get_json(f"{ctl.rest_url}/v1/routes")
    route = next((r for r in routes if sorted(r["hosts"]) == key), None)
    if route is None:
        print(f"*** no route installed for {first.name} <-> {last.name}", file=sys.stderr)
        return False
    hops = route["hops"] if route["hosts"][0] == first.MAC() else route["hops"][::-1]
    print(
        f"*** path {first.name} ({first.IP()}) -> {last.name} ({last.IP()}), metric "
        f"{route['metric']}, cost {route['total_cost']:g}, cookie {route['cookie']}:"
    )
    for h in hops:
        print(f"      switch {h['dpid']}  in_port {h['in_port']:>2} -> out_port {h['out_port']:>2}")
    print(f"    from REST: curl -s {ctl.rest_url}/v1/routes")
    print("    flows on the switches (ovs-ofctl dump-flows, this pair's cookie):")
    by_dpid = {int(sw.dpid, 16): sw.name for sw in net.net.switches}
    shown = 0
    for h in hops:
        name = by_dpid[int(h["dpid"], 16)]
        out = subprocess.run(
            [
                "ovs-ofctl",
                "-O",
                "OpenFlow13",
                "dump-flows",
                name,
                f"cookie={route['cookie']}/{PAIR_MASK:#x}",
            ],
            capture_output=True,
            text=True,
        ).stdout
        for line in out.splitlines():
            if f"dl_src={first.MAC()}" in line:
                match = line[line.index("priority=") :]
                print(f"      {name}: {match}")
                shown += 1
    if shown != len(hops):
        print(f"*** {shown} of {len(hops)} switches hold the pair's flow", file=sys.stderr)
        return False
    return True


def _preferred_port(port: int) -> int:
    """``port`` if nothing listens on it, else 0 (pick a free one)."""
    return 0 if lab.port_open("127.0.0.1", port) else port


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--topo",
        default=DEFAULT_TOPO,
        help=f"topology spec, e.g. linear,4 ring,6 fattree,4 (default {DEFAULT_TOPO})",
    )
    parser.add_argument(
        "--scripted",
        action="store_true",
        help="exit after the demonstration; non-zero status if anything failed",
    )
    parser.add_argument(
        "--cli", action="store_true", help="open the Mininet CLI instead of waiting"
    )
    parser.add_argument(
        "--of-port",
        type=int,
        default=0,
        help="OpenFlow port (default 6653 if free, else any free port)",
    )
    parser.add_argument(
        "--rest-port",
        type=int,
        default=0,
        help="REST port (default 8080 if free, else any free port)",
    )
    parser.add_argument(
        "--ha",
        type=int,
        default=0,
        metavar="N",
        help="high availability: etcd and N controller instances in one group (N >= 2); "
        "every switch connects to all of them",
    )
    args = parser.parse_args(argv)
    if args.ha == 1 or args.ha < 0 or args.ha > 5:
        parser.error("--ha takes 2 to 5 instances")

    problems = lab.missing_prerequisites()
    if problems:
        print("cannot run the demo:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    try:
        topo = build_topo(args.topo)
    except (ValueError, TypeError) as exc:
        print(f"bad --topo: {exc}", file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)  # the terminal went away: clean up too
    if args.ha:
        return run_group(topo, args.ha, args.scripted)
    failures: list[str] = []
    stack = contextlib.ExitStack()
    try:
        of_port = args.of_port or _preferred_port(6653)
        rest_port = args.rest_port or _preferred_port(8080)
        # Tell the controller the real capacity of shaped links (their veths say 10 Gbit/s).
        cfg_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="sdn-demo-"))
        cfg = lab.write_controller_config(topo, Path(cfg_dir) / "controller.toml")
        with lab.lab(topo, of_port=of_port, rest_port=rest_port, config_file=cfg) as (ctl, net):
            net.wait_discovered(ctl)
            t0 = time.monotonic()
            sent, lost = net.pingall()
            loss = 100.0 * lost / sent if sent else 0.0
            print(
                f"*** pingall: {sent} pings, {lost} lost ({loss:.0f}% loss) "
                f"in {time.monotonic() - t0:.1f}s"
            )
            if lost:
                failures.append(f"pingall lost {lost}/{sent}")
            if not show_sample_path(ctl, net):
                failures.append("no path installed for the sample pair")
            print(
                f"*** controller: OpenFlow tcp:127.0.0.1:{ctl.of_port}, "
                f"REST http://127.0.0.1:{ctl.rest_port}/v1/, pid {ctl.pid}, log {ctl.log_path}"
            )
            print(
                f"*** web view: http://127.0.0.1:{ctl.rest_port}/ui/  "
                f"(Prometheus metrics: http://127.0.0.1:{ctl.rest_port}/metrics)"
            )
            if not ctl.alive():
                failures.append("ryu-manager died")
            if not args.scripted:
                if args.cli:
                    from mininet.cli import CLI

                    CLI(net.net)
                else:
                    print("*** running; press Ctrl-C to stop and clean up")
                    while ctl.alive():
                        time.sleep(1)
                    failures.append("ryu-manager exited")
                    print(ctl.log_tail(), file=sys.stderr)
    except KeyboardInterrupt:
        print("\n*** interrupted; cleaned up")
    except lab.LabError as exc:
        print(f"*** FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close()
    if failures:
        print("*** FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("*** OK")
    return 0


def run_group(topo: object, instances: int, scripted: bool) -> int:
    """``--ha N``: etcd, N instances, the topology; the leader proves connectivity."""
    from testbed.ha import ha_lab

    try:
        with (
            tempfile.TemporaryDirectory(prefix="sdn-ha-") as workdir,
            ha_lab(topo, Path(workdir), instances=instances) as group,
        ):
            leader = group.leader()
            if leader is None:
                raise lab.LabError("no leader")
            group.net.wait_discovered(leader)
            sent, lost = group.net.pingall()
            print(f"*** pingall through the leader: {sent} pings, {lost} lost")
            print(f"*** etcd {group.etcd.endpoint} (data in {workdir}, stopped at exit)")
            for ctl in group.controllers:
                ha = (ctl.health() or {}).get("ha") or {}
                print(
                    f"*** instance {ha.get('instance')}: {ha.get('role')}, OpenFlow "
                    f"tcp:127.0.0.1:{ctl.of_port}, REST {ctl.rest_url}/v1/health, web view "
                    f"{ctl.rest_url}/ui/, pid {ctl.pid}, log {ctl.log_path}"
                )
            print(f"*** switch roles by controller port: {group.switch_roles()}")
            if lost:
                print(f"*** FAILED: pingall lost {lost}/{sent}", file=sys.stderr)
                return 1
            if not scripted:
                print("*** running; kill the leader (kill -9 PID) to see a standby take over; "
                      "Ctrl-C stops and cleans up")  # fmt: skip
                while any(c.alive() for c in group.controllers):
                    time.sleep(1)
    except KeyboardInterrupt:
        print("\n*** interrupted; cleaned up")
    except lab.LabError as exc:
        print(f"*** FAILED: {exc}", file=sys.stderr)
        return 1
    print("*** OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
