"""Re-planning with an earlier run (``plan --reuse RUN``): only the regions whose inputs
changed are solved, and the tables are byte for byte those of a full run started at the
same prices (``--prices-from RUN``), for a review decision and for a scenario change."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import TINY, run_plan, write_scenario
from layoutopt.cli import app
from layoutopt.engine import SolverOptions
from layoutopt.errors import LayoutoptError
from layoutopt.plan.reuse import priced, read_earlier, region_key
from layoutopt.scenario import load_scenario
from test_decisions import decisions_file

TABLES = ["changes.csv", "kpis.csv", "flows.csv", "beds.csv", "staffing.csv", "schools_after.csv"]
# Keep a high school of 乙县 that the plan merges, and a kindergarten of 甲区 the plan
# keeps anyway (a decision that changes nothing in the plan changes nothing downstream).
DECIDED = [
    ("highschool", "990121-SH002", "keep", ""),
    ("kindergarten", "990102-KG005", "keep", ""),
]
CHANGE = "\n[staffing]\nmental_health_min_students = 150\n"


def scenario(folder: Path, data: Path, decisions: Path | None = None, extra: str = ""):
    text = TINY.format(cache=(folder / "cache").as_posix(), projects="[0, 1000]") + extra
    if decisions is not None:
        text = f'decisions = "{decisions.as_posix()}"\n' + text
    return load_scenario(write_scenario(folder / "tiny.toml", data, text))


@pytest.fixture(scope="module")
def earlier(tiny_dataset_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("earlier")
    run_plan(scenario(folder, tiny_dataset_dir), folder / "out", workers=1)
    return folder / "out"


def both_ways(folder: Path, sc, earlier: Path) -> tuple[Path, Path, dict]:
    """The plan with reuse, and in full from the same prices; the first's manifest."""
    manifest = run_plan(sc, folder / "reuse", workers=1, earlier=read_earlier(earlier, True))
    run_plan(sc, folder / "full", workers=1, earlier=read_earlier(earlier, False))
    return folder / "reuse", folder / "full", manifest


def solved(manifest: dict) -> dict[str, list[str]]:
    return {n: p["regions_solved"] for n, p in manifest["reuse"]["programmes"].items()}


def assert_same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def test_a_decision_re_solves_its_own_county_and_the_tables_match_a_full_run(
    earlier, tiny_dataset_dir, tmp_path
):
    sc = scenario(tmp_path, tiny_dataset_dir, decisions_file(tmp_path, DECIDED))
    reused, full, manifest = both_ways(tmp_path, sc, earlier)
    assert_same_tables(reused, full)
    # The kept high school changes 乙县's high schools and so its staffing; the kept
    # kindergarten is a rule of 甲区's model (solved again) that changes nothing after it.
    assert solved(manifest) == {
        "highschool": ["990121"],
        "kindergarten": ["990102"],
        "vocational": [],
        "boarding": [],
        "staffing": ["990121"],
    }
    changes = pd.read_csv(reused / "changes.csv", encoding="utf-8-sig", dtype=str)
    kept = changes[changes["school_id"] == "990121-SH002"]
    assert kept["reason"].str.startswith("decided at review").all()
    record = manifest["reuse"]
    assert record["from"] == str(earlier.resolve()) and record["regions"] is True
    assert json.loads((full / "manifest.json").read_text())["reuse"]["regions"] is False


def test_a_scenario_change_re_solves_only_the_programme_that_reads_it(
    earlier, tiny_dataset_dir, tmp_path
):
    reused, full, manifest = both_ways(
        tmp_path, scenario(tmp_path, tiny_dataset_dir, extra=CHANGE), earlier
    )
    assert_same_tables(reused, full)
    counties = ["990102", "990121", "990201", "990222"]
    assert solved(manifest) == {
        "highschool": [],
        "kindergarten": [],
        "vocational": [],
        "boarding": [],
        "staffing": counties,
    }
    before = pd.read_csv(earlier / "staffing.csv", encoding="utf-8-sig")
    after = pd.read_csv(reused / "staffing.csv", encoding="utf-8-sig")
    assert not before.equals(after)  # the change did change the staffing


