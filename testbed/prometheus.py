"""A Prometheus server (Debian's ``prometheus``) of a test's own: loopback, its own data
directory, scraping the given targets; stopped by PID."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from testbed.lab import LabError, file_tail, free_tcp_port, log, port_open, stop_group, wait_for

BINARY = "/usr/bin/prometheus"


class PrometheusServer:
    def __init__(self, workdir: Path, targets: Sequence[str], scrape_s: float = 1.0) -> None:
        self.workdir = workdir
        self.targets = list(targets)
        self.scrape_s = scrape_s
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        if not Path(BINARY).exists():
            raise LabError(f"{BINARY} missing (Debian package 'prometheus'; scripts/setup.sh)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {round(self.scrape_s * 1000)}ms\n"
            f"  scrape_timeout: {round(self.scrape_s * 1000)}ms\n"
            "scrape_configs:\n"
            "  - job_name: sdn\n"
            "    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: {json.dumps(self.targets)}\n"
        )
        self.port = free_tcp_port()
        data = self.workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        cmd = [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(
                cmd, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True
            )
        log(f"prometheus pid {self.proc.pid} on {self.url}, scraping {self.targets}")

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise LabError(f"prometheus exited {self.proc.returncode}: {self.log_tail()}")
            if not port_open("127.0.0.1", self.port):
                return False
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    return resp.status == 200
            return False

        try:
            wait_for(ready, timeout, "prometheus to be ready")
        except LabError:
            self.stop()
            raise

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (raises LabError on a query error)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise LabError(f"query {expr!r}: HTTP {exc.code} {exc.read()[:300]!r}") from None
        if body.get("status") != "success":
            raise LabError(f"query {expr!r}: {body}")
        result = body["data"]["result"]
        return result if isinstance(result, list) else [result]

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, or None when it is empty."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def log_tail(self, lines: int = 20) -> str:
        return file_tail(self.log_path, lines)

    def stop(self, timeout: float = 10) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc, "prometheus", timeout)


@contextlib.contextmanager
def prometheus(
    workdir: Path, targets: Sequence[str], scrape_s: float = 1.0
) -> Iterator[PrometheusServer]:
    server = PrometheusServer(workdir, targets, scrape_s)
    server.start()
    try:
        yield server
    finally:
        server.stop()
