"""Which connection speaks for which dpid: one live OpenFlow session per switch.

A connection announces its dpid in FEATURES_REPLY, and nothing stops a second connection
(a buggy switch, a misconfigured one, an attacker on the management network) from
announcing a dpid that is already connected. Without a rule, the newest connection would
take the switch over: its packet-ins would be believed, the honest switch's links and
hosts would vanish, and when the impostor left the honest switch would be forgotten.

The rule here: the first live connection keeps the dpid. A second one is not believed
(its messages are ignored) while the holder is probed with an echo request; the holder
keeps the dpid if it answers within ``PROBE_S``, and the newcomer is closed (counted and
logged). A holder that does not answer is dead (a switch that rebooted without closing
its TCP connection, say): it is closed and the newcomer takes over at once, so an honest
reconnect waits at most ``PROBE_S``. While a contest runs, a third claimant is refused.

Plain logic: a datapath is anything with ``id``, ``is_active`` and ``state`` (Ryu's
``Datapath``); the shell sends the probe and closes what ``settle`` says to close.
TLS (Ryu's ``--ctl-privkey/--ctl-cert/--ca-certs``) binds a switch to a certificate;
this rule is what remains without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

PROBE_S = 1.0
"""How long the holder of a dpid has to answer the echo probe of a contest."""
DEAD_STATE = "dead"


class Claim(Enum):
    ACCEPTED = "accepted"
    """The connection now speaks for its dpid."""
    CONTESTED = "contested"
    """Another live connection holds the dpid: probe it (``probe_target``), settle later."""
    REFUSED = "refused"
    """A contest for this dpid is already running: close this connection."""


@dataclass
class SessionCounters:
    duplicate_dpid_refused: int = 0
    stale_session_replaced: int = 0


@dataclass
class Contest:
    holder: Any
    claimant: Any
    started: float


@dataclass
class Settled:
    """The end of a contest: which connection to close; ``promoted`` took the dpid."""

    dpid: int
    close: Any
    promoted: Any | None


class Sessions:
    def __init__(self, datapaths: dict[int, Any], dead_state: Any = DEAD_STATE) -> None:
        self.datapaths = datapaths
        """dpid -> the connection that speaks for it (shared with the transport)."""
        self.dead_state = dead_state
        self.contests: dict[int, Contest] = {}
        self.counters = SessionCounters()
        self._heard: dict[int, float] = {}  # id(datapath) -> last echo reply

    def alive(self, dp: Any) -> bool:
        return bool(getattr(dp, "is_active", False)) and dp.state != self.dead_state

    def owner(self, dp: Any) -> int | None:
        """The dpid ``dp`` speaks for, or None (not the holder: its messages are ignored)."""
        dpid = dp.id
        return dpid if dpid is not None and self.datapaths.get(dpid) is dp else None

    def claim(self, dp: Any, now: float) -> Claim:
        """``dp`` finished its handshake and announced ``dp.id``."""
        holder = self.datapaths.get(dp.id)
        if holder is None or holder is dp or not self.alive(holder):
            self.datapaths[dp.id] = dp
            return Claim.ACCEPTED
        if dp.id in self.contests:
            self.counters.duplicate_dpid_refused += 1
            return Claim.REFUSED
        self.contests[dp.id] = Contest(holder, dp, now)
        return Claim.CONTESTED

    def heard(self, dp: Any, now: float) -> None:
        """An echo reply came from ``dp`` (holder or not)."""
        if any(c.holder is dp for c in self.contests.values()):
            self._heard[id(dp)] = now

    def gone(self, dp: Any) -> Settled | None:
        """``dp`` disconnected. True when it held its dpid (the switch is down) is told by
        ``owner`` before calling this; here: a contest it was part of ends."""
        contest = self.contests.get(dp.id) if dp.id is not None else None
        if contest is None:
            return None
        del self.contests[dp.id]
        self._heard.pop(id(contest.holder), None)
        if contest.claimant is dp:
            return None
        # The holder went away during the contest: the claimant takes over.
        self.datapaths[dp.id] = contest.claimant
        self.counters.stale_session_replaced += 1
        return Settled(dp.id, None, contest.claimant)

    def settle(self, now: float) -> list[Settled]:
        """Contests whose probe time is over: the holder answered (the claimant is closed)
        or did not (the holder is closed, the claimant takes the dpid)."""
        done = []
        for dpid, c in list(self.contests.items()):
            if now - c.started < PROBE_S:
                continue
            del self.contests[dpid]
            answered = self._heard.pop(id(c.holder), None)
            if answered is not None and answered >= c.started and self.alive(c.holder):
                self.counters.duplicate_dpid_refused += 1
                done.append(Settled(dpid, c.claimant, None))
            else:
                self.datapaths[dpid] = c.claimant
                self.counters.stale_session_replaced += 1
                done.append(Settled(dpid, c.holder, c.claimant))
        return done

    def counter_values(self) -> dict[str, int]:
        return dataclasses.asdict(self.counters)
