"""When to move an installed pair to a cheaper path: margin, floor, hold-down, own load.

Pure decisions: the runtime asks, for one direction of one pair, whether the best path
now beats the current one by enough to be worth a move.

Fair comparison. A flow's own traffic makes its current path look busy: compared with an
idle alternative, every loaded path would look worse and the flow would bounce between
them. So both paths are priced *as if the pair's traffic were on them*: its own rate is
moved, in thought, off the current path's links and onto the candidate's (links on both
keep it), and each link is weighed from that load alone, its history normalized the same
way on both sides (under ``cost``, the model predicts each link again). Two
elephants on one path: the first to be evaluated sees the other path carry its own load
and still be cheaper, and moves; the second then sees its current path carry only itself
and the alternative carry the first plus itself, and stays.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from controller.config import Config
from controller.forwarding.plan import Direction, PairKey
from controller.forwarding.records import PairRecord
from controller.hosts.table import Host
from controller.routing.paths import NoPath, Path, Router

WhatIf = Callable[[int, int, float, float], float]
"""(src dpid, dst dpid, bit/s added, bit/s removed) -> the link's weight so loaded."""


@dataclass(frozen=True)
class Verdict:
    move: bool
    current: float
    candidate: float
    """The candidate's cost with the pair's own load on it."""


def links_of(path: Path) -> list[tuple[int, int]]:
    return list(itertools.pairwise(path.dpids))


def own_rate(current: Path, tx_bps: Callable[[int, int], float]) -> float:
    """Upper bound of the pair's own rate: the least tx rate on its current path."""
    rates = [tx_bps(u, v) for u, v in links_of(current)]
    return min(rates) if rates else 0.0


def judge(
    current: Path,
    candidate: Path,
    own_bps: float,
    what_if: WhatIf,
    margin: float,
    min_gain: float,
) -> Verdict:
    """Move when the candidate is cheaper than the current path by more than ``margin`` of
    it and by at least ``min_gain``, both priced alike with the pair's own load on them:
    on the current path it stays, onto the candidate it moves (when the rate is known)."""
    mine = set(links_of(current))
    if own_bps > 0:
        now = sum(what_if(u, v, own_bps, own_bps) for u, v in links_of(current))
        cost = sum(
            what_if(u, v, own_bps, own_bps if (u, v) in mine else 0.0)
            for u, v in links_of(candidate)
        )
    else:
        now, cost = current.total, candidate.total
    gain = now - cost
    move = candidate.dpids != current.dpids and gain >= min_gain and gain > margin * now
    return Verdict(move, now, cost)


def evaluate(
    record: PairRecord,
    router: Router,
    host_of: Callable[[str], Host | None],
    metric: str,
    config: Config,
    what_if: WhatIf,
    tx_bps: Callable[[int, int], float],
) -> list[tuple[Direction, Verdict]]:
    """Judge each direction of an installed pair: its current path (priced now) against
    the best one, both priced with the pair's own rate on them (measured from its ingress
    flow's counters, bounded by its path's least loaded link)."""
    verdicts: list[tuple[Direction, Verdict]] = []
    for d in Direction:
        src, dst = (host_of(m) for m in record.key.ends(d))
        if src is None or dst is None:
            return []
        try:
            current = router.path_of(record.paths[d].dpids, metric)
            best = router.shortest_path(src.dpid, dst.dpid, metric)
        except (NoPath, KeyError):
            continue  # a link of it is gone: failure rerouting's business
        # Its measured rate, never more than its path's least loaded link carried (flow and
        # port counters are sampled at different moments); unmeasured, that link bounds it.
        bound = own_rate(current, tx_bps)
        own = min(record.rate_bps.get(d, bound), bound)
        margin, gain = config.reoptimize_margin, config.reoptimize_min_gain
        verdicts.append((d, judge(current, best, own, what_if, margin, gain)))
    return verdicts


def describe_moves(
    key: PairKey,
    old: dict[Direction, Path],
    new: dict[Direction, Path],
    verdicts: list[tuple[Direction, Verdict]],
    reason: str,
) -> list[str]:
    """The log line of one move of a pair: each direction that moves, with its old and new
    path and both costs, in one line (no line when no path changed)."""
    judged = dict(verdicts)
    moves = []
    for d in Direction:
        if new[d].dpids == old[d].dpids:
            continue
        src, dst = key.ends(d)
        was, now = ("-".join(str(x) for x in p[d].dpids) for p in (old, new))
        v = judged.get(d)
        cost = f"cost {v.current:.3g} -> {v.candidate:.3g}" if v else "not judged"
        moves.append(f"{src} -> {dst} {was} -> {now}, {cost}")
    if not moves:
        return []
    return [f"move {key.a} <-> {key.b} ({reason}): {'; '.join(moves)} (costs with its own load)"]
