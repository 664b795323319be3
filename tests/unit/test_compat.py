"""The Ryu-on-Python-3.11 compatibility layer: the hook itself and its installation."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "scripts" / "compat" / "ryu_py311_compat.py"
VENV_PY = ROOT / ".venv" / "bin" / "python"


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run code in an interpreter that sees site-packages but runs none of its .pth files."""
    purelib = sysconfig.get_paths()["purelib"]
    prelude = f"import sys; sys.path.append({purelib!r}); sys.path.insert(0, {str(SHIM.parent)!r});"
    return subprocess.run(
        [sys.executable, "-S", "-c", prelude + code], capture_output=True, text=True, timeout=60
    )


def test_without_the_layer_eventlet_lacks_already_handled() -> None:
    out = _fresh_python("import eventlet.wsgi; print(hasattr(eventlet.wsgi, 'ALREADY_HANDLED'))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # the reason the layer exists


def test_layer_makes_ryu_wsgi_importable_in_a_fresh_interpreter() -> None:
    out = _fresh_python(
        "import ryu_py311_compat; import ryu.app.wsgi;"
        "from eventlet.wsgi import ALREADY_HANDLED; print(repr(ALREADY_HANDLED))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "()"


def test_hook_is_idempotent_and_lazy() -> None:
    spec = importlib.util.spec_from_file_location("compat_under_test", SHIM)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.install()
    mod.install()
    hooks = [f for f in sys.meta_path if type(f).__name__ == "_EventletWsgiPatcher"]
    assert 1 <= len(hooks) <= 2  # the .pth one (if running in the venv) + at most this one
    assert mod._EventletWsgiPatcher().find_spec("json") is None


@pytest.mark.skipif(not VENV_PY.exists(), reason="no .venv (run scripts/setup.sh)")
def test_venv_has_the_current_layer_installed() -> None:
    site = subprocess.run(
        [str(VENV_PY), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    installed = Path(site) / "ryu_py311_compat.py"
    assert installed.read_bytes() == SHIM.read_bytes(), "stale compat layer: run scripts/setup.sh"
    assert (Path(site) / "ryu_py311_compat.pth").read_text().strip() == "import ryu_py311_compat"


@pytest.mark.skipif(not VENV_PY.exists(), reason="no .venv (run scripts/setup.sh)")
def test_ryu_manager_and_wsgi_import_without_wrapper() -> None:
    bin_dir = VENV_PY.parent
    ver = subprocess.run(
        [str(bin_dir / "ryu-manager"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert ver.returncode == 0 and "4.34" in (ver.stdout + ver.stderr)
    imp = subprocess.run(
        [str(VENV_PY), "-c", "import ryu.app.wsgi, ryu.app.ofctl_rest, ryu.topology.switches"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imp.returncode == 0, imp.stderr
    assert "Traceback" not in imp.stderr
    assert "Eventlet is deprecated" not in imp.stderr
