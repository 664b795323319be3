"""Collect the link-cost dataset: Mininet scenarios on shaped links under iperf3 load.

    sudo .venv/bin/python -m training.collect_dataset [--scenarios 56] [--seconds 40]
        [--seed 2] [--out data/linkcost.csv] [--resume]

Scenario i uses topology spec ``SPECS[i % len(SPECS)]`` (five families: twopath, ring,
linear, mesh, tree; one twopath with two capacities) at a capacity from ``CAPACITIES``
that rotates so every spec meets every capacity, and a queue limit drawn from
``QUEUES`` (a pfifo of that many packets under each link's htb class: shallow queues
fill, drop, and drain fast; 1000 is Linux's default). Each scenario starts our
controller (metric hop, no model) and runs a seeded random plan of 1 to 5 overlapping
iperf3 flows (TCP, or UDP at 10 % to 140 % of the link rate) between random host
pairs. Every time the controller publishes new link features (each stats interval) the
script records, per directed link, the features and the link's measured one-way delay
at the *next* interval: the label is what the link will cost. Columns: data/README.md.

Progress: one line per scenario (k of n, elapsed, rows so far, time left). A scenario's
rows are written when it completes; ``--resume`` keeps the scenarios already in --out
and runs the others (each scenario's plan depends only on --seed and its number, so a
resumed run collects what an uninterrupted one would). Bounded: every scenario stops
after --seconds, every iperf3 has a -t.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.linkcost.features import FEATURE_NAMES
from testbed import lab
from topologies import build_topo

SPECS = [
    "twopath,{bw}",
    "ring,4,{bw},shaped=true",
    "linear,3,{bw},shaped=true",
    "mesh,4,{bw},shaped=true",
    "tree,2,2,{bw},shaped=true",
    "ring,5,{bw},shaped=true",
    "twopath,{bw},3,{bw2}",
]
CAPACITIES = (5, 10, 15, 20, 30)  # Mbit/s
QUEUES = (1000, 100, 30)  # packets per link direction
COLUMNS = [
    "scenario",
    "topology",
    "family",
    "queue_packets",
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


def scenario_spec(index: int) -> str:
    """The topology spec of scenario ``index``: every spec meets every capacity."""
    template = SPECS[index % len(SPECS)]
    turn = index // len(SPECS)
    bw = CAPACITIES[(turn + index) % len(CAPACITIES)]
    bw2 = CAPACITIES[(turn + index + 2) % len(CAPACITIES)]
    return template.format(bw=bw, bw2=bw2)


def family(spec: str) -> str:
    return spec.split(",", 1)[0]


def scenario_rng(seed: int, index: int) -> random.Random:
    """Each scenario's own generator: its plan does not depend on the ones before."""
    return random.Random(seed * 1_000_003 + index)


def plan(rng: random.Random, hosts: dict[str, str], seconds: float, bw_mbps: float) -> list[Flow]:
    """1 to 5 flows; most between hosts on different switches (so they load links)."""
    flows = []
    names = sorted(hosts)
    for i in range(rng.randint(1, 5)):
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


def limit_queues(net: Any, packets: int) -> None:
    """A pfifo of ``packets`` under the htb class Mininet's TCLink made on every shaped
    switch interface (netem, which TCLink's max_queue_size needs, is missing here)."""
    if packets >= 1000:
        return  # Linux's default leaf queue: leave it
    for sw in net.net.switches:
        for intf in sw.intfList():
            if intf.name == "lo" or "-eth" not in intf.name:
                continue
            shown = subprocess.run(
                ["tc", "class", "show", "dev", intf.name], capture_output=True, text=True
            ).stdout
            if "5:1" not in shown:
                continue  # not shaped (a host link)
            subprocess.run(
                ["tc", "qdisc", "replace", "dev", intf.name, "parent", "5:1", "handle", "10:",
                 "pfifo", "limit", str(packets)],
                check=True, capture_output=True,
            )  # fmt: skip


