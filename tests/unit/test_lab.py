"""Harness helpers that need no root: waiting, ports, prerequisites, config writing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from controller.config import load_config
from testbed import lab
from topologies import build_topo


def test_wait_for_returns_the_value_or_names_what_it_waited_for() -> None:
    calls = iter([None, None, 42])
    assert lab.wait_for(lambda: next(calls), 5, "the answer", interval=0.01) == 42
    with pytest.raises(lab.LabError, match="waiting for nothing"):
        lab.wait_for(lambda: None, 0.05, "nothing", interval=0.01)


def test_free_port_is_free() -> None:
    port = lab.free_tcp_port()
    assert 1024 <= port <= 65535 and not lab.port_open("127.0.0.1", port)


def test_without_root_the_integration_tier_reports_why(monkeypatch) -> None:
    monkeypatch.setattr(lab.os, "geteuid", lambda: 1000)
    problems = lab.missing_prerequisites()
    assert any("not running as root" in p for p in problems)


def test_datapath_override_is_validated(monkeypatch) -> None:
    monkeypatch.setenv("SDN_DATAPATH", "user")
    assert lab.datapath() == "user"
    monkeypatch.setenv("SDN_DATAPATH", "warp")
    with pytest.raises(lab.LabError, match="SDN_DATAPATH"):
        lab.datapath()


def test_controller_config_carries_shaped_capacities(tmp_path: Path) -> None:
    topo = build_topo("twopath,10")
    path = lab.write_controller_config(topo, tmp_path / "c.toml", metric="hop", model_path="")
    data = tomllib.loads(path.read_text())
    assert data["controller"]["link_capacity_bps"]["0x1-0x2"] == 10_000_000
    cfg = load_config(path)
    assert cfg.metric == "hop" and cfg.capacity_override(1, 2) == 10_000_000
