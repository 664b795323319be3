"""Port-stats polling on a network with more switches than the request budget: each
round asks the next share, every switch once per sweep; counters stay fresh a sweep."""

from __future__ import annotations

from collections import Counter

from controller.config import Config
from controller.southbound.messages import PortStatsRequest
from tests.fakes import FakeNetwork
from topologies import spec


def requested(net: FakeNetwork) -> list[int]:
    return [m.dpid for m in net.core.linkcost.stats_requests() if isinstance(m, PortStatsRequest)]


def test_under_the_budget_every_switch_every_round() -> None:
    net = FakeNetwork(spec.ring(6).to_networkx())
    net.discover()
    assert sorted(requested(net)) == [1, 2, 3, 4, 5, 6]
    lc = net.core.linkcost
    assert lc.stats_period == 1 and lc.fresh_s() == 2 * lc.config.stats_interval


def test_over_the_budget_a_share_per_round_and_every_switch_once_per_sweep() -> None:
    net = FakeNetwork(spec.ring(7).to_networkx(), config=Config(stats_max_requests_per_s=3.0))
    net.discover()
    lc = net.core.linkcost
    seen: Counter[int] = Counter()
    first = requested(net)
    assert len(first) == 3 and lc.stats_period == 3  # 7 switches, 3 a round
    seen.update(first)
    for _ in range(lc.stats_period - 1):
        share = requested(net)
        assert len(share) <= 3
        seen.update(share)
    assert set(seen) == set(range(1, 8)) and max(seen.values()) <= 2
    assert lc.fresh_s() == 2 * lc.config.stats_interval * 3
