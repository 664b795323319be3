"""scripts/pathctl against the real WSGI stack served on loopback (wsgiref, a thread)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from testbed.lab import free_tcp_port
from tests.unit.test_rest_schema import make_app

PATHCTL = Path(__file__).resolve().parents[2] / "scripts" / "pathctl"


def _load_pathctl():
    loader = importlib.machinery.SourceFileLoader("pathctl", str(PATHCTL))
    spec = importlib.util.spec_from_loader("pathctl", loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


pathctl = _load_pathctl()


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    app, _ = make_app(token="tok")
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = pathctl.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_tables_and_json(url: str, capsys) -> None:
    code, out, _ = run(capsys, "--url", url, "hosts")
    assert code == 0 and out.splitlines()[0].split() == ["MAC", "IPv4", "DPID", "PORT"]
    assert "10.0.0.4" in out
    code, out, _ = run(capsys, "--url", url, "--json", "health")
    assert code == 0 and json.loads(out)["switches"] == 6
    code, out, _ = run(capsys, "--url", url, "path", "10.0.0.1", "10.0.0.4", "--k", "2")
    assert code == 0 and "path 1: total cost 3" in out and "path 2: total cost 3" in out
    for cmd in ("topology", "links", "routes", "flows", "model", "metric"):
        code, out, _ = run(capsys, "--url", url, cmd)
        assert code == 0 and out.strip(), cmd


def test_writes_need_the_token(url: str, capsys) -> None:
    code, _, err = run(capsys, "--url", url, "metric", "set", "cost")
    assert code == 1 and "401" in err
    code, out, _ = run(capsys, "--url", url, "--token", "tok", "metric", "set", "cost")
    assert code == 0 and "metric: cost" in out
    code, out, _ = run(capsys, "--url", url, "--token", "tok", "cost", "set", "1", "2", "7.5")
    assert code == 0 and "override 7.5" in out
    code, out, _ = run(capsys, "--url", url, "--token", "tok", "cost", "clear", "1", "2")
    assert code == 0 and "override -" in out


def test_errors_are_clear(url: str, capsys) -> None:
    code, _, err = run(capsys, "--url", url, "path", "10.0.0.1", "10.9.9.9")
    assert code == 1 and "404" in err and "10.9.9.9" in err
    code, _, err = run(capsys, "--url", url, "--token", "tok", "cost", "set", "1", "2")
    assert code == 2 and "usage" in err


def test_unreachable_controller_exits_3(capsys) -> None:
    code, _, err = run(capsys, "--url", f"http://127.0.0.1:{free_tcp_port()}", "health")
    assert code == 3 and "cannot reach the controller" in err
