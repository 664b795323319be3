"""The one shared fixture of the Mininet tier: OVS + ryu-manager + a topology.

``lab_factory(topo, apps=..., extra_args=...)`` starts the controller on free loopback
ports, builds the topology on OVS (userspace datapath where the kernel has no module),
waits by polling until every switch is connected, and tears everything down even when
the test fails: ryu-manager by PID, bridges by name, Mininet hosts through Mininet.
On failure the controller's log tail is printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from testbed import lab


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def ovs() -> Iterator[lab.OvsService]:
    service = lab.OvsService()
    service.ensure_running()
    yield service
    service.stop()


LabFactory = Callable[..., tuple[lab.ControllerProcess, lab.LabNetwork]]


@pytest.fixture
def lab_factory(
    ovs: lab.OvsService, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[LabFactory]:
    started: list[tuple[lab.ControllerProcess, lab.LabNetwork | None]] = []

    def start(
        topo: Any,
        apps: Sequence[str] = ("controller/app.py",),
        extra_args: Sequence[str] = (),
        config_file: Path | None = None,
        connect_timeout: float = 60,
    ) -> tuple[lab.ControllerProcess, lab.LabNetwork]:
        ctl = lab.ControllerProcess(
            apps=apps,
            extra_args=extra_args,
            config_file=config_file,
            log_path=tmp_path / f"ryu-manager-{len(started)}.log",
        )
        started.append((ctl, None))
        ctl.start()
        net = lab.LabNetwork(topo, ctl.of_port)
        started[-1] = (ctl, net)
        net.start(connect_timeout=connect_timeout)
        return ctl, net

    yield start

    failed = any(
        getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call")
    )
    for ctl, net in reversed(started):
        try:
            if net is not None:
                net.stop()
        finally:
            ctl.stop()
        if failed:
            print(f"\n----- ryu-manager log tail ({ctl.log_path}) -----\n{ctl.log_tail(60)}")