def test_the_price_searches_start_at_the_earlier_runs_prices(earlier):
    taken = read_earlier(earlier, regions=False)
    manifest = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    assert taken.price("kindergarten") == manifest["programmes"]["kindergarten"]["price_yuan"]
    assert taken.price("vocational") == manifest["programmes"]["vocational"]["price_student_min"]
    assert taken.price("highschool") is None
    assert taken.find("highschool", "990102", "any key") is None  # prices only


def test_a_region_solved_by_other_code_is_not_taken(
    earlier, tiny_dataset_dir, tmp_path, monkeypatch
):
    from layoutopt.plan import reuse

    monkeypatch.setattr(reuse, "code_digest", lambda: "another version of the code")
    manifest = run_plan(
        scenario(tmp_path, tiny_dataset_dir),
        tmp_path / "out",
        workers=1,
        only=["highschool"],
        earlier=read_earlier(earlier, True),
    )
    assert manifest["reuse"]["programmes"]["highschool"]["regions_taken"] == 0


def test_a_region_stopped_by_its_time_limit_is_solved_again(earlier, tmp_path):
    import dataclasses
    import pickle
    import shutil

    from layoutopt.engine.report import SolveStatus

    copy = tmp_path / "run"
    shutil.copytree(earlier, copy)
    path = copy / ".regions" / "highschool.pkl"
    kept = pickle.loads(path.read_bytes())
    region = kept["regions"]["990102"]
    assert read_earlier(copy, True).find("highschool", "990102", region.key) is not None
    plan = region.solves.plan
    plan.report = dataclasses.replace(plan.report, status=SolveStatus.FEASIBLE_TIME_LIMIT)
    path.write_bytes(pickle.dumps(kept))
    assert read_earlier(copy, True).find("highschool", "990102", region.key) is None


def test_a_folder_that_is_not_a_run_is_refused_by_name(tmp_path):
    with pytest.raises(LayoutoptError, match=r"no manifest\.json"):
        read_earlier(tmp_path, regions=True)
    result = CliRunner().invoke(
        app,
        ["plan", "x.toml", "--reuse", str(tmp_path), "--prices-from", str(tmp_path)],
    )
    assert result.exit_code != 0 and "--reuse and --prices-from both given" in result.output


OPTIONS = SolverOptions()


def key(region: object, price: float | None = None) -> str:
    return priced(region_key("highschool", "990102", region, OPTIONS), price)


def test_the_key_follows_content_not_how_the_objects_were_built():
    a = {"t": pd.DataFrame({"id": ["S1", "S2"], "n": [1.0, 2.0]}), "k": 3}
    b = {"t": pd.DataFrame({"n": [1.0, 2.0]}).assign(id=["S1", "S2"])[["id", "n"]], "k": 3}
    assert key(a) == key(b)
    # No rows: the same whatever dtype or index the empty selection kept.
    empty = pd.DataFrame({"decision": ["keep"]}, index=["S9"]).iloc[:0]
    assert key({"d": empty}) == key({"d": pd.DataFrame(columns=["decision"])})
    assert key(a, 0.0) != key(a, 1.0)
    assert key(a) != key({**a, "k": 4})


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=20),
    st.data(),
)
def test_changing_any_one_value_changes_the_key(values, data):
    frame = pd.DataFrame({"id": [f"S{i}" for i in range(len(values))], "x": values})
    i = data.draw(st.integers(0, len(values) - 1))
    bumped = frame.copy()
    bumped.loc[i, "x"] = np.nextafter(values[i], np.inf)
    assert key(frame) == key(frame.copy()) != key(bumped)
    renamed = frame.copy()
    renamed.loc[i, "id"] = "other"
    assert key(renamed) != key(frame)
