"""Benchmarks, each against a baseline measured in the same run: `make bench`.

    sudo .venv/bin/python -m scripts.bench [--quick] [--only NAME ...] [--out bench/results.json]

Rows (each with the machine and the exact command):
  path       path queries on 100 / 1,000 / 10,000-switch graphs (first after a weight
             change, repeated; p50/p99) and re-weighting every link after a stats round
  nn         NumPy network training time and test error vs scikit-learn's MLPRegressor on
             the shipped dataset; prediction time for 1,000 links
  flowsetup  flow setups/s and per-setup latency of this app vs ryu.app.simple_switch_13
             on the same emulated topology (testbed/ofemu.py), and their ratio
  discovery  time from emulated switches connecting to a complete graph (20/100/1,000)
  rest       path queries/s and p99 against a live controller on loopback
  failover   outage (ms) when a link is cut during a 10 ms ping (Mininet ring and fat-tree)

Everything is bounded in count and time. Targets are printed next to each figure with
the gap when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from controller.config import Config
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo
from controller.routing.paths import Router

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


class Results:
    def __init__(self, command: str) -> None:
        self.rows: list[dict[str, Any]] = []
        self.command = command

    def add(
        self,
        bench: str,
        name: str,
        value: float,
        unit: str,
        target: str = "",
        met: bool | None = None,
        **extra: Any,
    ) -> None:
        row = {
            "bench": bench,
            "name": name,
            "value": value,
            "unit": unit,
            "target": target,
            "met": met,
            "machine": machine(),
            "command": self.command,
            **extra,
        }
        self.rows.append(row)
        mark = "" if met is None else (" (target met)" if met else " (TARGET MISSED)")
        print(f"[bench] {bench}: {name} = {value:.4g} {unit}{mark}", flush=True)

    def markdown(self) -> str:
        lines = ["| bench | measurement | value | target | met |", "|---|---|---|---|---|"]
        for r in self.rows:
            met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
            lines.append(
                f"| {r['bench']} | {r['name']} | {r['value']:.4g} {r['unit']} | "
                f"{r['target']} | {met} |"
            )
        m = machine()
        lines.append(
            f"\nMachine: {m['cores']} cores, Python {m['python']}, {m['platform']}. "
            f"Command: `{self.command}`"
        )
        return "\n".join(lines)


# ----------------------------------------------------------------------------- path
def synthetic_graph(n: int, degree: int = 4, seed: int = 1) -> NetworkGraph:
    """A connected random regular graph of ``n`` switches in our NetworkGraph."""
    g = nx.random_regular_graph(degree, n, seed=seed)
    topo = NetworkGraph(Config(link_timeout=1e9, lldp_interval=1.0))
    ports: dict[int, int] = {}
    for node in g.nodes:
        topo.add_switch(node + 1, [PortInfo(p, speed_bps=10**9) for p in range(1, degree + 2)], 0.0)
    for u, v in g.edges:
        pu = ports[u] = ports.get(u, 1) + 1
        pv = ports[v] = ports.get(v, 1) + 1
        topo.link_seen(LinkKey(u + 1, pu, v + 1, pv), 1.0)
        topo.link_seen(LinkKey(v + 1, pv, u + 1, pu), 1.0)
    return topo


def bench_path(res: Results, quick: bool) -> None:
    sizes = [100, 1000] if quick else [100, 1000, 10000]
    for n in sizes:
        topo = synthetic_graph(n)
        router = Router(topo)
        rng = random.Random(n)
        pairs = [tuple(rng.sample(range(1, n + 1), 2)) for _ in range(200 if n < 10000 else 100)]
        router.shortest_path(1, n, "utilization")  # builds the arrays (timed on its own below)
        # Re-weight every link as after a stats round (utilization changes), then query.
        edges = list(topo.graph.edges(data=True))
        reweigh: list[float] = []
        first: list[float] = []
        repeated: list[float] = []
        baseline: list[float] = []  # networkx's own Dijkstra, as before the kept arrays
        for _round in range(5 if n < 10000 else 2):
            t0 = time.perf_counter()
            for u, v, _data in edges:
                topo.update_link(u, v, utilization=rng.random() * 0.9)
            reweigh.append(time.perf_counter() - t0)
            for a, b in pairs:
                for bucket in (first, repeated):  # once after the change, then again
                    t0 = time.perf_counter()
                    router.shortest_path(a, b, "utilization")
                    bucket.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                nx.single_source_dijkstra_path_length(
                    topo.graph.reverse(copy=False), b, weight="utilization"
                )
                baseline.append(time.perf_counter() - t0)
        p99 = pct(repeated, 99) * 1e3
        res.add("path", f"{n} switches: repeated path query p50", pct(repeated, 50) * 1e3, "ms")
        res.add(
            "path",
            f"{n} switches: repeated path query p99",
            p99,
            "ms",
            target="< 1 ms at 1,000 switches" if n == 1000 else "",
            met=(p99 < 1.0) if n == 1000 else None,
        )
        res.add(
            "path",
            f"{n} switches: first query after a weight change p50",
            pct(first, 50) * 1e3,
            "ms",
        )
        first_p99 = pct(first, 99) * 1e3
        res.add(
            "path",
            f"{n} switches: first query after a weight change p99",
            first_p99,
            "ms",
            target="< 5 ms at 10,000 switches" if n == 10000 else "",
            met=(first_p99 < 5.0) if n == 10000 else None,
        )
        res.add(
            "path",
            f"{n} switches: baseline: networkx Dijkstra for the same queries p50",
            pct(baseline, 50) * 1e3,
            "ms",
        )
        res.add(
            "path",
            f"{n} switches: first query after a weight change, speed-up over networkx (p50)",
            pct(baseline, 50) / pct(first, 50),
            "x",
        )
        res.add(
            "path", f"{n} switches: re-weight all {len(edges)} links", pct(reweigh, 50) * 1e3, "ms"
        )
        # Queries of random pairs for 3 s while a stats round re-weighs every link each
        # second (one thread: the round's own time is not in any query's latency).
        under: list[float] = []
        next_round = stop = time.perf_counter()
        stop += 3.0
        while (now := time.perf_counter()) < stop:
            if now >= next_round:
                for u, v, _data in edges:
                    topo.update_link(u, v, utilization=rng.random() * 0.9)
                next_round = now + 1.0
            a, b = rng.sample(range(1, n + 1), 2)  # any pair: mostly cache misses
            t0 = time.perf_counter()
            router.shortest_path(a, b, "utilization")
            under.append(time.perf_counter() - t0)
        res.add(
            "path",
            f"{n} switches: path query p99 while stats rounds re-weigh every link each second",
            pct(under, 99) * 1e3,
            "ms",
            queries=len(under),
            p50_ms=pct(under, 50) * 1e3,
        )
        # A change of structure: the arrays are rebuilt at the next query.
        u, v, data = edges[0]
        key = LinkKey(u, data["state"].src_port, v, data["state"].dst_port)
        topo.port_status(u, PortInfo(key.src_port, up=False, speed_bps=10**9), 2.0)
        t0 = time.perf_counter()
        router.shortest_path(pairs[0][0], pairs[0][1], "utilization")
        res.add("path", f"{n} switches: first query after a link went down (rebuild)",
                (time.perf_counter() - t0) * 1e3, "ms")  # fmt: skip


# ----------------------------------------------------------------------------- stats
def _reference_cost_round(service: Any, now: float) -> None:
    """The cost round one link at a time (``link_features`` per link, one re-weigh per
    link), as it ran before the arrays: the baseline of the ``stats`` rows."""
    from controller.linkcost.features import link_features, switch_overload_bps

    g, traffic = service.graph, service.traffic
    overload = {
        d: switch_overload_bps([t for p in g.ports(d) if (t := traffic.get(d, p)) is not None])
        for d in g.switches()
    }
    edges = [(u, v, data["state"]) for u, v, data in g.graph.edges(data=True)]
    rows, chosen = [], []
    for u, v, st in edges:
        ring_row = service.delays.rows.get((u, v))
        delays = []
        if ring_row is not None:
            values, valid = service.delays.last(np.array([ring_row]), 5)
            delays = [tuple(s) for s, ok in zip(values[0], valid[0], strict=True) if ok]
        feats = link_features(traffic.get(u, st.src_port), traffic.get(v, st.dst_port),
                              st.capacity_bps, overload[u], delays)  # fmt: skip
        if feats is not None:
            rows.append(feats)
            chosen.append((u, v))
    ms = service.model.predict_latency_ms(np.asarray(rows)) if rows else []
    for (u, v), feats, value in zip(chosen, rows, ms, strict=True):
        g.update_link(u, v, features=feats, features_at=now, predicted_cost=1.0 + float(value),
                      predicted_latency_ms=float(value), fallback_cost=None)  # fmt: skip


def bench_stats(res: Results, quick: bool) -> None:
    """One stats round at 1,000 switches (4,000 link directions, 10 Mbit/s: inside the
    shipped model's range, so every link is predicted), in process: the port-stats
    replies of every switch (rates, utilization re-weighs) and the cost round (features,
    one batch prediction, cost weights, the path arrays patched as the router's are).
    Baselines: the cost round one link at a time
    (as before the arrays), and one field re-weighed per link."""
    from controller.linkcost.service import LinkCostService
    from controller.routing.arrays import WeightArrays
    from controller.southbound.messages import PortCounters

    n = 300 if quick else 1000
    topo = synthetic_graph(n)
    for _, _, data in topo.graph.edges(data=True):
        data["state"].capacity_bps = 10_000_000
    service = LinkCostService(Config(link_timeout=1e9, lldp_interval=1.0), topo)
    arrays = WeightArrays(topo)  # as the app's router: path arrays kept in step by the round
    arrays.distances(topo.switches()[0], "cost", towards=False)
    rng = random.Random(5)
    edges = list(topo.graph.edges(data=True))
    totals: dict[tuple[int, int], list[int]] = {}
    counters_of: dict[int, list[PortCounters]] = {}

    def make_counters() -> None:  # outside the timed part: what a switch would send
        for d in topo.switches():
            counters_of[d] = []
            for p in topo.ports(d):
                c = totals.setdefault((d, p), [0, 0, 0, 0])
                step = rng.randrange(1, 600_000)  # up to ~4.8 Mbit/s
                c[0] += step
                c[1] += step
                c[2] += step // 1000 + 1
                c[3] += step // 1000 + 1
                counters_of[d].append(PortCounters(p, c[0], c[1], c[2], c[3]))

    def replies(now: float) -> float:
        t0 = time.perf_counter()
        for d, counters in counters_of.items():
            service.on_port_stats(d, counters, now)
        return time.perf_counter() - t0

    port_rounds, cost_rounds, reference, plain = [], [], [], []
    for r in range(10 if not quick else 5):
        for u, v, _data in edges:
            topo.update_link(u, v, latency_ms=rng.uniform(0.2, 5.0))
        now = 10.0 + r
        make_counters()
        port_rounds.append(replies(now))
        t0 = time.perf_counter()
        service.update_costs(now)
        cost_rounds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _reference_cost_round(service, now)
        reference.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for u, v, _data in edges:
            topo.update_link(u, v, utilization=rng.random() * 0.9)
        plain.append(time.perf_counter() - t0)
    warm = slice(3, None)  # rounds before rates, delays and features exist
    ports_ms = statistics.median(port_rounds[warm]) * 1e3
    costs_ms = statistics.median(cost_rounds[warm]) * 1e3
    ref_ms = statistics.median(reference[warm]) * 1e3
    big = n == 1000
    label = f"{n} switches, {len(edges)} link directions"
    res.add("stats", f"{label}: cost round (features, batch prediction, re-weighing)",
            costs_ms, "ms", target="< 10 ms at 4,000 links" if big else "",
            met=costs_ms < 10 if big else None, predicted=service.predicted_links)  # fmt: skip
    res.add("stats", f"{label}: baseline: the cost round one link at a time",
            ref_ms, "ms")  # fmt: skip
    res.add("stats", f"{label}: cost round speed-up over one link at a time",
            ref_ms / costs_ms, "x")  # fmt: skip
    res.add("stats", f"{label}: port-stats replies of every switch (rates, re-weighing)",
            ports_ms, "ms")  # fmt: skip
    res.add("stats", f"{label}: whole stats round", ports_ms + costs_ms, "ms")
    res.add("stats", f"{label}: baseline: one field re-weighed per link",
            statistics.median(plain[warm]) * 1e3, "ms")  # fmt: skip


# ----------------------------------------------------------------------------- nn
def bench_nn(res: Results, quick: bool) -> None:
    import contextlib

    from training import train_model

    data = ROOT / "data" / "linkcost.csv"
    x, y, s = train_model.load(data)
    train, val, test = train_model.split_by_scenario(x, y, s, 0)
    # Both networks train in this process, one after the other, on the same split and
    # with the same thread pools: one BLAS/OpenMP thread each. Matrices this small gain
    # little from a second thread, and on a 2-core machine shared with other work the
    # spinning threads made both times swing 2-3x from run to run.
    threads: dict[str, int] = {}
    limits: Any = contextlib.nullcontext()
    try:  # scikit-learn's thread pools loaded first, so that the limit covers them too
        import sklearn.neural_network  # noqa: F401
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn: no baseline either
        pass
    else:
        limits = threadpool_limits(1)
        threads = {Path(p["filepath"]).name: p["num_threads"] for p in threadpool_info()}
    with limits:
        t0 = time.perf_counter()
        net, _ = train_model.train_numpy(train, val, "log1p", 0)
        ours_s = time.perf_counter() - t0
        sk = train_model.train_sklearn(train, "log1p", 0)
    ours = train_model.scores(test.y, train_model.from_target(net.predict(test.x)[:, 0], "log1p"))
    res.add("nn", "NumPy network training time", ours_s, "s", threads=threads)
    res.add("nn", "NumPy network test RMSE", ours["rmse_ms"], "ms")
    res.add("nn", "NumPy network test R²", ours["r2"], "")
    if sk is not None:
        model, sk_s = sk
        theirs = train_model.scores(test.y, train_model.from_target(model.predict(test.x), "log1p"))
        res.add("nn", "MLPRegressor training time", sk_s, "s", threads=threads)
        res.add("nn", "MLPRegressor test RMSE", theirs["rmse_ms"], "ms")
        res.add("nn", "MLPRegressor test R²", theirs["r2"], "")
        res.add(
            "nn",
            "training speed-up vs MLPRegressor",
            sk_s / ours_s,
            "x",
            target=">= 1x at equal or better test error",
            met=sk_s >= ours_s and ours["rmse_ms"] <= theirs["rmse_ms"] * 1.02,
        )
    xs = np.repeat(test.x[:1], 1000, axis=0)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        net.predict(xs)
        times.append(time.perf_counter() - t0)
    res.add("nn", "predict 1,000 links p50", pct(times, 50) * 1e3, "ms")


# ----------------------------------------------------------------------------- failover
def _outage_once(
    spec: str, src: str, dst: str, workdir: Path
) -> tuple[float, list[int], list[int]]:
    """Cut the first link of src->dst's path during a 10 ms ping; (outage ms, paths)."""
    import re

    from testbed import lab
    from topologies import build_topo

    with lab.lab(build_topo(spec)) as (ctl, net):
        net.wait_discovered(ctl)
        if not net.ping(src, dst, count=3):
            raise RuntimeError(f"{src} cannot reach {dst} before the cut")
        a, b = net.host(src), net.host(dst)
        key = sorted([a.MAC(), b.MAC()])
        route = next(
            r for r in lab.get_json(f"{ctl.rest_url}/v1/routes") if sorted(r["hosts"]) == key
        )
        before = [int(h["dpid"], 16) for h in route["hops"]]
        names = {int(sw.dpid, 16): sw.name for sw in net.net.switches}
        cut = (
            (names[before[1]], names[before[2]])
            if len(before) > 2
            else (names[before[0]], names[before[1]])
        )
        log = workdir / f"ping-{spec}.log"
        pid = a.cmd(f"ping -i 0.01 -c 300 -W 1 {b.IP()} > {log} 2>&1 & echo $!").split()[-1]
        time.sleep(1.0)
        net.net.configLinkStatus(cut[0], cut[1], "down")
        lab.wait_for(lambda: not a.cmd(f"kill -0 {pid} 2>/dev/null && echo y").strip(), 20, "ping")
        m = re.search(r"(\d+) packets transmitted, (\d+) received", log.read_text())
        if not m:
            raise RuntimeError(f"no ping summary: {log.read_text()[-300:]}")
        lost = int(m.group(1)) - int(m.group(2))
        route = next(
            r for r in lab.get_json(f"{ctl.rest_url}/v1/routes") if sorted(r["hosts"]) == key
        )
        after = [int(h["dpid"], 16) for h in route["hops"]]
        return lost * 10.0, before, after


def bench_failover(res: Results, quick: bool) -> None:
    import tempfile

    trials = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        for spec, src, dst in (("ring,6", "h1", "h4"), ("fattree,4", "h1", "h16")):
            outages = []
            for _ in range(trials):
                ms, before, after = _outage_once(spec, src, dst, Path(tmp))
                outages.append(ms)
            res.add(
                "failover",
                f"{spec}: outage, link cut during 10 ms ping (median of {trials})",
                statistics.median(outages),
                "ms",
                target="< 100 ms",
                met=statistics.median(outages) < 100,
                trials=outages,
                path_before=before,
                path_after=after,
            )


def _two_elephants(workdir: Path, interval: float, seconds: int = 45) -> dict[str, Any]:
    """twopath,10 (shaped 10 Mbit/s): both pairs installed while idle (on the short path),
    then a TCP elephant h1->h3, and 5 s later h2->h4 for ``seconds``. Per-second rates."""
    import json

    from testbed import lab
    from topologies import build_topo

    topo = build_topo("twopath,10")
    cfg = lab.write_controller_config(
        topo, workdir / f"reopt-{interval}.toml", metric="cost", reoptimize_interval=interval
    )
    with lab.lab(topo, config_file=cfg) as (ctl, net):
        net.wait_discovered(ctl)
        h1, h2, h3, h4 = (net.host(n) for n in ("h1", "h2", "h3", "h4"))
        if not (net.ping("h1", "h3", count=2) and net.ping("h2", "h4", count=2)):
            raise RuntimeError("twopath: pairs cannot ping while idle")
        for server, port in ((h3, 5201), (h4, 5202)):
            server.cmd(f"iperf3 -s -1 -D -p {port} --pidfile {workdir}/{interval}-{port}.pid")
        lab.wait_for(lambda: "5202" in h4.cmd("ss -ltn"), 10, "iperf3 servers")
        logs = [workdir / f"e{i}-{interval}.json" for i in (1, 2)]
        h1.cmd(f"timeout 90 iperf3 -c {h3.IP()} -p 5201 -t {seconds + 6} -i 1 -J > {logs[0]} &")
        time.sleep(5.0)
        moves0 = lab.get_json(f"{ctl.rest_url}/v1/health")["counters"]["moves"]
        h2.cmd(f"timeout 90 iperf3 -c {h4.IP()} -p 5202 -t {seconds} -i 1 -J > {logs[1]} &")
        time.sleep(seconds)
        moves = lab.get_json(f"{ctl.rest_url}/v1/health")["counters"]["moves"] - moves0

        def finished() -> bool:
            return all(log.read_text().strip().endswith("}") for log in logs)

        lab.wait_for(finished, 30, "iperf3")
        rates = [
            [iv["sum"]["bits_per_second"] / 1e6 for iv in json.loads(p.read_text())["intervals"]]
            for p in logs
        ]
    both_at = next(
        (
            t + 1
            for t in range(len(rates[1]))
            if rates[1][t] >= 7.5 and t + 5 < len(rates[0]) and rates[0][t + 5] >= 7.5
        ),
        None,
    )
    steady = [statistics.mean(r[-20:]) for r in (rates[0][:-1], rates[1])]
    return {"both_at_s": both_at, "moves_per_min": moves * 60 / seconds, "steady": steady}


def bench_reoptimize(res: Results, quick: bool) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        ours = _two_elephants(Path(tmp), 5.0)
        base = _two_elephants(Path(tmp), 0.0)
    for label, r in (("re-optimization on", ours), ("baseline: off", base)):
        at = r["both_at_s"]
        res.add(
            "reoptimize",
            f"two elephants, {label}: both >= 75 % of 10 Mbit/s after the second starts",
            float(at) if at is not None else float("inf"),
            "s",
            target="<= 15 s" if label.startswith("re-") else "",
            met=(at is not None and at <= 15) if label.startswith("re-") else None,
        )
        res.add(
            "reoptimize",
            f"two elephants, {label}: route moves per minute (steady load)",
            r["moves_per_min"],
            "/min",
            target="<= 2 per pair (4 in all)" if label.startswith("re-") else "",
            met=r["moves_per_min"] <= 4 if label.startswith("re-") else None,
        )
        res.add(
            "reoptimize",
            f"two elephants, {label}: mean rate of the slower flow, last 20 s",
            min(r["steady"]),
            "Mbit/s",
        )


# ----------------------------------------------------------------------------- emulated
def _with_controller(
    apps: tuple[str, ...], fn: Callable[[Any], Any], extra_args: tuple[str, ...] = ()
) -> Any:
    """Run ``fn(controller)`` against a fresh ryu-manager (stopped by PID afterwards)."""
    import asyncio
    import tempfile

    from testbed import lab

    with tempfile.TemporaryDirectory() as tmp:
        ctl = lab.ControllerProcess(
            apps=apps, extra_args=extra_args, log_path=Path(tmp) / "ryu-manager.log"
        )
        ctl.start()
        try:
            return asyncio.run(fn(ctl))
        finally:
            ctl.stop()


OURS = ("controller/app.py",)
FLOWSETUP_ROUNDS = 3
SIMPLE_SWITCH = ("ryu.app.simple_switch_13",)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_discovery(res: Results, quick: bool) -> None:
    """Time from the first connection to the complete graph (GET /v1/health reports every
    switch and link), emulated random 4-regular networks with a host on every switch;
    at 1,000 switches the median of 3 runs. At 5,000 switches: complete or not, and the
    controller's memory per switch (resident set after discovery, less before)."""
    from testbed import ofemu
    from topologies import spec

    cases: list[tuple[str, Any, int, float]] = [
        ("fat-tree k=4 (20 switches)", ofemu.Topology.from_spec(spec.fattree(4), 1), 1, 60),
        ("100 switches (random 4-regular)",
         ofemu.Topology.from_spec(spec.random_regular(100), 1), 1, 60),
    ]  # fmt: skip
    if not quick:
        cases += [
            ("1,000 switches (random 4-regular)",
             ofemu.Topology.from_spec(spec.random_regular(1000), 1), 3, 60),
            ("5,000 switches (random 4-regular)",
             ofemu.Topology.from_spec(spec.random_regular(5000), 1), 1, 150),
        ]  # fmt: skip
    for name, topo, runs, timeout in cases:
        results = []
        for _ in range(runs):

            async def discover(c: Any, t: Any = topo, limit: float = timeout) -> Any:
                before = _rss_kib(c.pid)
                r = await ofemu.run_discovery(("127.0.0.1", c.of_port), t, c.rest_url, limit, c.pid)
                r["rss_kib"] = (before, _rss_kib(c.pid))
                return r

            results.append(_with_controller(OURS, discover))
        times = [r["discovered_s"] if r.get("discovered_s") is not None else float("inf")
                 for r in results]  # fmt: skip
        secs = statistics.median(times)
        big = name.startswith("1,000")
        res.add(
            "discovery",
            f"{name}: connect to complete graph" + (f", median of {runs}" if runs > 1 else ""),
            secs,
            "s",
            target="< 5 s at 1,000 switches" if big else "",
            met=secs < 5 if big else None,
            runs=times,
            handshake_s=[r.get("handshake_s") for r in results],
            error=[r.get("error") for r in results if r.get("error")],
        )
        if name.startswith("5,000"):
            before, after = results[0]["rss_kib"]
            res.add(
                "discovery",
                f"{name}: controller memory per switch",
                (after - before) / topo.n_switches,
                "KiB",
                rss_before_mib=round(before / 1024, 1),
                rss_after_mib=round(after / 1024, 1),
            )


def bench_idle(res: Results, quick: bool) -> None:
    """Controller CPU while it only polls: emulated switches connected, answering echo,
    LLDP and port-stats rounds, no host traffic; 100 switches as the baseline."""
    from testbed import ofemu
    from topologies import spec

    sizes = [100] if quick else [100, 1000]
    for n in sizes:
        topo = ofemu.Topology.from_spec(spec.random_regular(n), 1)

        def idle(c: Any, t: Any = topo) -> Any:
            return ofemu.run_idle(("127.0.0.1", c.of_port), t, 15.0, c.pid)

        r = _with_controller(OURS, idle)
        res.add(
            "idle",
            f"{n} switches (random 4-regular) idle-polled: controller CPU",
            100 * float(r.get("controller_cpu_util", float("nan"))),
            "% of a core",
            per_s=r.get("per_s"),
            handshake_s=r.get("handshake_s"),
        )


def bench_flowsetup(res: Results, quick: bool) -> None:
    from testbed import ofemu
    from topologies import spec

    pairs = 1000 if quick else 4000
    import asyncio

    tree = spec.tree(3, 2)  # depth 3, fanout 2: 7 switches (earlier rows said 15, wrongly)
    size = f"{len(tree.switches)}-switch tree"
    ceiling = asyncio.run(ofemu.ceiling(ofemu.Topology.from_spec(tree, 40), 20000, 20, 16))
    res.add(
        "flowsetup",
        "emulator ceiling (trivial responder)",
        float(ceiling.get("setups_per_s") or 0),
        "setups/s",
    )
    apps_of = {"this app": OURS, "simple_switch_13": SIMPLE_SWITCH}
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in apps_of}
    # Alternating runs (ours, theirs, ours, ...): a shared machine's speed drifts over a
    # minute, and a ratio of two runs far apart in time measures the drift too.
    for _round in range(FLOWSETUP_ROUNDS):
        for label, apps in apps_of.items():
            rest = label == "this app"

            def setups(c: Any, rest: bool = rest) -> Any:
                return ofemu.run_flowsetup(
                    ("127.0.0.1", c.of_port),
                    ofemu.Topology.from_spec(tree, 16),
                    pairs,
                    60,
                    rest_url=c.rest_url if rest else None,
                    window=16,
                    controller_pid=c.pid,
                )

            runs[label].append(_with_controller(apps, setups))

    def rate(r: dict[str, Any]) -> float:
        return float(r.get("setups_per_s") or 0)

    n = FLOWSETUP_ROUNDS
    for label in apps_of:
        by_rate = sorted(runs[label], key=rate)
        r = by_rate[len(by_rate) // 2]  # the median run's figures
        res.add(
            "flowsetup",
            f"{label}: flow setups/s ({size}, {pairs} new pairs), median of {n}",
            rate(r),
            "setups/s",
            runs=[rate(x) for x in runs[label]],
        )
        for what, key in (
            ("setup latency p50", "latency_ms_p50"),
            ("setup latency p99", "latency_ms_p99"),
            ("delivered end to end p50", "delivered_ms_p50"),
            ("delivered end to end p99", "delivered_ms_p99"),
        ):
            res.add("flowsetup", f"{label}: {what}", float(r.get(key) or float("nan")), "ms")
        for who in ("controller", "emulator"):  # which side is busy (at 100 %: the limit)
            util = r.get(f"{who}_cpu_util")
            if util is not None:
                res.add("flowsetup", f"{label}: {who} CPU during the setups", 100 * util,
                        "% of a core")  # fmt: skip
    pairs_of_runs = list(zip(runs["this app"], runs["simple_switch_13"], strict=True))
    ratios = sorted(rate(a) / max(rate(b), 1e-9) for a, b in pairs_of_runs)
    res.add(
        "flowsetup",
        f"ratio this app / simple_switch_13 (median of {n} back-to-back pairs of runs)",
        ratios[len(ratios) // 2],
        "x",
        target=">= 3x",
        met=ratios[len(ratios) // 2] >= 3,
        ratios=ratios,
    )
    tails = sorted(
        float(a.get("latency_ms_p99") or float("inf"))
        / max(float(b.get("latency_ms_p99") or 0), 1e-9)
        for a, b in pairs_of_runs
    )
    tail = tails[len(tails) // 2]
    res.add(
        "flowsetup",
        f"setup latency p99, this app / simple_switch_13 (median of {n} pairs of runs)",
        tail,
        "x",
        target="<= 1x (no worse tail)",
        met=tail <= 1,
        ratios=tails,
    )


def bench_rest(res: Results, quick: bool) -> None:
    """Path queries/s against a live controller that polls 100 emulated switches (stats
    rounds every second), 4 keep-alive clients; the same clients' ceiling against a
    trivial HTTP server in another process, while the emulator goes on running."""
    import http.client
    import re
    import shutil
    import socket
    import subprocess
    import tempfile
    import textwrap
    import threading

    from testbed import lab, ofemu
    from topologies import spec

    duration = 5.0 if quick else 10.0
    # The client's ceiling: a server that answers every request head with a fixed reply
    # (the size of a path query's, with Content-Type, Content-Length and Date), no work.
    trivial_http = textwrap.dedent(
        """
        import asyncio, sys
        from email.utils import formatdate
        port, size, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
        body = b'{"x": "' + b"a" * max(0, size - 9) + b'"}'
        def reply():
            return (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
                    b"Content-Length: %d\\r\\nDate: %s\\r\\n\\r\\n%s"
                    % (len(body), formatdate(usegmt=True).encode(), body))
        class Trivial(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport, self.buf = transport, b""
            def data_received(self, data):
                self.buf += data
                n = self.buf.count(b"\\r\\n\\r\\n")
                if n:
                    self.buf = self.buf[self.buf.rfind(b"\\r\\n\\r\\n") + 4:]
                    self.transport.write(reply() * n)
        async def main():
            await asyncio.get_running_loop().create_server(Trivial, "127.0.0.1", port)
            await asyncio.sleep(secs)
        asyncio.run(main())
        """
    )

    async def scenario(ctl: Any) -> dict[str, Any]:
        import asyncio

        topo = ofemu.Topology.from_spec(spec.random_regular(100), 1)
        emu = ofemu.Emulator(topo, ("127.0.0.1", ctl.of_port))
        await emu.start(30)
        try:
            await emu.wait_discovered(ctl.rest_url, 30)
            dpids = sorted(
                int(s["dpid"], 16)
                for s in (await ofemu.rest_get(f"{ctl.rest_url}/v1/topology"))["switches"]
            )
            out: dict[str, Any] = {}
            pairs = [(a, b) for a in dpids[:6] for b in dpids[-6:]]
            path_list = [f"/v1/paths/{a:x}/{b:x}?metric=hop" for a, b in pairs]
            for label, paths in (
                ("path", path_list),
                (
                    "path utilization",
                    [f"/v1/paths/{a:x}/{b:x}?metric=utilization" for a, b in pairs],
                ),
                ("health (baseline)", ["/v1/health"]),
            ):
                # The emulator's port counters move every stats round (1 s), so weights
                # under traffic-driven metrics change while the queries run.
                before = (await ofemu.rest_get(f"{ctl.rest_url}/v1/health"))["path_cache"]
                out[label] = await asyncio.to_thread(_hammer, ctl.rest_port, paths, duration)
                after = (await ofemu.rest_get(f"{ctl.rest_url}/v1/health"))["path_cache"]
                hits, misses = (after[k] - before[k] for k in ("hits", "misses"))
                out[label]["hit_rate"] = hits / max(1, hits + misses)
            if shutil.which("wrk"):  # the server's own figures, past the Python client
                for label, paths in (("wrk path", path_list), ("wrk health", ["/v1/health"])):
                    out[label] = await asyncio.to_thread(_wrk, ctl.rest_port, paths, duration)
            size = len(json.dumps(await ofemu.rest_get(ctl.rest_url + path_list[0])))
            out["ceiling"] = await _ceiling(path_list, size, _hammer)
            if shutil.which("wrk"):
                out["wrk ceiling"] = await _ceiling(path_list, size, _wrk)
            return out
        finally:
            await emu.stop()

    async def _ceiling(paths: list[str], size: int, client: Any) -> dict[str, Any]:
        import asyncio

        port = lab.free_tcp_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", trivial_http, str(port), str(size), str(duration + 30)
        )
        try:

            def listening() -> bool:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return False
                return True

            await asyncio.to_thread(lab.wait_for, listening, 10, "the trivial HTTP server")
            return dict(await asyncio.to_thread(client, port, paths, duration))
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

    def _hammer(port: int, paths: list[str], secs: float) -> dict[str, Any]:
        lat: list[float] = []
        errors = [0]
        stop = time.monotonic() + secs

        def worker(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            k = i
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                conn.request("GET", paths[k % len(paths)])
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[0] += 1
                lat.append(time.perf_counter() - t0)
                k += 1
            conn.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {
            "qps": len(lat) / (time.monotonic() - t0),
            "p50": pct(lat, 50) * 1e3,
            "p99": pct(lat, 99) * 1e3,
            "max": max(lat, default=0.0) * 1e3,
            "errors": errors[0],
        }

    def _wrk(port: int, paths: list[str], secs: float) -> dict[str, Any]:
        """wrk (C, one thread) with 4 keep-alive connections taking ``paths`` in turn."""
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "paths.lua"
            script.write_text(
                "local paths = {" + ", ".join(json.dumps(p) for p in paths) + "}\n"
                "local i = 0\n"
                "request = function()\n  i = i + 1\n"
                "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
            )
            cmd = ["wrk", "-t1", "-c4", f"-d{int(secs)}s", "--latency", "-s", str(script)]
            text = subprocess.run(
                [*cmd, f"http://127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=secs + 30,
                check=True,
            ).stdout
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
        unit = r"([\d.]+)(us|ms|s)"
        p99 = re.search(rf"^\s*99%\s+{unit}\s*$", text, re.M)
        top = re.search(rf"^\s*Latency\s+{unit}\s+{unit}\s+{unit}", text, re.M)
        qps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        sock = re.findall(r"(connect|read|write|timeout) (\d+)", text)
        assert p99 and qps and top, text
        return {
            "qps": float(qps.group(1)),
            "p99": float(p99.group(1)) * scale[p99.group(2)],
            "max": float(top.group(5)) * scale[top.group(6)],
            "errors": (int(bad.group(1)) if bad else 0) + sum(int(n) for _, n in sock),
        }

    r = _with_controller(OURS, scenario)
    path, base, ceiling = r["path"], r["health (baseline)"], r["ceiling"]
    res.add(
        "rest",
        "path queries/s (100 switches polled, 4 clients, keep-alive)",
        path["qps"],
        "q/s",
        target=">= 3,000 q/s",
        met=path["qps"] >= 3000,
        errors=path["errors"],
    )
    res.add(
        "rest",
        "path query p99",
        path["p99"],
        "ms",
        target="< 10 ms",
        met=path["p99"] < 10,
        max_ms=path["max"],
    )
    util = r["path utilization"]
    res.add(
        "rest",
        "path cache hit rate under live stats rounds, hop metric",
        100 * path["hit_rate"],
        "%",
        target=">= 99 % (stats rounds do not change hop weights)",
        met=path["hit_rate"] >= 0.99,
    )
    res.add(
        "rest",
        "path cache hit rate under live stats rounds, utilization metric (baseline)",
        100 * util["hit_rate"],
        "%",
    )
    res.add("rest", "baseline: /v1/health queries/s", base["qps"], "q/s")
    res.add("rest", "path / health throughput ratio", path["qps"] / base["qps"], "x")
    res.add(
        "rest",
        "client ceiling: the same 4 clients and paths against a trivial HTTP server "
        "(another process; emulator running)",
        ceiling["qps"],
        "q/s",
        p99_ms=ceiling["p99"],
        errors=ceiling["errors"],
    )
    res.add("rest", "path queries / client ceiling", path["qps"] / ceiling["qps"], "x")
    if "wrk path" not in r:
        print("[bench] rest: no wrk (scripts/setup.sh installs it): its rows left out")
        return
    wrk_path, wrk_base, wrk_ceiling = r["wrk path"], r["wrk health"], r["wrk ceiling"]
    res.add(
        "rest",
        "path queries/s, wrk (C load generator, 1 thread, 4 keep-alive connections, "
        "the same paths)",
        wrk_path["qps"],
        "q/s",
        target=">= 3,000 q/s",
        met=wrk_path["qps"] >= 3000,
        errors=wrk_path["errors"],
    )
    # wrk's histogram is corrected for coordinated omission: a reply that took t adds
    # the replies a fixed-rate client would have waited for meanwhile (t - i * interval),
    # so one stall weighs many times; not the plain per-request p99 of the row above.
    res.add(
        "rest",
        "path query p99, wrk (coordinated-omission corrected)",
        wrk_path["p99"],
        "ms",
        max_ms=wrk_path["max"],
    )
    res.add("rest", "baseline: /v1/health queries/s, wrk", wrk_base["qps"], "q/s")
    res.add(
        "rest",
        "wrk ceiling: the same wrk against the trivial HTTP server",
        wrk_ceiling["qps"],
        "q/s",
        p99_ms=wrk_ceiling["p99"],
        errors=wrk_ceiling["errors"],
    )


# ----------------------------------------------------------------------------- flood


def _flood_once(
    workdir: Path, rate: float, meters: bool, pps: int, seconds: float
) -> dict[str, Any]:
    """ring,4: flood from h1 at ``pps`` for ``seconds`` while polling /v1/health."""
    import urllib.request

    from testbed import lab
    from topologies import build_topo

    topo = build_topo("ring,4")
    cfg = lab.write_controller_config(
        topo, workdir / f"flood-{rate:g}-{meters}.toml", packet_in_rate=rate, miss_meters=meters
    )
    with lab.lab(topo, config_file=cfg) as (ctl, net):
        net.wait_discovered(ctl)
        links = lab.get_json(f"{ctl.rest_url}/v1/health")["links"]
        script = ROOT / "testbed" / "flooder.py"
        h1 = net.host("h1")
        before = lab.get_json(f"{ctl.rest_url}/v1/health")["counters"]
        dropped_before = sum(d for _, d in lab.meter_stats("s1").values())
        h1.cmd(f"python3 {script} h1-eth0 {pps} {seconds} > {workdir}/flood.out 2>&1 &")
        latencies, min_links, t0 = [], links, time.monotonic()
        while time.monotonic() - t0 < seconds + 2:
            t = time.monotonic()
            try:
                with urllib.request.urlopen(f"{ctl.rest_url}/v1/health", timeout=5) as r:
                    health = json.loads(r.read())
                latencies.append(time.monotonic() - t)
                min_links = min(min_links, health["links"])
            except OSError:
                latencies.append(5.0)
            time.sleep(0.2)
        after = lab.get_json(f"{ctl.rest_url}/v1/health")["counters"]
        dropped = sum(d for _, d in lab.meter_stats("s1").values()) - dropped_before
        sent = (workdir / "flood.out").read_text().split()
        return {
            "links": links,
            "min_links": min_links,
            "max_health_s": max(latencies),
            "p50_health_s": statistics.median(latencies),
            "sent": int(sent[0]) if sent else 0,
            "packet_ins": after["packet_ins"] - before["packet_ins"],
            "dropped_in_switch": dropped,
            "rate_limited": after.get("rate_limited", 0) - before.get("rate_limited", 0),
            "pingable": net.ping("h2", "h3", count=2),
        }


def bench_flood(res: Results, quick: bool) -> None:
    import tempfile

    pps, seconds = 10_000, 5.0 if quick else 10.0
    with tempfile.TemporaryDirectory() as tmp:
        for label, rate, meters in (
            ("defaults: packet_in_rate 200, miss_meters", 200.0, True),
            ("packet_in_rate 200, no meters", 200.0, False),
            ("no limit, no meters", 1e9, False),
        ):
            r = _flood_once(Path(tmp), rate, meters, pps, seconds)
            extra = {k: v for k, v in r.items() if k not in ("min_links", "max_health_s")}
            limited = rate < 1e9  # the last one is the baseline: no target
            res.add(
                "flood",
                f"ring,4, {pps} frames/s from h1 for {seconds:g} s, {label}: fewest links",
                r["min_links"],
                "links",
                target=f"= {r['links']} (none dropped)" if limited else "",
                met=r["min_links"] == r["links"] if limited else None,
                **extra,
            )
            res.add(
                "flood",
                f"ring,4, {pps} frames/s from h1 for {seconds:g} s, {label}: slowest /v1/health",
                r["max_health_s"],
                "s",
                target="< 1 s" if limited else "",
                met=r["max_health_s"] < 1.0 if limited else None,
                **extra,
            )
            res.add(
                "flood",
                f"ring,4, {pps} frames/s from h1 for {seconds:g} s, {label}: packet-ins received",
                r["packet_ins"] / r["sent"] if r["sent"] else 0.0,
                "x frames sent",
                **extra,
            )


# ----------------------------------------------------------------------------- web view
def _timed_gets(url: str, n: int) -> list[float]:
    """Wall time (s) of ``n`` sequential GETs of ``url`` on one keep-alive connection."""
    import http.client
    import urllib.parse

    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=10)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("GET", u.path)
        resp = conn.getresponse()
        resp.read()
        times.append(time.perf_counter() - t0)
        if resp.status != 200:
            raise RuntimeError(f"GET {url}: HTTP {resp.status}")
    conn.close()
    return times


def _first_renders(rest_url: str, runs: int) -> dict[str, Any]:
    """Load the web view ``runs`` times in headless Chromium: the page's own first-render
    time (performance.now() when the topology was first drawn), and, as the baseline, the
    browser's time to load /v1/topology as a bare document (the data the page draws)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from testbed.browser import chromium

    renders, settled, loads, drawn = [], [], [], None
    errors: list[Any] = []
    with chromium() as driver:
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(f"{rest_url}/ui/")
            WebDriverWait(driver, 20).until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-first-render-ms")
            )
            WebDriverWait(driver, 20).until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute(
                    "data-layout-settled-ms"
                )
            )
            body = driver.find_element(By.TAG_NAME, "body")
            renders.append(float(body.get_attribute("data-first-render-ms") or "nan"))
            settled.append(float(body.get_attribute("data-layout-settled-ms") or "nan"))
            drawn = driver.execute_script(
                "return Object.fromEntries(['switches', 'links', 'hosts'].map((k) => "
                "[k, Number(document.getElementById('count-' + k).dataset.count)]))"
            )
            errors += [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
            driver.get("about:blank")
            driver.get(f"{rest_url}/v1/topology")
            loads.append(
                driver.execute_script(
                    "return performance.getEntriesByType('navigation')[0].duration"
                )
            )
            driver.get_log("browser")  # the bare document's own (favicon) entries: not the page's
    return {"render_ms": renders, "settled_ms": settled, "topology_doc_ms": loads,
            "drawn": drawn, "errors": errors}  # fmt: skip


def bench_web(res: Results, quick: bool) -> None:
    """The web view: page weight, first render at 100 switches, /metrics at 1,000 links."""
    import asyncio

    from controller.northbound.web import StaticSite
    from testbed import ofemu
    from topologies import spec

    site = StaticSite()
    res.add(
        "web",
        "page weight (every file the view loads, uncompressed)",
        site.weight() / 1024,
        "KiB",
        files=sorted(site.files),
    )
    runs, scrapes = (2, 10) if quick else (5, 30)

    def with_topology(n_switches: int, work: Callable[[Any], Any]) -> Any:
        async def scenario(ctl: Any) -> Any:
            topo = ofemu.Topology.from_spec(spec.random_regular(n_switches), 1)
            emu = ofemu.Emulator(topo, ("127.0.0.1", ctl.of_port))
            await emu.start(60)
            try:
                await emu.wait_discovered(ctl.rest_url, 90)
                return await asyncio.to_thread(work, ctl)
            finally:
                await emu.stop()

        return _with_controller(OURS, scenario)

    r = with_topology(100, lambda ctl: _first_renders(ctl.rest_url, runs))
    render = statistics.median(r["render_ms"])
    res.add(
        "web",
        "first render of the view, 100 switches (emulated), headless Chromium, median",
        render,
        "ms",
        target="< 1,000 ms",
        met=render < 1000 and not r["errors"],
        runs=r["render_ms"],
        drawn=r["drawn"],
        console_errors=r["errors"],
    )
    res.add(
        "web",
        "layout settled (force pass done), 100 switches, median",
        statistics.median(r["settled_ms"]),
        "ms",
        runs=r["settled_ms"],
    )
    base = statistics.median(r["topology_doc_ms"])
    res.add("web", "baseline: Chromium loads /v1/topology as a bare document", base, "ms",
            runs=r["topology_doc_ms"])  # fmt: skip

    def scrape(ctl: Any) -> dict[str, Any]:
        links = lab_get(f"{ctl.rest_url}/v1/health")["links"]
        return {
            "links": links,
            "metrics": _timed_gets(f"{ctl.rest_url}/metrics", scrapes),
            "links_json": _timed_gets(f"{ctl.rest_url}/v1/links", scrapes),
        }

    s = with_topology(250, scrape)  # random 4-regular: 500 cables, 1,000 link directions
    p50 = pct(s["metrics"], 50) * 1e3
    res.add(
        "web",
        f"/metrics scrape at {s['links']} link directions, median of {scrapes}",
        p50,
        "ms",
        target="< 50 ms",
        met=p50 < 50,
        p99_ms=pct(s["metrics"], 99) * 1e3,
    )
    res.add(
        "web",
        f"baseline: GET /v1/links (the same links as JSON), median of {scrapes}",
        pct(s["links_json"], 50) * 1e3,
        "ms",
    )


def lab_get(url: str) -> Any:
    from testbed import lab

    return lab.get_json(url)


# ----------------------------------------------------------------------------- HA
def _has_role(group: Any, ctl: Any, role: str) -> bool:
    return bool(group.role(ctl) == role)


def _pings(net: Any, src: str, dst: str) -> bool:
    return bool(net.ping(src, dst, count=1, timeout_s=1))


def bench_ha(res: Results, quick: bool) -> None:
    """Takeover in a controller group (etcd, two instances, ring,6 on Mininet): SIGKILL
    the leader; time until the standby leads and until a new host pair pings. The killed
    instance is started again (it rejoins as a standby) and the next round kills the new
    leader. Baseline: one instance restarted in place (the same kill, then a new process
    on the same ports), the best a single controller can do."""
    import itertools
    import tempfile
    from functools import partial

    from testbed import lab
    from testbed.ha import ha_lab
    from topologies import build_topo

    rounds = 1 if quick else 3
    ttl = 3
    topo = build_topo("ring,6")
    pairs = iter(itertools.combinations([f"h{i}" for i in range(1, 7)], 2))
    leads, serves, restarts = [], [], []
    with (
        tempfile.TemporaryDirectory(prefix="sdn-bench-ha-") as tmp,
        ha_lab(topo, Path(tmp), instances=2, lease_ttl=ttl) as g,
    ):
        leader = g.leader()
        assert leader is not None
        g.net.wait_discovered(leader)
        for _ in range(rounds):
            leader = lab.wait_for(g.leader, 3 * ttl + 10, "a leader")
            standby = next(c for c in g.controllers if c is not leader)
            src, dst = next(pairs)
            t0 = time.monotonic()
            g.kill(leader)
            lab.wait_for(partial(_has_role, g, standby, "leader"), 3 * ttl + 10, "takeover")
            leads.append(time.monotonic() - t0)
            lab.wait_for(partial(_pings, g.net, src, dst), 3 * ttl + 20, "a new pair")
            serves.append(time.monotonic() - t0)
            leader.start()  # back as a standby
            lab.wait_for(partial(_has_role, g, leader, "standby"), 3 * ttl + 10, "rejoin")
            g.net.wait_discovered(standby, timeout=30)
    # Baseline, on a lab of its own: the same crash of a lone controller, restarted at once.
    with lab.lab(topo) as (ctl, net):
        net.wait_discovered(ctl)
        for _ in range(rounds):
            src, dst = next(pairs)
            t0 = time.monotonic()
            ctl.restart()
            lab.wait_for(partial(_pings, net, src, dst), 60, "a new pair after the restart")
            restarts.append(time.monotonic() - t0)
    lead, serve = statistics.median(leads), statistics.median(serves)
    res.add("ha", f"takeover: leader killed -> standby leads (lease ttl {ttl} s), median of "
            f"{rounds}", lead, "s", target=f"<= ttl + 2 s = {ttl + 2} s", met=lead <= ttl + 2,
            runs=leads)  # fmt: skip
    res.add("ha", f"takeover: leader killed -> a new pair pings, median of {rounds}", serve, "s",
            target=f"<= ttl + 5 s = {ttl + 5} s", met=serve <= ttl + 5, runs=serves)  # fmt: skip
    res.add("ha", "baseline: one controller restarted in place -> a new pair pings, median",
            statistics.median(restarts), "s", runs=restarts)  # fmt: skip


# ----------------------------------------------------------------------------- registry
BENCHES: dict[str, Callable[[Results, bool], None]] = {
    "path": bench_path,
    "stats": bench_stats,
    "nn": bench_nn,
    "failover": bench_failover,
    "reoptimize": bench_reoptimize,
    "discovery": bench_discovery,
    "idle": bench_idle,
    "flowsetup": bench_flowsetup,
    "rest": bench_rest,
    "flood": bench_flood,
    "web": bench_web,
    "ha": bench_ha,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--only", nargs="*", choices=sorted(BENCHES), default=None)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = p.parse_args(argv)
    command = "python -m scripts.bench " + " ".join(sys.argv[1:] if argv is None else argv)
    res = Results(command.strip())
    t0 = time.monotonic()
    failed = []
    for name in args.only or list(BENCHES):
        try:
            BENCHES[name](res, args.quick)
        except Exception as exc:  # one failing bench must not hide the others' figures
            print(f"[bench] {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "command": res.command,
                "seconds": time.monotonic() - t0,
                "rows": res.rows,
                "failed": failed,
            },
            indent=2,
        )
        + "\n"
    )
    print(res.markdown())
    print(f"\n[bench] {len(res.rows)} rows in {time.monotonic() - t0:.0f}s -> {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
