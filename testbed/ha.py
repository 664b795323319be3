"""A controller group on this machine: etcd, N ryu-manager instances of our app in one
group, and a Mininet network whose switches connect to all of them (high availability,
``make run ARGS='--ha 2'``, tests and the takeover bench). Everything it starts is
stopped by PID, bridge and namespace name."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from testbed.etcd import EtcdServer
from testbed.lab import (
    ControllerProcess,
    LabNetwork,
    OvsService,
    _signals_deferred,
    log,
    run,
    wait_for,
    write_controller_config,
)


@dataclass
class HaLab:
    etcd: EtcdServer
    controllers: list[ControllerProcess]
    net: LabNetwork

    def role(self, ctl: ControllerProcess) -> str | None:
        """The instance's role as its /v1/health says (None: it does not answer)."""
        h = ctl.health()
        return (h.get("ha") or {}).get("role") if h else None

    def leader(self) -> ControllerProcess | None:
        found = [c for c in self.controllers if c.alive() and self.role(c) == "leader"]
        return found[0] if len(found) == 1 else None

    def switch_roles(self) -> dict[int, list[str]]:
        """OpenFlow port of each controller -> the roles the switches gave it
        (``ovs-vsctl list controller``: master, slave or other), connected ones only."""
        out = run(["ovs-vsctl", "--format=json", "--columns=target,role,is_connected",
                   "list", "controller"], check=False).stdout  # fmt: skip
        roles: dict[int, list[str]] = {c.of_port: [] for c in self.controllers}
        with contextlib.suppress(ValueError, KeyError):
            for target, role, connected in json.loads(out)["data"]:
                port = int(str(target).rsplit(":", 1)[1])
                if port in roles and connected is True:
                    roles[port].append(str(role))
        return roles

    def kill(self, ctl: ControllerProcess) -> None:
        """SIGKILL the instance (its whole process group): a crash, nothing cleaned up."""
        assert ctl.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ctl.proc.pid, signal.SIGKILL)
        ctl.proc.wait(10)
        log(f"ryu-manager pid {ctl.proc.pid} killed (SIGKILL)")


def _leads(ctl: ControllerProcess) -> bool:
    h = ctl.health()
    return bool(h and (h.get("ha") or {}).get("role") == "leader")


@contextlib.contextmanager
def ha_lab(
    topo: Any,
    workdir: Path,
    instances: int = 2,
    lease_ttl: int = 3,
    **settings: Any,
) -> Iterator[HaLab]:
    """OVS (if needed), etcd, ``instances`` controllers (the first is made leader before
    the next starts) and the network; all torn down on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    ovs = OvsService()
    etcd = EtcdServer(workdir / "etcd")
    controllers: list[ControllerProcess] = []
    net: LabNetwork | None = None
    try:
        ovs.ensure_running()
        etcd.start()
        for i in range(instances):
            config = write_controller_config(
                topo, workdir / f"c{i}.toml", ha_etcd=etcd.endpoint, ha_instance=f"c{i}",
                ha_lease_ttl=lease_ttl, **settings,
            )  # fmt: skip
            ctl = ControllerProcess(config_file=config, log_path=workdir / f"ryu-manager-c{i}.log")
            ctl.start()
            controllers.append(ctl)
            if i == 0:
                wait_for(partial(_leads, ctl), 3 * lease_ttl + 10, "the first instance to lead")
        net = LabNetwork(topo, controllers[0].of_port,
                         extra_of_ports=tuple(c.of_port for c in controllers[1:]))  # fmt: skip
        net.start()
        yield HaLab(etcd, controllers, net)
    finally:
        with _signals_deferred():
            try:
                if net is not None:
                    net.stop()
            finally:
                for ctl in controllers:
                    with contextlib.suppress(Exception):
                        ctl.stop()
                etcd.stop()
                ovs.stop()