def run_scenario(
    index: int, spec: str, seconds: float, rng: random.Random, writer: Any, workdir: Path
) -> int:
    topo = build_topo(spec)
    bw = max(topo.shaped_capacities_bps().values()) / 1e6
    queue = rng.choice(QUEUES)
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
        f"[collect] scenario {index}: {spec}, queue {queue} packets, {len(flows)} flows: "
        + "; ".join(
            f"{f.src}->{f.dst} {'tcp' if f.udp_mbps is None else f'udp {f.udp_mbps}M'}"
            f" @{f.start:.0f}s for {f.duration:.0f}s"
            for f in flows
        ),
        flush=True,
    )
    with lab.lab(topo, config_file=cfg) as (ctl, net):
        net.wait_discovered(ctl)
        limit_queues(net, queue)
        pids: list[tuple[Any, str]] = []
        for f in flows:  # servers first, one per flow, with a pidfile each
            server = net.host(f.dst)
            pidfile = workdir / f"iperf-s{index}-{f.port}.pid"
            server.cmd(f"iperf3 -s -1 -D -p {f.port} --pidfile {pidfile}")
            pids.append((server, str(pidfile)))
        try:
            rows = _record(index, spec, queue, seconds, flows, ctl, net, writer)
        finally:
            for host, pid_path in pids:  # our iperf3 servers, by PID
                host.cmd(
                    f"test -f {pid_path} && kill $(cat {pid_path}) 2>/dev/null; rm -f {pid_path}"
                )
    return rows


def _record(
    index: int,
    spec: str,
    queue: int,
    seconds: float,
    flows: list[Flow],
    ctl: Any,
    net: Any,
    writer: Any,
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
            if before is not None:  # the label: this snapshot's delay, as live quality uses
                writer.writerow(
                    [
                        index,
                        spec,
                        family(spec),
                        queue,
                        round(before["t"], 2),
                        key[0],
                        key[1],
                        before["capacity_bps"],
                        *(before["features"][n] for n in FEATURE_NAMES),
                        before["features"]["delay_ms"],
                        lk["features"]["delay_ms"],
                    ]
                )
                rows += 1
            prev[key] = {
                "t": now,
                "capacity_bps": lk["capacity_bps"],
                "features": lk["features"],
            }
        time.sleep(0.25)
    return rows


def completed_scenarios(path: Path) -> set[int]:
    """Scenario numbers already in a dataset file of our columns (for --resume)."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != COLUMNS:
            raise SystemExit(f"{path}: other columns than this collector writes; cannot resume")
        return {int(row[0]) for row in reader if row}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="training.collect_dataset", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--scenarios", type=int, default=56)
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--out", type=Path, default=lab.ROOT / "data" / "linkcost.csv")
    p.add_argument("--resume", action="store_true", help="keep the scenarios already in --out")
    args = p.parse_args(argv)
    problems = lab.missing_prerequisites()
    if problems:
        print("cannot collect:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    done = completed_scenarios(args.out) if args.resume else set()
    todo = [i for i in range(args.scenarios) if i not in done]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not done:
        with open(args.out, "w", newline="") as fh:
            csv.writer(fh).writerow(COLUMNS)
    elif todo:
        print(f"[collect] resuming: {len(done)} scenarios already in {args.out}", flush=True)
    total = 0
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for k, i in enumerate(todo, start=1):
            spec = scenario_spec(i)
            buffer = io.StringIO()
            rows = run_scenario(
                i, spec, args.seconds, scenario_rng(args.seed, i), csv.writer(buffer), Path(tmp)
            )
            with open(args.out, "a", newline="") as fh:  # a scenario lands whole or not at all
                fh.write(buffer.getvalue())
            total += rows
            elapsed = time.monotonic() - t_start
            left = elapsed / k * (len(todo) - k)
            print(
                f"[collect] scenario {i} ({k} of {len(todo)}): {rows} rows; {total} rows in "
                f"{elapsed:.0f} s, about {left:.0f} s left",
                flush=True,
            )
    print(
        f"[collect] {total} rows from {len(todo)} scenarios in "
        f"{time.monotonic() - t_start:.0f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
