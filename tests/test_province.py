"""Province figures: none hides in code. A scenario that leaves one out gets it from the
data set, said so, or a message naming every missing key."""

from __future__ import annotations

import pytest

from conftest import write_scenario
from layoutopt.data.calibration import load_calibration
from layoutopt.data.dataset import load_dataset
from layoutopt.errors import ScenarioError
from layoutopt.plan import make_plan
from layoutopt.plan.province import complete
from layoutopt.scenario import Scenario, load_scenario

PROGRAMMES = ["highschool", "kindergarten", "vocational", "boarding", "staffing"]


def test_the_code_holds_no_province_figure():
    blank = Scenario(name="x", data="d")
    assert blank.highschool.general_share is None and blank.highschool.plan_students is None
    assert blank.vocational.vocational_share is None and blank.vocational.plan_students is None
    assert blank.vocational.schools_kept is None and blank.kindergarten.projects is None
    assert blank.kindergarten.births is None and blank.boarding.plan_projects is None
    assert blank.staffing.plan_teachers is None


def test_shares_left_out_are_the_registers_and_said_so(tiny_dataset_dir, tmp_path):
    scenario = load_scenario(write_scenario(tmp_path / "s.toml", tiny_dataset_dir))
    dataset = load_dataset(scenario.data)
    done, notes = complete(scenario, dataset, ["highschool", "vocational"])
    schools = dataset.schools
    general = schools.loc[schools["level"].isin(["senior_high", "complete_secondary"])]
    general = general["senior_enrolment"].fillna(general["enrolment"]).sum()
    vocational = schools.loc[schools["level"] == "vocational", "enrolment"].sum()
    share = general / (general + vocational)
    assert 0 < share < 1
    assert done.highschool.general_share == pytest.approx(share)
    assert done.vocational.vocational_share == pytest.approx(1 - share)
    assert done.highschool.plan_students == 0 == done.vocational.plan_students
    assert any(n.startswith("highschool.general_share not in the scenario") for n in notes)
    assert any("register's share" in n for n in notes)
    assert any(
        n.startswith("vocational.schools_kept not in the scenario: no target") for n in notes
    )


def test_one_share_given_makes_the_other_its_complement(tiny_dataset_dir, tmp_path):
    text = "[highschool]\ngeneral_share = 0.6\n"
    scenario = load_scenario(write_scenario(tmp_path / "s.toml", tiny_dataset_dir, text))
    done, notes = complete(scenario, load_dataset(scenario.data), ["vocational"])
    assert done.vocational.vocational_share == pytest.approx(0.4)
    assert "1 - highschool.general_share" in " ".join(notes)


def test_births_left_out_are_the_data_sets_or_named_as_missing(tiny_copy, tmp_path):
    scenario = load_scenario(write_scenario(tmp_path / "s.toml", tiny_copy))
    built = load_calibration(tiny_copy / "calibration.toml").cohorts.births
    done, notes = complete(scenario, load_dataset(scenario.data), PROGRAMMES)
    assert done.kindergarten.births == built
    said = "kindergarten.births not in the scenario: the births the data set was built with"
    assert any(n.startswith(said) for n in notes)
    (tiny_copy / "calibration.toml").unlink()  # a register, not a generated data set
    dataset = load_dataset(scenario.data)
    with pytest.raises(ScenarioError, match=r"1 province figure\(s\) missing:\n  kindergarten"):
        complete(scenario, dataset, PROGRAMMES)
    with pytest.raises(ScenarioError) as error:
        complete(scenario, dataset, PROGRAMMES)
    assert 'births = { "2020" = ..., "2021" = ..., "2022" = ... }' in str(error.value)
    complete(scenario, dataset, ["highschool"])  # no kindergarten, no births needed


def test_a_plan_without_province_targets_runs_and_reports_no_target(tiny_dataset_dir, tmp_path):
    text = '[kindergarten]\nbirths = { "2020" = 9898, "2021" = 8470, "2022" = 8080 }\n'
    text += f'[travel]\ncache_dir = "{(tmp_path / "c").as_posix()}"\n'
    scenario = load_scenario(write_scenario(tmp_path / "s.toml", tiny_dataset_dir, text))
    plan = make_plan(scenario, only=["kindergarten", "boarding"], workers=1)
    assert any("kindergarten.projects not in the scenario" in n for n in plan.dataset.notes)
    kpis = plan.results[0].kpis
    projects = kpis[kpis["indicator"] == "public_projects_at_least"]
    assert projects["target"].isna().all() and (projects["met"] == "").all()
    # No count to meet: one plan solve a county (no price search), after today's.
    assert len(plan.results[0].solves) == 2 * len(plan.dataset.regions)
    boarding = plan.results[1].kpis
    dorms = boarding[
        (boarding["indicator"] == "dormitory_projects") & (boarding["scope"] == "province")
    ]
    assert dorms["target"].isna().all()
