"""Leader election against a fake lease store: one leader at a time, generations that
only grow, fencing when the lease cannot be confirmed, and a clean hand-over."""

from __future__ import annotations

import random

import pytest

from controller.ha.election import Election, Role
from tests.ha_fakes import FakeStore

KEY = "/sdn/group/leader"


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def make(store: FakeStore, name: str, cut: set[str], ttl: int = 3) -> Election:
    return Election(store.client(name, cut), KEY, name, ttl, safety=1.0)


def run(store: FakeStore, elections: list[Election], until: float, step: float = 0.5) -> None:
    while store.now < until - 1e-9:
        store.now += step
        for e in elections:
            e.tick(store.now)


def test_the_first_instance_leads_and_the_second_follows(store: FakeStore) -> None:
    cut: set[str] = set()
    a, b = make(store, "a", cut), make(store, "b", cut)
    change = a.tick(0.0)
    assert change is not None and change.role is Role.LEADER and change.leader == "a"
    change_b = b.tick(0.0)
    assert change_b is not None and change_b.role is Role.STANDBY
    assert (b.state.leader, b.state.generation) == ("a", a.state.generation)
    run(store, [a, b], 30)
    assert a.is_leader and not b.is_leader  # keep-alives hold the lease


def test_a_dead_leader_is_replaced_within_the_ttl_with_a_higher_generation(
    store: FakeStore,
) -> None:
    cut: set[str] = set()
    a, b = make(store, "a", cut), make(store, "b", cut)
    run(store, [a, b], 5)
    first = a.state.generation
    assert first is not None
    killed_at = store.now
    taken = None
    while taken is None and store.now < killed_at + 10:
        store.now += 0.1
        change = b.tick(store.now)  # a no longer ticks: SIGKILL
        if change is not None and change.role is Role.LEADER:
            taken = store.now
    assert taken is not None and taken - killed_at <= 3 + 0.5 + 0.1
    assert b.state.generation is not None and b.state.generation > first


def test_a_partitioned_leader_steps_down_before_anyone_else_leads(store: FakeStore) -> None:
    cut: set[str] = set()
    a, b = make(store, "a", cut), make(store, "b", cut)
    run(store, [a, b], 5)
    cut.add("a")
    a_down = b_up = None
    t0 = store.now
    while store.now < t0 + 10:
        store.now += 0.1
        ca, cb = a.tick(store.now), b.tick(store.now)
        if ca is not None and ca.role is Role.STANDBY and a_down is None:
            a_down = store.now
            assert "not confirmed" in ca.reason
        if cb is not None and cb.role is Role.LEADER and b_up is None:
            b_up = store.now
        assert not (a.is_leader and b.is_leader), "two leaders at once"
    assert a_down is not None and b_up is not None and a_down < b_up
    assert not a.state.store_ok and "cut off" in a.state.last_error
    cut.clear()
    run(store, [a, b], store.now + 5)
    assert b.is_leader and not a.is_leader and a.state.leader == "b"  # no taking it back


def test_a_lost_lease_steps_down_and_a_new_term_has_a_new_generation(store: FakeStore) -> None:
    cut: set[str] = set()
    a = make(store, "a", cut)
    a.tick(0.0)
    first = a.state.generation
    store.now = 10.0  # a pause longer than the ttl: the lease expired in the store
    change = a.tick(store.now)
    assert change is not None and change.role is Role.STANDBY and change.reason == "lease lost"
    # The next tick takes a new lease and wins again (nobody else is there): a new
    # leadership, with a higher generation.
    change = a.tick(store.now + 0.5)
    assert change is not None and change.role is Role.LEADER
    assert a.state.generation is not None and first is not None and a.state.generation > first


def test_a_restarted_instance_does_not_take_its_old_key_for_its_own(store: FakeStore) -> None:
    cut: set[str] = set()
    old = make(store, "a", cut)
    old.tick(0.0)
    assert old.is_leader
    new = make(store, "a", cut)  # same id, new process: the old lease is still alive
    change = new.tick(0.5)
    assert change is not None and change.role is Role.STANDBY and not new.is_leader
    store.now = 4.0  # the old process is gone; its lease expires
    run(store, [new], 6.0)
    assert new.is_leader and new.state.generation != old.state.generation


def test_resign_hands_over_at_once(store: FakeStore) -> None:
    cut: set[str] = set()
    a, b = make(store, "a", cut), make(store, "b", cut)
    run(store, [a, b], 2)
    a.resign()
    assert not a.is_leader
    change = b.tick(store.now)
    assert change is not None and change.role is Role.LEADER


def test_random_failures_never_give_two_leaders_and_generations_grow(store: FakeStore) -> None:
    rng = random.Random(3)
    cut: set[str] = set()
    names = ["a", "b", "c"]
    elections = {n: make(store, n, cut) for n in names}
    alive = set(names)
    seen: list[int] = []
    for _ in range(4000):
        store.now += 0.1
        event = rng.random()
        if event < 0.004:
            cut ^= {rng.choice(names)}  # partition or heal one instance
        elif event < 0.006:
            alive ^= {rng.choice(names)}  # kill or revive (a revived one starts afresh)
            for n in names:
                if n not in alive:
                    elections[n] = make(store, n, cut)
        for n in sorted(alive):
            change = elections[n].tick(store.now)
            if change is not None and change.role is Role.LEADER:
                assert change.generation is not None
                assert not seen or change.generation > seen[-1], (seen, change)
                seen.append(change.generation)
        leaders = [n for n in alive if elections[n].is_leader]
        assert len(leaders) <= 1, (store.now, leaders)
    assert len(seen) >= 5  # the run did exercise hand-overs


def test_bad_parameters_are_refused(store: FakeStore) -> None:
    with pytest.raises(ValueError, match="ttl"):
        Election(store.client("a", set()), KEY, "a", ttl=1)
    with pytest.raises(ValueError, match="safety"):
        Election(store.client("a", set()), KEY, "a", ttl=3, safety=3)
