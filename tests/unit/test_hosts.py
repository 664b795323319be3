"""HostTable: learning, the IPv4 index, moves, IPs changing hands, forgetting."""

from __future__ import annotations

from controller.hosts.table import HostMove, HostTable

A, B, C = "00:00:00:00:00:0a", "00:00:00:00:00:0b", "00:00:00:00:00:0c"


def test_learn_a_new_host() -> None:
    t = HostTable()
    assert t.learn(A, 1, 2, now=5.0, ipv4="10.0.0.1") is None
    h = t.by_mac(A)
    assert h is not None
    assert (h.mac, h.dpid, h.port, h.ipv4, h.last_seen) == (A, 1, 2, "10.0.0.1", 5.0)
    assert len(t) == 1
    assert t.at(1, 2) == [h]
    assert t.at(1, 3) == []


def test_mac_is_case_insensitive() -> None:
    t = HostTable()
    t.learn(A.upper(), 1, 2, 0.0)
    assert t.by_mac(A) is t.by_mac(A.upper())
    assert t.by_mac(A).mac == A  # type: ignore[union-attr]


def test_learning_again_in_place_refreshes_only() -> None:
    t = HostTable()
    t.learn(A, 1, 2, 1.0)
    assert t.learn(A, 1, 2, 9.0) is None
    assert t.by_mac(A).last_seen == 9.0  # type: ignore[union-attr]


def test_ip_index() -> None:
    t = HostTable()
    t.learn(A, 1, 1, 0.0, "10.0.0.1")
    t.learn(B, 2, 1, 0.0, "10.0.0.2")
    t.learn(C, 3, 1, 0.0)  # no IP yet
    assert t.by_ip("10.0.0.1").mac == A  # type: ignore[union-attr]
    assert t.by_ip("10.0.0.2").mac == B  # type: ignore[union-attr]
    assert t.by_ip("10.0.0.3") is None
    t.learn(C, 3, 1, 1.0, "10.0.0.3")
    assert t.by_ip("10.0.0.3").mac == C  # type: ignore[union-attr]


def test_unspecified_ip_is_not_indexed() -> None:
    t = HostTable()
    t.learn(A, 1, 1, 0.0, "0.0.0.0")  # a DHCP client before it has an address
    assert t.by_mac(A).ipv4 is None  # type: ignore[union-attr]
    assert t.by_ip("0.0.0.0") is None
    t.learn(A, 1, 1, 0.0, "10.0.0.1")
    t.learn(A, 1, 1, 1.0, None)  # a packet without an IP keeps the known one
    assert t.by_ip("10.0.0.1").mac == A  # type: ignore[union-attr]


def test_host_move_is_reported_and_applied() -> None:
    t = HostTable()
    t.learn(A, 1, 2, 0.0, "10.0.0.1")
    move = t.learn(A, 4, 7, 3.0)
    assert move == HostMove(A, (1, 2), (4, 7))
    h = t.by_mac(A)
    assert (h.dpid, h.port, h.ipv4, h.last_seen) == (4, 7, "10.0.0.1", 3.0)  # type: ignore[union-attr]
    assert t.at(1, 2) == []
    assert t.learn(A, 4, 7, 4.0) is None
    assert t.learn(A, 4, 8, 5.0) == HostMove(A, (4, 7), (4, 8))  # another port, same switch


def test_host_changing_its_ip_drops_the_old_one() -> None:
    t = HostTable()
    t.learn(A, 1, 1, 0.0, "10.0.0.1")
    t.learn(A, 1, 1, 1.0, "10.0.0.9")
    assert t.by_ip("10.0.0.1") is None
    assert t.by_ip("10.0.0.9").mac == A  # type: ignore[union-attr]


def test_an_address_stays_with_its_first_owner_until_it_is_gone() -> None:
    t = HostTable()
    t.learn(A, 1, 1, 0.0, "10.0.0.1")
    assert not t.may_bind(B, "10.0.0.1")
    t.learn(B, 2, 1, 1.0, "10.0.0.1")  # a second claim: B is learned, the address is not
    assert t.by_ip("10.0.0.1").mac == A  # type: ignore[union-attr]
    assert t.by_mac(B).ipv4 is None  # type: ignore[union-attr]
    t.forget(A)  # the owner is gone: the address is free (e.g. a failover address)
    assert t.bind(B, "10.0.0.1") and t.by_ip("10.0.0.1").mac == B  # type: ignore[union-attr]


def test_static_bindings_never_change() -> None:
    t = HostTable(static={"10.0.0.9": A.upper()})
    assert t.mac_for_ip("10.0.0.9") == A  # known before the host ever spoke
    t.learn(B, 2, 1, 1.0, "10.0.0.9")
    assert t.mac_for_ip("10.0.0.9") == A and t.by_mac(B).ipv4 is None  # type: ignore[union-attr]
    t.learn(A, 1, 1, 2.0, "10.0.0.9")
    assert t.by_ip("10.0.0.9").mac == A  # type: ignore[union-attr]


def test_forget() -> None:
    t = HostTable()
    t.learn(A, 1, 1, 0.0, "10.0.0.1")
    t.forget(A.upper())
    assert t.by_mac(A) is None and t.by_ip("10.0.0.1") is None and len(t) == 0
    t.forget(A)  # unknown: no error


def test_forget_at_a_port_or_a_whole_switch() -> None:
    t = HostTable()
    t.learn(A, 1, 1, 0.0, "10.0.0.1")
    t.learn(B, 1, 2, 0.0, "10.0.0.2")
    t.learn(C, 2, 1, 0.0, "10.0.0.3")
    assert t.forget_at(1, 2) == [B]
    assert t.by_ip("10.0.0.2") is None
    assert t.forget_at(1, 9) == []
    assert t.forget_at(1) == [A]
    assert [h.mac for h in t.all()] == [C]
    assert t.forget_at(7) == []


def test_all_is_sorted_by_mac() -> None:
    t = HostTable()
    for mac in (C, A, B):
        t.learn(mac, 1, 1, 0.0)
    assert [h.mac for h in t.all()] == [A, B, C]
