"""``layoutopt bench plan``: a whole run measured phase by phase (on the tiny province), its
table, its ratios to a baseline, and a clear refusal of a table that is not one."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from conftest import TINY, write_scenario
from layoutopt.cli import app
from layoutopt.plan.bench import against

PROGRAMMES = ["highschool", "kindergarten", "vocational", "boarding", "staffing"]


def test_bench_plan_times_every_phase_and_compares_with_a_baseline(tiny_dataset_dir, tmp_path):
    text = TINY.format(cache=(tmp_path / "cache").as_posix(), projects="[0, 1000]")
    scenario = write_scenario(tmp_path / "tiny.toml", tiny_dataset_dir, text)
    first, baseline = tmp_path / "first.csv", tmp_path / "baseline.csv"
    # A baseline as an earlier `bench plan --out` wrote it, worked by hand: 10 s a phase.
    phases = ["load and check", *PROGRAMMES, "write outputs", "whole run"]
    pd.DataFrame({"phase": phases, "seconds": 10.0}).to_csv(baseline, index=False)
    args = ["bench", "plan", "--scenario", str(scenario), "--workers", "1", "--out", str(first)]
    result = CliRunner().invoke(app, [*args, "--baseline", str(baseline)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(first)
    assert table["phase"].tolist() == phases
    rows = table.set_index("phase")
    # The phases make up the run (each rounded to a tenth of a second).
    parts = rows.loc[phases[:-1], "seconds"].sum()
    assert abs(parts - rows.at["whole run", "seconds"]) <= 0.05 * len(phases) + 1e-9
    assert (rows.loc[PROGRAMMES, "solves"] > 0).all()
    assert rows.at["whole run", "solves"] == rows.loc[PROGRAMMES, "solves"].sum()
    assert (rows.loc[PROGRAMMES, "solver_share"].between(0, 1)).all()
    assert rows.at["whole run", "peak_main_mb"] == rows.loc[phases[:-1], "peak_main_mb"].max() > 0
    # Each phase's ratio to the baseline is shown: its seconds over 10.
    ratios = against(table, pd.read_csv(baseline))
    assert ratios["ratio"].tolist() == (table["seconds"] / 10).round(2).tolist()
    whole = f"×{ratios['ratio'].iloc[-1]:.2f}"
    assert "ratio" in result.output and whole in result.output


def test_a_baseline_that_is_not_a_bench_table_is_refused_by_name(tmp_path):
    wrong = tmp_path / "kpis.csv"
    wrong.write_text("indicator,planned\nx,1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "plan", "--baseline", str(wrong)])
    assert result.exit_code != 0
    assert "not a `bench plan --out` table" in result.output
    assert "Traceback" not in result.output
