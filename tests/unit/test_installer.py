"""Installer: stages in order, each confirmed by the right barrier reply; timeouts, superseding."""

from __future__ import annotations

import pytest

from controller.forwarding.installer import Installer, JobResult, SendStage
from controller.southbound.messages import FlowAdd, InstallJob, Match, Stage

T0 = 50.0


def flow(dpid: int, port: int) -> FlowAdd:
    return FlowAdd(dpid, Match(in_port=port), out_port=port + 1, priority=100, cookie=7)


def job(name: str, *dpids: int) -> InstallJob:
    return InstallJob(name, tuple(Stage(d, (flow(d, i),)) for i, d in enumerate(dpids, 1)))


def run_to_end(inst: Installer, first: list[SendStage], now: float = T0) -> list[SendStage]:
    """Answer every barrier as it is asked for; the stages in the order they were sent."""
    sent = list(first)
    pending = list(first)
    while pending:
        st = pending.pop(0)
        nxt, _ = inst.on_barrier_reply(st.dpid, st.barrier_xid, now)
        sent += nxt
        pending += nxt
    return sent


def test_stages_are_sent_one_at_a_time_in_order() -> None:
    inst = Installer(barrier_timeout=2.0)
    j = job("p", 3, 2, 1)
    stages, results = inst.start(j, T0)
    assert results == []
    assert [s.dpid for s in stages] == [3]
    assert stages[0].messages == j.stages[0].messages
    assert inst.running() == ["p"]

    stages2, results = inst.on_barrier_reply(3, stages[0].barrier_xid, T0 + 0.1)
    assert results == [] and [s.dpid for s in stages2] == [2]
    stages3, results = inst.on_barrier_reply(2, stages2[0].barrier_xid, T0 + 0.2)
    assert results == [] and [s.dpid for s in stages3] == [1]
    assert stages3[0].messages == j.stages[2].messages
    done, results = inst.on_barrier_reply(1, stages3[0].barrier_xid, T0 + 0.3)
    assert done == []
    assert results == [JobResult("p", True)]
    assert inst.running() == []


def test_each_stage_gets_its_own_xid() -> None:
    inst = Installer()
    stages, _ = inst.start(job("p", 1, 1, 1), T0)
    sent = run_to_end(inst, stages)
    assert len({s.barrier_xid for s in sent}) == 3
    assert all(0 <= s.barrier_xid <= 0xFFFFFFFF for s in sent)


def test_empty_job_completes_at_once() -> None:
    stages, results = Installer().start(InstallJob("empty", ()), T0)
    assert stages == [] and results == [JobResult("empty", True)]


@pytest.mark.parametrize("offset", [(0, 1), (1, 0), (5, 0)])
def test_wrong_barrier_is_ignored(offset: tuple[int, int]) -> None:
    inst = Installer()
    (st,), _ = inst.start(job("p", 3, 2), T0)
    d_dpid, d_xid = offset
    stages, results = inst.on_barrier_reply(st.dpid + d_dpid, st.barrier_xid + d_xid, T0)
    assert (stages, results) == ([], [])
    assert inst.running() == ["p"]
    stages, _ = inst.on_barrier_reply(st.dpid, st.barrier_xid, T0)
    assert [s.dpid for s in stages] == [2]


def test_a_barrier_answered_twice_counts_once() -> None:
    inst = Installer()
    (st,), _ = inst.start(job("p", 3, 2, 1), T0)
    nxt, _ = inst.on_barrier_reply(st.dpid, st.barrier_xid, T0)
    assert inst.on_barrier_reply(st.dpid, st.barrier_xid, T0) == ([], [])
    assert [s.dpid for s in nxt] == [2]


def test_barrier_timeout_fails_the_job() -> None:
    inst = Installer(barrier_timeout=2.0)
    (st,), _ = inst.start(job("p", 3, 2), T0)
    assert inst.expire(T0 + 2.0) == []  # at the deadline: still waiting
    assert inst.expire(T0 + 2.01) == [JobResult("p", False, "barrier timeout")]
    assert inst.running() == []
    assert inst.on_barrier_reply(st.dpid, st.barrier_xid, T0 + 3) == ([], [])


def test_timeout_counts_from_the_current_stage() -> None:
    inst = Installer(barrier_timeout=2.0)
    (st,), _ = inst.start(job("p", 3, 2), T0)
    inst.on_barrier_reply(st.dpid, st.barrier_xid, T0 + 1.5)
    assert inst.expire(T0 + 3.0) == []  # the second stage was sent at T0 + 1.5
    assert inst.expire(T0 + 3.6) == [JobResult("p", False, "barrier timeout")]


def test_superseding_cancels_the_old_jobs_later_stages() -> None:
    inst = Installer()
    (old_first,), _ = inst.start(job("p", 3, 2, 1), T0)
    (new_first,), results = inst.start(job("p", 5, 4), T0 + 0.1)
    assert results == [JobResult("p", False, "superseded")]
    assert new_first.dpid == 5
    # The old job's barrier arrives late: it must not advance anything.
    assert inst.on_barrier_reply(old_first.dpid, old_first.barrier_xid, T0 + 0.2) == ([], [])
    sent = run_to_end(inst, [new_first])
    assert [s.dpid for s in sent] == [5, 4]
    assert inst.running() == []


def test_jobs_with_different_names_run_side_by_side() -> None:
    inst = Installer()
    (a,), _ = inst.start(job("a", 1, 2), T0)
    (b,), res = inst.start(job("b", 1, 3), T0)
    assert res == []
    assert a.barrier_xid != b.barrier_xid
    assert inst.running() == ["a", "b"]
    nxt, _ = inst.on_barrier_reply(b.dpid, b.barrier_xid, T0)
    assert [s.dpid for s in nxt] == [3]
    nxt, _ = inst.on_barrier_reply(a.dpid, a.barrier_xid, T0)
    assert [s.dpid for s in nxt] == [2]


def test_switch_gone_fails_only_jobs_waiting_on_it() -> None:
    inst = Installer()
    inst.start(job("on1", 1, 2), T0)
    inst.start(job("on2", 2, 1), T0)
    results = inst.switch_gone(1)
    assert [(r.name, r.ok) for r in results] == [("on1", False)]
    assert "disconnected" in results[0].reason
    assert inst.running() == ["on2"]
    assert inst.switch_gone(9) == []


def test_fail_unknown_job_is_a_no_op() -> None:
    assert Installer().fail("nothing", "because") == []
