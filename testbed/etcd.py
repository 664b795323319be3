"""An etcd server (Debian's ``etcd-server``) of a test's or a demo's own: one member on
loopback, its own data directory, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from testbed.lab import LabError, file_tail, free_tcp_port, log, stop_group, wait_for

BINARY = "/usr/bin/etcd"


class EtcdServer:
    def __init__(self, workdir: Path, name: str = "sdn-etcd") -> None:
        self.workdir = workdir
        self.name = name
        self.client_port = 0
        self.peer_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "etcd.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self, timeout: float = 30) -> None:
        if not Path(BINARY).exists():
            raise LabError(f"{BINARY} missing (Debian package 'etcd-server'; scripts/setup.sh)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        self.client_port = self.client_port or free_tcp_port()
        self.peer_port = self.peer_port or free_tcp_port()
        peer = f"http://127.0.0.1:{self.peer_port}"
        cmd = [
            BINARY,
            "--name", self.name,
            "--data-dir", str(data),
            "--listen-client-urls", self.endpoint,
            "--advertise-client-urls", self.endpoint,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{self.name}={peer}",
            "--initial-cluster-state", "new",
            "--log-level", "warn",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        log(f"etcd pid {self.proc.pid} on {self.endpoint}, data {data}")

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise LabError(f"etcd exited {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"{self.endpoint}/health", timeout=1) as resp:
                    return b'"true"' in resp.read()
            return False

        try:
            wait_for(healthy, timeout, "etcd to be healthy")
        except LabError:
            self.stop()
            raise

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): clients time out, as in a partition."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def log_tail(self, lines: int = 20) -> str:
        return file_tail(self.log_path, lines)

    def stop(self, timeout: float = 10) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc, "etcd", timeout)


@contextlib.contextmanager
def etcd(workdir: Path) -> Iterator[EtcdServer]:
    server = EtcdServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
