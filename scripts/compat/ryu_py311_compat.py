"""Make Ryu 4.34 (the last release, 2020) run on Python 3.10+ with a current eventlet.

Installed into the virtualenv's site-packages by ``scripts/setup.sh`` together with
``ryu_py311_compat.pth``, so it is active from interpreter start in every process of
the venv, including the plain ``.venv/bin/ryu-manager`` (which imports ``ryu.app.wsgi``
before it loads any application, so a shim inside our app would come too late).

What it fixes:

* ``ryu/app/wsgi.py`` does ``from eventlet.wsgi import ALREADY_HANDLED``. eventlet
  removed that name in 0.30.3, and eventlet < 0.33 crashes on Python >= 3.10, so no
  release satisfies both. When ``eventlet.wsgi`` is imported we add the name back.
  Ryu only returns it from websocket handlers, after the websocket has taken over the
  connection; current eventlet then ignores the body (it tracks that state itself in
  ``WSGI_LOCAL.already_handled``), so an empty body is the correct value.
* eventlet prints a multi-line deprecation banner on import in every process; it is
  filtered here (only that warning, by its category name).

The hook is lazy: it imports nothing until ``eventlet.wsgi`` itself is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

COMPAT_VERSION = "1"

# eventlet >= 0.37 emits EventletDeprecationWarning at import. Match by message so
# that we need not import eventlet here.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ALREADY_HANDLED: tuple[()] = ()


class _EventletWsgiPatcher(importlib.abc.MetaPathFinder):
    """Meta-path finder that adds ``ALREADY_HANDLED`` after ``eventlet.wsgi`` loads."""

    target = "eventlet.wsgi"

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.target:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original_exec(module)
            if not hasattr(module, "ALREADY_HANDLED"):
                module.ALREADY_HANDLED = ALREADY_HANDLED  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Install the hook once (idempotent)."""
    if not any(isinstance(f, _EventletWsgiPatcher) for f in sys.meta_path):
        sys.meta_path.insert(0, _EventletWsgiPatcher())
    mod = sys.modules.get("eventlet.wsgi")
    if mod is not None and not hasattr(mod, "ALREADY_HANDLED"):
        mod.ALREADY_HANDLED = ALREADY_HANDLED  # type: ignore[attr-defined]


install()
