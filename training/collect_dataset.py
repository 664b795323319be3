"""Collect the link-cost dataset: Mininet scenarios on shaped links under iperf3 load.

    sudo .venv/bin/python -m training.collect_dataset [--scenarios 24] [--seconds 40]
        [--seed 1] [--out data/linkcost.csv]

Each scenario builds a topology whose switch links are shaped with htb (TCLink bw),
starts our controller (metric hop, no model), and runs a seeded random plan of iperf3
flows (TCP and UDP at various rates, overlapping, between random host pairs). Every
time the controller publishes new link features (each stats interval) the script
records, per directed link, the features and the link's measured one-way delay at the
*next* interval: the label is what the link will cost. Columns: data/README.md.
Bounded: every scenario stops after --seconds, every iperf3 has a -t.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.linkcost.features import FEATURE_NAMES
from testbed import lab
from topologies import build_topo

TOPOLOGIES = [
    "twopath,10",
    "twopath,5",
    "twopath,20",
    "ring,4,10,shaped=true",
    "linear,3,8,shaped=true",
    "twopath,15,3",
    "ring,5,6,shaped=true",
    "mesh,4,12,shaped=true",
]
COLUMNS = [
    "scenario",
    "topology",
    "t",
    "src",
    "dst",
    "capacity_bps",
    *FEATURE_NAMES,
    "latency_now_ms",
    "latency_ms",
]


@dataclass
class Flow:
    start: float
    duration: float
    src: str
    dst: str
    udp_mbps: float | None  # None: TCP as fast as it goes
    port: int


def plan(rng: random.Random, hosts: dict[str, str], seconds: float, bw_mbps: float) -> list[Flow]:
    """1 to 4 flows; most between hosts on different switches (so they load links)."""
    flows = []
    names = sorted(hosts)
    for i in range(rng.randint(1, 4)):
        src, dst = rng.sample(names, 2)
        for _ in range(10):
            if hosts[src] != hosts[dst] or rng.random() < 0.1:
                break
            src, dst = rng.sample(names, 2)
        start = rng.uniform(0, seconds * 0.6)
        duration = rng.uniform(5, max(6.0, seconds - start - 2))
        udp = None if rng.random() < 0.5 else round(bw_mbps * rng.uniform(0.1, 1.4), 2)
        flows.append(Flow(start, duration, src, dst, udp, 5201 + i))
    return sorted(flows, key=lambda f: f.start)


def run_scenario(
    index: int, spec: str, seconds: float, rng: random.Random, writer: Any, workdir: Path
) -> int:
    topo = build_topo(spec)
    bw = max(topo.shaped_capacities_bps().values()) / 1e6
    cfg = lab.write_controller_config(topo, workdir / f"s{index}.toml", metric="hop", model_path="")
    switches = set(topo.switches())
    attach = {}
    for a, b in topo.links():
        if a in switches and b not in switches:
            attach[b] = a
        elif b in switches and a not in switches:
            attach[a] = b
    flows = plan(rng, attach, seconds, bw)
    print(
        f"[collect] scenario {index}: {spec}, {len(flows)} flows: "
        + "; ".join(
            f"{f.src}->{f.dst} {'tcp' if f.udp_mbps is None else f'udp {f.udp_mbps}M'}"
            f" @{f.start:.0f}s for {f.duration:.0f}s"
            for f in flows
        ),
        flush=True,
    )
    with lab.lab(topo, config_file=cfg) as (ctl, net):
        net.wait_discovered(ctl)
        pids: list[tuple[Any, str]] = []
        for f in flows:  # servers first, one per flow, with a pidfile each
            server = net.host(f.dst)
            pidfile = workdir / f"iperf-s{index}-{f.port}.pid"
            server.cmd(f"iperf3 -s -1 -D -p {f.port} --pidfile {pidfile}")
            pids.append((server, str(pidfile)))
        try:
            rows = _record(index, spec, seconds, flows, ctl, net, writer)
        finally:
            for host, pid_path in pids:  # our iperf3 servers, by PID
                host.cmd(
                    f"test -f {pid_path} && kill $(cat {pid_path}) 2>/dev/null; rm -f {pid_path}"
                )
    print(f"[collect] scenario {index}: {rows} rows", flush=True)
    return rows


def _record(
    index: int, spec: str, seconds: float, flows: list[Flow], ctl: Any, net: Any, writer: Any
) -> int:
    """Run the traffic plan and write (features, next delay) rows until the time is up."""
    rows = 0
    t0 = time.monotonic()
    pending = list(flows)
    last_at: dict[tuple[str, str], float] = {}
    prev: dict[tuple[str, str], dict[str, Any]] = {}
    while time.monotonic() - t0 < seconds:
        now = time.monotonic() - t0
        while pending and pending[0].start <= now:
            f = pending.pop(0)
            client, server = net.host(f.src), net.host(f.dst)
            opts = f"-u -b {f.udp_mbps}M" if f.udp_mbps is not None else ""
            client.cmd(
                f"timeout {f.duration + 10:.0f} iperf3 -c {server.IP()} -p {f.port} "
                f"-t {f.duration:.0f} {opts} > /dev/null 2>&1 &"
            )
        try:
            links = lab.get_json(f"{ctl.rest_url}/v1/links", timeout=2)
        except (OSError, ValueError):
            links = []
        for lk in links:
            key = (lk["src"]["dpid"], lk["dst"]["dpid"])
            at = lk.get("features_at")
            if lk.get("features") is None or at is None or last_at.get(key) == at:
                continue
            last_at[key] = at
            before = prev.get(key)
            if before is not None and lk["latency_ms"] is not None:
                writer.writerow(
                    [
                        index,
                        spec,
                        round(before["t"], 2),
                        key[0],
                        key[1],
                        before["capacity_bps"],
                        *(before["features"][n] for n in FEATURE_NAMES),
                        before["latency_ms"],
                        lk["latency_ms"],
                    ]
                )
                rows += 1
            prev[key] = {
                "t": now,
                "capacity_bps": lk["capacity_bps"],
                "features": lk["features"],
                "latency_ms": lk["latency_ms"],
            }
        time.sleep(0.25)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="training.collect_dataset", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--scenarios", type=int, default=24)
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=lab.ROOT / "data" / "linkcost.csv")
    args = p.parse_args(argv)
    problems = lab.missing_prerequisites()
    if problems:
        print("cannot collect:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    t_start = time.monotonic()
    with open(args.out, "w", newline="") as fh, tempfile.TemporaryDirectory() as tmp:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(args.scenarios):
            spec = TOPOLOGIES[i % len(TOPOLOGIES)]
            total += run_scenario(i, spec, args.seconds, rng, writer, Path(tmp))
            fh.flush()
    print(
        f"[collect] {total} rows from {args.scenarios} scenarios in "
        f"{time.monotonic() - t_start:.0f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
