"""The controller's model code loads and predicts without importing any training code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
import controller.linkcost.model
import controller.linkcost.nn
from controller.linkcost.model import CostModel
CostModel.load("controller/models/linkcost.npz")
print(json.dumps(sorted(sys.modules)))
"""


def test_loading_the_model_imports_no_training_code_and_no_sklearn() -> None:
    # A fresh interpreter: this test process has imported training code already.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "controller.linkcost.nn" in modules  # the probe did run
    banned = [
        m
        for m in modules
        if m.split(".")[0] in ("training", "sklearn", "scipy") or m.endswith("nn_training")
    ]
    assert banned == []
