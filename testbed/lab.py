"""Lab harness: Open vSwitch service, a ryu-manager process and a Mininet network.

Shared by the main job (``scripts/demo.py``) and the integration-test fixture
(``tests/integration/conftest.py``). Everything here stops only what it started:
processes by PID, bridges by name (tagged with our PID in OVSDB), Mininet hosts
through Mininet's own per-host teardown. Nothing here uses ``mn -c``, ``pkill``
or ``killall``.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
OVS_CTL = Path("/usr/share/openvswitch/scripts/ovs-ctl")
OVS_RUNDIR = Path("/var/run/openvswitch")
OWNER_KEY = "sdn-lab-owner"  # external_ids key on bridges we create

T = TypeVar("T")


class LabError(RuntimeError):
    """A lab component could not be started; the message says which and why."""


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


# ---------------------------------------------------------------------------- helpers
def stop_group(proc: subprocess.Popen[bytes], name: str, timeout: float = 10) -> None:
    """Stop a child that leads its own session (start_new_session): SIGTERM to exactly
    that process group (SIGCONT first, in case it was paused), SIGKILL after ``timeout``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    log(f"{name} pid {proc.pid} stopped (exit {proc.returncode})")


def file_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ("" when there is none)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(
    condition: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.2,
) -> T:
    """Poll ``condition`` until it returns a truthy value; raise ``LabError`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def run(
    cmd: Sequence[str], check: bool = True, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, errors="replace", timeout=timeout
    )
    if check and proc.returncode != 0:
        raise LabError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    return proc


def meter_stats(bridge: str) -> dict[int, tuple[int, int]]:
    """Per meter of an OVS bridge: (packets that entered it, packets its band dropped)."""
    import re

    out = subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "meter-stats", bridge],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stats = {}
    for m in re.finditer(
        r"meter:(\d+) .*?packet_in_count:(\d+).*?0: packet_count:(\d+)", out, re.S
    ):
        stats[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return stats


def get_json(url: str, timeout: float = 5) -> Any:
    """GET a JSON document (raises OSError/ValueError on failure)."""
    import json
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def http_json(method: str, url: str, body: Any = None, timeout: float = 5) -> Any:
    """Send a JSON request (PUT, DELETE, ...) and return the JSON answer."""
    import json
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def is_root() -> bool:
    return os.geteuid() == 0


def missing_prerequisites() -> list[str]:
    """What keeps the Mininet tier from running here (empty when everything is in place)."""
    problems = []
    if not is_root():
        problems.append("not running as root (Mininet needs root)")
    for tool in ("ovs-vsctl", "ovs-ofctl", "mnexec", "ethtool", "iperf3"):
        if shutil.which(tool) is None:
            problems.append(f"'{tool}' not found (run scripts/setup.sh)")
    if not OVS_CTL.exists():
        problems.append(f"{OVS_CTL} not found (Debian package openvswitch-switch)")
    if not (VENV_BIN / "ryu-manager").exists():
        problems.append(f"{VENV_BIN / 'ryu-manager'} not found (run scripts/setup.sh)")
    try:
        import mininet.net  # noqa: F401
    except ImportError as exc:
        problems.append(f"mininet not importable: {exc}")
    return problems


def write_controller_config(topo: Any, path: Path, **settings: Any) -> Path:
    """A TOML configuration for our app: ``settings`` plus, when the topology shapes its
    links, their real capacities (the ports themselves report 10 Gbit/s veths)."""
    lines = ["[controller]"]
    for key, value in settings.items():
        lines.append(f"{key} = {_toml_value(value)}")
    shaped = topo.shaped_capacities_bps() if hasattr(topo, "shaped_capacities_bps") else {}
    if shaped:
        lines.append("[controller.link_capacity_bps]")
        for (a, b), bps in sorted(shaped.items()):
            lines.append(f'"{topo.dpid_of(a):#x}-{topo.dpid_of(b):#x}" = {int(bps)}')
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------- OVS
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _daemon_pid(name: str) -> int | None:
    try:
        pid = int((OVS_RUNDIR / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _exited(daemon: str) -> Callable[[], bool]:
    return lambda: _daemon_pid(daemon) is None


def ovs_running() -> bool:
    """ovsdb-server and ovs-vswitchd both alive and answering."""
    if _daemon_pid("ovsdb-server") is None or _daemon_pid("ovs-vswitchd") is None:
        return False
    return run(["ovs-vsctl", "--timeout=5", "show"], check=False).returncode == 0


def kernel_datapath_available() -> bool:
    """True when the kernel has the openvswitch module loaded (or built in)."""
    return Path("/sys/module/openvswitch").exists()


def datapath() -> str:
    """Mininet ``OVSSwitch`` datapath: 'kernel' where the module exists, else 'user'.

    ``SDN_DATAPATH=user|kernel`` overrides the detection.
    """
    forced = os.environ.get("SDN_DATAPATH", "").strip().lower()
    if forced in ("user", "kernel"):
        return forced
    if forced:
        raise LabError(f"SDN_DATAPATH={forced!r}: expected 'user' or 'kernel'")
    return "kernel" if kernel_datapath_available() else "user"


@dataclass
class OvsService:
    """Starts ovsdb-server/ovs-vswitchd if they are not running; stops only what it started."""

    started: list[str] = field(default_factory=list)

    def ensure_running(self) -> None:
        if ovs_running():
            log("Open vSwitch already running")
            return
        if not OVS_CTL.exists():
            raise LabError(
                f"Open vSwitch is not installed ({OVS_CTL} missing): run scripts/setup.sh"
            )
        if not is_root():
            raise LabError("Open vSwitch is not running and starting it needs root")
        before = {d for d in ("ovsdb-server", "ovs-vswitchd") if _daemon_pid(d) is not None}
        log("starting Open vSwitch (ovs-ctl start; no systemd here)")
        proc = run([str(OVS_CTL), "start", "--system-id=random"], check=False, timeout=60)
        self.started = [
            d
            for d in ("ovs-vswitchd", "ovsdb-server")
            if d not in before and _daemon_pid(d) is not None
        ]
        try:
            wait_for(ovs_running, 20, "ovsdb-server and ovs-vswitchd to answer")
        except LabError as exc:
            tail = ""
            with contextlib.suppress(OSError):
                lines = Path("/var/log/openvswitch/ovs-vswitchd.log").read_text().splitlines()
                tail = "\n".join(lines[-15:])
            self.stop()  # whatever half of it did come up
            raise LabError(
                f"Open vSwitch did not start: {exc}\novs-ctl said:\n{proc.stdout}{proc.stderr}\n"
                f"ovs-vswitchd.log tail:\n{tail}"
            ) from None
        log(f"Open vSwitch started ({', '.join(self.started)}); datapath: {datapath()}")

    def stop(self) -> None:
        """Ask exactly the daemons this run started to exit (ovs-vswitchd first)."""
        for daemon in self.started:
            log(f"stopping {daemon} (started by this run)")
            run(["ovs-appctl", "-t", daemon, "exit"], check=False, timeout=30)
            with contextlib.suppress(LabError):
                wait_for(_exited(daemon), 10, f"{daemon} to exit")
        self.started = []


def our_bridges(owner: str | None = None) -> dict[str, str]:
    """Bridges tagged by a lab run: name -> owner tag (optionally only this ``owner``)."""
    proc = run(
        [
            "ovs-vsctl",
            "--format=csv",
            "--data=bare",
            "--no-headings",
            "--columns=name,external_ids",
            "list",
            "bridge",
        ],
        check=False,
    )
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        name, _, ext = line.partition(",")
        for item in ext.strip('"').split():
            key, _, value = item.partition("=")
            if key == OWNER_KEY and (owner is None or value == owner):
                found[name] = value
    return found


def remove_stale_lab_bridges() -> list[str]:
    """Delete bridges that a lab run tagged and whose owner process is gone (a crashed run)."""
    removed = []
    for name, tag in our_bridges().items():
        pid_text = tag.split("-")[-1]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        run(["ovs-vsctl", "--if-exists", "del-br", name], check=False)
        removed.append(name)
    if removed:
        log(f"removed stale bridges of a crashed earlier run: {' '.join(sorted(removed))}")
    return removed


# ---------------------------------------------------------------------------- controller
def _die_with_parent() -> None:
    """In the child: get SIGTERM when the harness dies, even by SIGKILL (Linux prctl)."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class ControllerProcess:
    """A ``ryu-manager`` child process on loopback ports of its own, stopped by PID."""

    apps: Sequence[str] = ("controller/app.py",)
    of_port: int = 0
    rest_port: int = 0
    extra_args: Sequence[str] = ()
    config_file: Path | None = None
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    restarts: int = 0

    def start(self, timeout: float = 30) -> None:
        self.of_port = self.of_port or free_tcp_port()
        self.rest_port = self.rest_port or free_tcp_port()
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="ryu-manager.", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        cmd = [
            str(VENV_BIN / "ryu-manager"),
            "--ofp-listen-host",
            "127.0.0.1",
            "--ofp-tcp-listen-port",
            str(self.of_port),
            "--wsapi-host",
            "127.0.0.1",
            "--wsapi-port",
            str(self.rest_port),
        ]
        cmd += [*self.extra_args, *self.apps]
        env = dict(os.environ)
        if self.config_file is not None:
            env["SDN_CONFIG"] = str(self.config_file)  # the app's TOML configuration
        logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True
        )
        logf.close()
        log(
            f"ryu-manager pid {self.proc.pid}: OpenFlow 127.0.0.1:{self.of_port}, "
            f"REST http://127.0.0.1:{self.rest_port}, log {self.log_path}"
        )

        def listening() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise LabError(
                    f"ryu-manager exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            return port_open("127.0.0.1", self.of_port)

        try:
            wait_for(listening, timeout, f"ryu-manager to listen on {self.of_port}")
        except LabError:
            self.stop()
            raise

    def restart(self, timeout: float = 30) -> None:
        """Stop the process and start a new one on the same OpenFlow and REST ports (a
        controller restart: the switches reconnect to the new process, which logs to a
        file of its own next to the first)."""
        self.stop()
        self.restarts += 1
        if self.log_path is not None:
            first = self.log_path.name.split(".restart")[0].removesuffix(".log")
            self.log_path = self.log_path.with_name(f"{first}.restart{self.restarts}.log")
        self.start(timeout)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def health(self) -> dict[str, Any] | None:
        """Our app's /v1/health, or None while it does not answer."""
        try:
            body = get_json(f"{self.rest_url}/v1/health", timeout=2)
        except (OSError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> None:
        if self.proc is not None:
            stop_group(self.proc, "ryu-manager", timeout)


# ---------------------------------------------------------------------------- Mininet
@dataclass
class LabNetwork:
    """A Mininet network of OVS switches (OpenFlow 1.3, secure fail mode) on a remote controller."""

    topo: Any
    of_port: int
    owner: str = field(default_factory=lambda: f"lab-{os.getpid()}")
    net: Any = field(default=None, repr=False)
    extra_of_ports: tuple[int, ...] = ()
    """More controllers every switch connects to (a controller group: high availability)."""

    @property
    def of_ports(self) -> tuple[int, ...]:
        return (self.of_port, *self.extra_of_ports)

    def start(self, connect_timeout: float = 60) -> None:
        from functools import partial

        from mininet.link import TCLink
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.node import OVSSwitch, RemoteController

        setLogLevel(os.environ.get("MININET_LOGLEVEL", "warning"))
        remove_stale_lab_bridges()
        names = set(self.topo.switches())
        existing = set(run(["ovs-vsctl", "list-br"], check=False).stdout.split())
        clash = names & existing
        if clash:
            raise LabError(
                f"bridges {sorted(clash)} already exist and are not ours; "
                "delete them by name (ovs-vsctl del-br NAME) if they are leftovers"
            )
        dp = datapath()
        # failMode='secure': a switch never floods on its own (a storm in a loop) while the
        # controller is not yet connected.
        switch = partial(OVSSwitch, datapath=dp, protocols="OpenFlow13", failMode="secure")
        self.net = Mininet(
            topo=self.topo,
            switch=switch,
            link=TCLink,
            controller=None,
            autoSetMacs=False,
            autoStaticArp=False,
            build=False,
            waitConnected=False,
        )
        for i, port in enumerate(self.of_ports):
            self.net.addController(RemoteController(f"c{i}", ip="127.0.0.1", port=port))
        try:
            self.net.build()
            self.net.start()
            for sw in self.net.switches:
                run(
                    [
                        "ovs-vsctl",
                        "set",
                        "bridge",
                        sw.name,
                        f"external_ids:{OWNER_KEY}={self.owner}",
                    ]
                )
            for node in [*self.net.hosts, *self.net.switches]:
                # Mininet decodes shell output as strict UTF-8; a stray byte must not abort
                # a test (seen once: a 0xa0 byte in a host's output).
                node.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for host in self.net.hosts:
                # The userspace datapath drops TCP with partial checksums: compute them in the host.
                for intf in host.intfList():
                    if intf.name != "lo":
                        host.cmd(f"ethtool -K {intf.name} tx off >/dev/null 2>&1")
            log(
                f"Mininet: {len(self.net.switches)} switches ({dp} datapath), "
                f"{len(self.net.hosts)} hosts, {len(self.net.links)} links"
            )
            wait_for(
                self._all_connected,
                connect_timeout,
                f"{len(self.net.switches)} switches to connect to 127.0.0.1 ports {self.of_ports}",
            )
        except BaseException:
            self.stop()
            raise

    def _all_connected(self) -> bool:
        for port in self.of_ports:
            proc = run(
                [
                    "ovs-vsctl",
                    "--bare",
                    "--columns=is_connected",
                    "find",
                    "controller",
                    f'target="tcp:127.0.0.1:{port}"',
                ],
                check=False,
            )
            if proc.stdout.split().count("true") < len(self.net.switches):
                return False
        return True

    def switch_links(self) -> int:
        """Switch-to-switch links of the topology (undirected)."""
        switches = set(self.topo.switches())
        return sum(1 for a, b in self.topo.links() if a in switches and b in switches)

    def wait_discovered(self, ctl: ControllerProcess, timeout: float = 60) -> dict[str, Any]:
        """Poll our app's /v1/health until it knows every switch and both directions of
        every link, then wait out the access-port quiet period (2 LLDP intervals)."""
        n_sw, n_links = len(self.topo.switches()), 2 * self.switch_links()
        t0 = time.monotonic()

        def complete() -> dict[str, Any] | None:
            h = ctl.health()
            if h and h["switches"] == n_sw and h["links"] == n_links:
                return h
            return None

        health = wait_for(complete, timeout, f"discovery of {n_sw} switches and {n_links} links")
        log(f"discovered {n_sw} switches, {n_links} directed links in {time.monotonic() - t0:.1f}s")
        time.sleep(2.2)
        return health

    def host(self, name: str) -> Any:
        return self.net.get(name)

    def _switch_end(self, host: str) -> Any:
        """The switch-side interface of a host's (first) cable."""
        hintf = self.host(host).defaultIntf()
        link = hintf.link
        return link.intf2 if link.intf1 is hintf else link.intf1

    def unplug_host(self, host: str) -> tuple[str, int]:
        """Delete the switch port of a host's cable (OpenFlow: a port-status DELETE); the
        host keeps its interface, now attached to nothing. Returns (switch, old port)."""
        sintf = self._switch_end(host)
        switch = sintf.node
        port = switch.ports[sintf]
        run(["ovs-vsctl", "del-port", switch.name, sintf.name])
        return switch.name, port

    def move_host(self, host: str, to_switch: str) -> int:
        """Move a host's cable to another switch, as Mininet's mobility example does: its
        port is deleted from its switch and the same interface added to ``to_switch``
        (Mininet's bookkeeping follows, so teardown finds it there). Returns the new
        OpenFlow port number."""
        sintf = self._switch_end(host)
        old, new = sintf.node, self.net.get(to_switch)
        self.unplug_host(host)
        port = new.newPort()
        run(["ovs-vsctl", "add-port", new.name, sintf.name, "--", "set", "Interface",
             sintf.name, f"ofport_request={port}"])  # fmt: skip
        del old.intfs[old.ports.pop(sintf)]
        old.nameToIntf.pop(sintf.name, None)
        new.addIntf(sintf, port=port)
        sintf.node = new
        return port

    def ping(self, src: str, dst: str, count: int = 1, timeout_s: int = 2) -> bool:
        h1, h2 = self.host(src), self.host(dst)
        out = h1.cmd(f"ping -c {count} -W {timeout_s} {h2.IP()}")
        return f"{count} received" in out or f" {count} packets received" in out

    def pingall(self, timeout_s: int = 2, retries: int = 1) -> tuple[int, int]:
        """Ping every ordered host pair once; return (sent, lost). Quiet, bounded."""
        sent = lost = 0
        for a in self.net.hosts:
            for b in self.net.hosts:
                if a is b:
                    continue
                sent += 1
                ok = any(self.ping(a.name, b.name, 1, timeout_s) for _ in range(retries))
                lost += 0 if ok else 1
        return sent, lost

    def stop(self) -> None:
        if self.net is None:
            return
        names = [sw.name for sw in self.net.switches]
        try:
            self.net.stop()
        finally:
            # Belt and braces: our bridges by name, in case Mininet's teardown was interrupted.
            for name in names:
                run(["ovs-vsctl", "--if-exists", "del-br", name], check=False)
            self.net = None
        log(f"Mininet stopped; bridges removed: {' '.join(names)}")


@contextlib.contextmanager
def lab(
    topo: Any,
    apps: Sequence[str] = ("controller/app.py",),
    extra_args: Sequence[str] = (),
    config_file: Path | None = None,
    of_port: int = 0,
    rest_port: int = 0,
) -> Iterator[tuple[ControllerProcess, LabNetwork]]:
    """OVS (if needed) + ryu-manager + Mininet network; everything torn down on exit."""
    ovs = OvsService()
    ctl = ControllerProcess(
        apps=apps,
        extra_args=extra_args,
        config_file=config_file,
        of_port=of_port,
        rest_port=rest_port,
    )
    netw: LabNetwork | None = None
    try:
        ovs.ensure_running()
        ctl.start()
        netw = LabNetwork(topo, ctl.of_port)
        netw.start()
        yield ctl, netw
    finally:
        with _signals_deferred():
            try:
                if netw is not None:
                    netw.stop()
            finally:
                try:
                    ctl.stop()
                finally:
                    ovs.stop()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut the teardown short: hold them until done."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


if __name__ == "__main__":  # pragma: no cover - operator helper
    cmd = sys.argv[1] if len(sys.argv) > 1 else "status"
    if cmd == "ovs-start":
        OvsService().ensure_running()
    elif cmd == "status":
        print(f"ovs running: {ovs_running()}; datapath: {datapath()}; lab bridges: {our_bridges()}")
        print("prerequisites missing:", missing_prerequisites() or "none")
    else:
        sys.exit(f"usage: {sys.argv[0]} [status|ovs-start]")
