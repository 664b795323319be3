"""One live OpenFlow session per dpid: a second claimant never takes over a live switch;
a dead holder is replaced within the probe time; only the holder's messages count."""

from __future__ import annotations

from types import SimpleNamespace

from controller.southbound.sessions import PROBE_S, Claim, Sessions


def conn(dpid: int, address: str) -> SimpleNamespace:
    return SimpleNamespace(id=dpid, address=address, is_active=True, state="main")


def test_the_first_connection_holds_the_dpid_and_a_reconnect_after_close_is_accepted() -> None:
    s = Sessions({})
    honest = conn(1, "a")
    assert s.claim(honest, 0.0) is Claim.ACCEPTED and s.owner(honest) == 1
    honest.state, honest.is_active = "dead", False
    again = conn(1, "a2")
    assert s.claim(again, 1.0) is Claim.ACCEPTED and s.owner(again) == 1
    assert s.owner(honest) is None


def test_an_impostor_is_refused_while_the_holder_answers_the_probe() -> None:
    s = Sessions({})
    honest, impostor = conn(1, "honest"), conn(1, "impostor")
    s.claim(honest, 0.0)
    assert s.claim(impostor, 10.0) is Claim.CONTESTED
    assert s.owner(impostor) is None and s.owner(honest) == 1  # not believed meanwhile
    assert s.claim(conn(1, "third"), 10.1) is Claim.REFUSED
    s.heard(impostor, 10.2)  # the impostor answering proves nothing
    assert s.settle(10.0 + PROBE_S / 2) == []
    s.heard(honest, 10.3)
    (settled,) = s.settle(10.0 + PROBE_S)
    assert settled.close is impostor and settled.promoted is None
    assert s.owner(honest) == 1 and s.counters.duplicate_dpid_refused == 2
    # The impostor's disconnect changes nothing for the honest switch.
    impostor.state = "dead"
    assert s.gone(impostor) is None and s.owner(honest) == 1


def test_an_answer_from_before_the_contest_does_not_count() -> None:
    s = Sessions({})
    honest, newcomer = conn(1, "old"), conn(1, "new")
    s.claim(honest, 0.0)
    s.heard(honest, 5.0)  # no contest yet: not recorded
    s.claim(newcomer, 10.0)
    (settled,) = s.settle(10.0 + PROBE_S)
    assert settled.close is honest and settled.promoted is newcomer
    assert s.owner(newcomer) == 1 and s.counters.stale_session_replaced == 1


def test_a_holder_that_disconnects_during_the_contest_hands_over_at_once() -> None:
    s = Sessions({})
    honest, newcomer = conn(1, "old"), conn(1, "new")
    s.claim(honest, 0.0)
    s.claim(newcomer, 10.0)
    honest.state, honest.is_active = "dead", False
    settled = s.gone(honest)
    assert settled is not None and settled.promoted is newcomer and settled.close is None
    assert s.owner(newcomer) == 1 and s.contests == {}


def test_a_claimant_that_leaves_ends_its_contest() -> None:
    s = Sessions({})
    honest, impostor = conn(1, "honest"), conn(1, "impostor")
    s.claim(honest, 0.0)
    s.claim(impostor, 1.0)
    assert s.gone(impostor) is None and s.contests == {}
    assert s.settle(5.0) == [] and s.owner(honest) == 1
