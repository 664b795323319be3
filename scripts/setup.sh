#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian bookworm machine (or a ready one: then a fast no-op).
#   1. Debian packages (Open vSwitch, Mininet, iperf3, ethtool, Chromium and its driver,
#      Prometheus, etcd: the web view's, the metrics' and the HA tests), only those missing.
#   2. A virtualenv .venv with ryu 4.34 and the pinned dependencies (constraints.txt).
#   3. The Ryu-on-Python-3.11 compatibility layer and Debian's Mininet module in the venv.
#   4. A smoke check: ryu-manager starts, the modules import.
# Every step prints its name; a failing step says which one and why, and exits non-zero.
# Environment: PYTHON (interpreter for the venv, default python3), SETUP_FORCE=1 (redo pip).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.setup-stamp"
APT_PACKAGES=(openvswitch-switch mininet iperf3 ethtool curl iproute2 iputils-ping procps make python3-venv
              chromium chromium-driver prometheus etcd-server etcd-client wrk)
LOG="$(mktemp -t sdn-setup.XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT

say()  { printf '[setup] %s\n' "$*"; }
fail() {
    printf '[setup] FAILED at step "%s": %s\n' "$1" "$2" >&2
    if [[ -s "$LOG" ]]; then
        printf '[setup] last output of the failing command:\n' >&2
        tail -n 25 "$LOG" | sed 's/^/    /' >&2
    fi
    exit 1
}
run_logged() { "$@" >"$LOG" 2>&1; }

# ---- 1. Debian packages --------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
    say "step apt: installing ${missing[*]}"
    if [[ $EUID -ne 0 ]]; then
        fail apt "packages missing (${missing[*]}) and not running as root; run: sudo apt-get install -y ${missing[*]}"
    fi
    export DEBIAN_FRONTEND=noninteractive
    run_logged apt-get update -q || fail apt "apt-get update failed (no package mirror reachable?)"
    run_logged apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || fail apt "apt-get install ${missing[*]} failed"
else
    say "step apt: all Debian packages present"
fi

# ---- 2. Python interpreter and virtualenv -------------------------------------------
command -v "$PY" >/dev/null || fail python "interpreter '$PY' not found (set PYTHON=/path/to/python3.11)"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || fail python "'$PY' is $("$PY" --version 2>&1); Python >= 3.11 is required"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    say "step venv: creating $VENV with $("$PY" --version 2>&1)"
    rm -rf "$VENV"
    run_logged "$PY" -m venv "$VENV" || fail venv "'$PY -m venv' failed (Debian: apt-get install python3-venv)"
    rm -f "$STAMP"
else
    say "step venv: $VENV exists ($("$VENV/bin/python" --version 2>&1))"
fi
VPY="$VENV/bin/python"
SITE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    || fail venv "cannot read the venv's site-packages path"

# ---- 3. Python packages (skipped when nothing that defines them changed) -------------
want_stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" "$ROOT/scripts/setup.sh" \
    "$ROOT/scripts/compat/ryu_py311_compat.py" | sha256sum | cut -d' ' -f1)"
have_stamp="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want_stamp" != "$have_stamp" || "${SETUP_FORCE:-0}" == 1 ]]; then
    PIP=("$VPY" -m pip install --disable-pip-version-check -q -c "$ROOT/constraints.txt")
    say "step pip: build tools (setuptools<68: ryu 4.34's setup.py needs easy_install.get_script_args)"
    run_logged "${PIP[@]}" 'setuptools<68' wheel || fail pip "installing setuptools<68 and wheel failed"
    say "step pip: ryu 4.34 (--no-build-isolation, so that it builds with setuptools<68)"
    run_logged "${PIP[@]}" --no-build-isolation 'ryu==4.34' || fail pip "installing ryu==4.34 failed"
    say "step pip: this project and its dependencies (editable, with [dev])"
    run_logged "${PIP[@]}" --no-build-isolation -e "$ROOT[dev]" || fail pip "installing the project failed"
    NEED_STAMP=1
else
    say "step pip: packages up to date"
    NEED_STAMP=0
fi

# ---- 4. Compatibility layer and Mininet --------------------------------------------
say "step compat: Ryu Python 3.11 layer and Debian's Mininet module in the venv"
if ! cmp -s "$ROOT/scripts/compat/ryu_py311_compat.py" "$SITE/ryu_py311_compat.py"; then
    cp "$ROOT/scripts/compat/ryu_py311_compat.py" "$SITE/ryu_py311_compat.py" || fail compat "cannot write $SITE"
fi
echo 'import ryu_py311_compat' > "$SITE/ryu_py311_compat.pth"
MN_SRC=/usr/lib/python3/dist-packages/mininet
[[ -d "$MN_SRC" ]] || fail compat "$MN_SRC not found (Debian package 'mininet' installs it)"
# Only the mininet package is linked in: appending all of dist-packages would leak
# Debian's Python packages into the venv.
if [[ "$(readlink "$SITE/mininet" 2>/dev/null)" != "$MN_SRC" ]]; then
    rm -rf "$SITE/mininet" && ln -s "$MN_SRC" "$SITE/mininet" || fail compat "cannot link $MN_SRC"
fi

# ---- 5. Smoke check ------------------------------------------------------------------
run_logged "$VENV/bin/ryu-manager" --version || fail check ".venv/bin/ryu-manager --version failed"
run_logged "$VPY" -c 'import ryu.app.wsgi, ryu.topology.switches, networkx, numpy, mininet.net, controller' \
    || fail check "imports failed in the venv"
if ((NEED_STAMP)); then echo "$want_stamp" > "$STAMP"; fi
say "ready: $("$VENV/bin/ryu-manager" --version 2>&1 | tail -n1), $("$VPY" --version 2>&1), venv $VENV"
