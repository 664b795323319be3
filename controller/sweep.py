"""Round-robin shares of work too large for one round's budget (LLDP probes, port-stats
requests on a large network): every item once per sweep of ``period`` rounds."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class Sweep:
    def __init__(self) -> None:
        self.period = 1
        """Rounds a sweep takes (1: everything every round)."""
        self._cursor = 0

    def share(self, items: list[T], budget: int) -> list[T]:
        """This round's items: all of them if they fit ``budget``, else the next share."""
        budget = max(1, budget)
        if len(items) <= budget:
            self.period = 1
            return items
        self.period = -(-len(items) // budget)
        start = self._cursor % len(items)
        self._cursor = start + budget
        return (items[start:] + items[:start])[:budget]
