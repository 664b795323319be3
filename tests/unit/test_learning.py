from controller.learning import FLOOD, MacTable, is_multicast

A, B = "00:00:00:00:00:01", "00:00:00:00:00:02"


def test_multicast_detection() -> None:
    assert is_multicast("ff:ff:ff:ff:ff:ff")
    assert is_multicast("01:80:c2:00:00:0e")
    assert not is_multicast(A)


def test_unknown_destination_floods_then_learned_destination_installs() -> None:
    t = MacTable()
    assert t.decide(1, 1, A, B).out_port == FLOOD
    reply = t.decide(1, 2, B, A)
    assert reply.out_port == 1 and reply.install
    again = t.decide(1, 1, A, B)
    assert again.out_port == 2 and again.install


def test_broadcast_source_is_never_learned_and_tables_are_per_switch() -> None:
    t = MacTable()
    t.learn(1, "ff:ff:ff:ff:ff:ff", 3)
    assert t.lookup(1, "ff:ff:ff:ff:ff:ff") is None
    t.learn(1, A, 3)
    assert t.lookup(2, A) is None
    t.forget_switch(1)
    assert t.lookup(1, A) is None


def test_hairpin_is_flooded_not_installed() -> None:
    t = MacTable()
    t.learn(1, B, 1)
    d = t.decide(1, 1, A, B)
    assert d.out_port == FLOOD and not d.install
