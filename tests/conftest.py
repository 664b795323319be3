"""Test tiers: `integration` (root, OVS, Mininet, real ryu-manager) and the unit tier.

Outside CI, integration tests skip with a loud reason when prerequisites are missing.
With SDN_REQUIRE_INTEGRATION=1 (set by .ci/run) a missing prerequisite is an error.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

REQUIRE_INTEGRATION = os.environ.get("SDN_REQUIRE_INTEGRATION") == "1"
_outcomes: Counter[tuple[str, str]] = Counter()


def _tier(item: pytest.Item) -> str:
    return "integration" if item.get_closest_marker("integration") else "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)
    if not any(item.get_closest_marker("integration") for item in items):
        return
    from testbed.lab import missing_prerequisites

    problems = missing_prerequisites()
    if not problems:
        return
    reason = "INTEGRATION TIER NOT RUN: " + "; ".join(problems)
    if REQUIRE_INTEGRATION:
        raise pytest.UsageError(reason + " (SDN_REQUIRE_INTEGRATION=1 forbids skipping)")
    for item in items:
        if item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        tier = "integration" if "integration" in report.keywords else "unit"
        _outcomes[(tier, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    tr = terminalreporter
    tr.section("tiers")
    for tier in ("unit", "integration"):
        counts = {o: _outcomes[(tier, o)] for o in ("passed", "failed", "skipped")}
        tr.write_line(
            f"{tier:12s} passed {counts['passed']:4d}  failed {counts['failed']:3d}  "
            f"skipped {counts['skipped']:3d}"
        )
    skipped_integration = _outcomes[("integration", "skipped")]
    if skipped_integration and not REQUIRE_INTEGRATION:
        tr.write_line(
            f"WARNING: {skipped_integration} integration tests were SKIPPED "
            "(run as root after scripts/setup.sh to run them)",
            red=True,
            bold=True,
        )
