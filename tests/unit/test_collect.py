"""The dataset collector's plan: coverage, per-scenario determinism, resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from topologies import build_topo
from training.collect_dataset import (
    CAPACITIES,
    COLUMNS,
    SPECS,
    completed_scenarios,
    family,
    plan,
    scenario_rng,
    scenario_spec,
)


def test_every_spec_meets_every_capacity_and_every_family_is_shaped() -> None:
    met: dict[int, set[int]] = {j: set() for j in range(len(SPECS))}
    for i in range(56):
        rates = build_topo(scenario_spec(i)).shaped_capacities_bps().values()
        met[i % len(SPECS)] |= {round(r / 1e6) for r in rates}
    assert all(set(CAPACITIES) <= caps for caps in met.values()), met
    families = {family(scenario_spec(i)) for i in range(56)}
    assert families == {"twopath", "ring", "linear", "mesh", "tree"}


def test_a_scenarios_plan_depends_only_on_the_seed_and_its_number() -> None:
    hosts = {"h1": "s1", "h2": "s2", "h3": "s3", "h4": "s3"}
    first = plan(scenario_rng(2, 7), hosts, 40.0, 10.0)
    again = plan(scenario_rng(2, 7), hosts, 40.0, 10.0)
    other = plan(scenario_rng(2, 8), hosts, 40.0, 10.0)
    assert first == again and first != other
    assert 1 <= len(first) <= 5 and all(f.start < 40 for f in first)


def test_resume_reads_the_completed_scenarios_and_refuses_other_columns(tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    assert completed_scenarios(out) == set()
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for s in (0, 0, 3):
            w.writerow([s] + ["0"] * (len(COLUMNS) - 1))
    assert completed_scenarios(out) == {0, 3}
    out.write_text("scenario,other\n1,2\n")
    with pytest.raises(SystemExit, match="cannot resume"):
        completed_scenarios(out)
