"""Scenario files: defaults, resolution of paths, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from platformdirs import user_cache_path

from conftest import ROOT
from layoutopt.errors import ScenarioError
from layoutopt.scenario import load_scenario, resolved


def test_shanxi_scenario_loads_with_defaults():
    scenario = load_scenario(ROOT / "models" / "shanxi-2025.toml")
    assert scenario.name == "shanxi-2025"
    assert scenario.data == (ROOT / "data" / "shanxi").resolve()
    assert scenario.solver.backend == "highs"
    assert scenario.norms.class_size["senior_high"] == 50  # a default (GB 50099-2011)
    assert scenario.solver.threads == 1 and scenario.highschool.grades == 3
    assert resolved(scenario)["horizon_year"] == 2025


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\ndata = "d"\n[solver]\ntime_limt_s = 5\n', encoding="utf-8")
    with pytest.raises(
        ScenarioError,
        match=r"unknown key 'solver.time_limt_s' \(did you mean "
        r"'time_limit_s'\?\)",
    ):
        load_scenario(path)


def test_wrong_value_and_missing_key_reported_together(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[solver]\nbackend = "gurobi"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "missing key 'name'" in text and "missing key 'data'" in text
    assert "'solver.backend'" in text and "gurobi" in text


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_horizon_before_base_year(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "x"\ndata = "d"\nbase_year = 2020\nhorizon_year = 2019\n', encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match=r"'horizon_year' \(2019\) is before 'base_year'"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[highschool]\nsmall_max_streams = 21\n", "'highschool.small_max_streams' (21)"),
        ("[highschool]\nnew_school_min_streams = 25\n", "'highschool.new_school_min_streams'"),
        ("[kindergarten]\nprojects = [550, 450]\n", "'kindergarten.projects' [550, 450]"),
        ("[kindergarten]\nnew_min_classes = 20\n", "'kindergarten.new_min_classes'"),
        ("[kindergarten]\nmerge_max_classes = 12\n", "'kindergarten.merge_max_classes'"),
        (
            "[travel]\nspeed_kmh = { urban = 0, town = 40, village = 35 }\n",
            "'travel.speed_kmh.urban'",
        ),
        (
            "[kindergarten]\nradius_km = { urban = -1, town = 3, village = 10 }\n",
            "'kindergarten.radius_km.urban'",
        ),
        ('[kindergarten]\nbirths = { "2020" = 0 }\n', "'kindergarten.births.2020'"),
        (
            "[kindergarten]\ngrowth_weight = { growing = -1.5 }\n",
            "'kindergarten.growth_weight.growing'",
        ),
    ],
)
def test_relations_between_fields_are_checked_and_named_by_key(tmp_path, toml, key):
    path = tmp_path / "s.toml"
    path.write_text(f'name = "x"\ndata = "d"\n{toml}', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert key in str(caught.value) and "fix:" in str(caught.value)


def test_every_relation_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "x"\ndata = "d"\n[highschool]\nsmall_max_streams = 21\n'
        "[kindergarten]\nprojects = [550, 450]\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="2 problem"):
        load_scenario(path)


def test_the_travel_cache_is_the_users_not_the_checkouts_unless_the_scenario_says(
    tmp_path, monkeypatch
):
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "s.toml"
    path.write_text('name = "s"\ndata = "../data"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.delenv("LAYOUTOPT_CACHE_DIR", raising=False)
    default = Path(load_scenario(path).travel.cache_dir)
    assert default == user_cache_path("layoutopt", appauthor=False) / "travel"
    assert not default.is_relative_to(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("LAYOUTOPT_CACHE_DIR", str(tmp_path / "mine"))
    assert Path(load_scenario(path).travel.cache_dir) == tmp_path / "mine" / "travel"
    # A relative folder is beside the scenario, whatever the working directory.
    path.write_text('name = "s"\ndata = "../data"\n[travel]\ncache_dir = "c"\n', "utf-8")
    assert Path(load_scenario(path).travel.cache_dir) == (tmp_path / "models" / "c").resolve()
    path.write_text('name = "s"\ndata = "../data"\n[travel]\ncache_dir = "/srv/c"\n', "utf-8")
    assert load_scenario(path).travel.cache_dir == "/srv/c"
