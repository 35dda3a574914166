"""Sweeps and comparisons: settings parsed, variants checked before any runs, the sweep
table sets variants side by side, compare lists the schools whose action changed."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import write_scenario
from layoutopt.cli import app
from layoutopt.errors import ScenarioError
from layoutopt.plan.sweep import Variant, parse_setting, sweep_table, variants
from layoutopt.report.compare import changed_schools, kpis_side_by_side

TINY = """
[travel]
cache_dir = "{cache}"
[highschool]
plan_students = 0
"""


def test_a_setting_reads_numbers_lists_and_text():
    assert parse_setting("highschool.small_max_streams=3,4,5").values == (3, 4, 5)
    assert parse_setting("kindergarten.enrolment_rate = 0.95, 0.965").values == (0.95, 0.965)
    assert parse_setting("kindergarten.projects=[400,500],[450,550]").values == (
        [400, 500],
        [450, 550],
    )
    assert parse_setting("boarding.day_mode=bus,walk").values == ("bus", "walk")
    with pytest.raises(ScenarioError, match=r"expected section\.key=value1"):
        parse_setting("highschool.small_max_streams")


@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=6))
def test_any_list_of_numbers_reads_back_in_order(numbers):
    text = "a.b=" + ",".join(str(n) for n in numbers)
    assert parse_setting(text).values == tuple(numbers)


def test_variants_are_the_product_and_every_bad_one_is_named(tiny_dataset_dir, tmp_path):
    path = write_scenario(tmp_path / "s.toml", tiny_dataset_dir, TINY.format(cache="c"))
    found = variants(
        path,
        [
            parse_setting("highschool.small_max_streams=3,4,5"),
            parse_setting("kindergarten.enrolment_rate=0.95,0.965"),
        ],
    )
    assert len(found) == 6
    assert [v.folder for v in found[:2]] == [
        "01-small_max_streams=3-enrolment_rate=0.95",
        "02-small_max_streams=3-enrolment_rate=0.965",
    ]
    assert found[5].scenario.highschool.small_max_streams == 5
    assert found[5].scenario.kindergarten.enrolment_rate == 0.965
    with pytest.raises(ScenarioError) as error:
        variants(
            path,
            [parse_setting("highschool.small_max_streamz=3"), parse_setting("solver.mip_gap=-1,0")],
        )
    text = str(error.value)
    assert "variant 1 (highschool.small_max_streamz = 3, solver.mip_gap = -1)" in text
    assert "variant 2" in text and "small_max_streamz" in text


def kpi(programme: str, indicator: str, planned: str, scope: str = "province") -> dict:
    return {
        "programme": programme,
        "indicator": indicator,
        "scope": scope,
        "scope_id": "all",
        "baseline": "1",
        "target": "0",
        "planned": planned,
        "met": "yes" if planned == "0" else "no",
    }


def change(school: str, action: str, programme: str = "highschool") -> dict:
    return {
        "programme": programme,
        "action": action,
        "school_id": school,
        "school_name": f"学校{school}",
        "county": "甲区",
    }


def test_the_sweep_table_counts_every_action_in_every_variant(tiny_dataset_dir, tmp_path):
    path = write_scenario(tmp_path / "s.toml", tiny_dataset_dir, TINY.format(cache="c"))
    three, five = variants(path, [parse_setting("highschool.small_max_streams=3,5")])
    runs: list[tuple[Variant, pd.DataFrame, pd.DataFrame]] = [
        (
            three,
            pd.DataFrame([kpi("highschool", "small", "0")]),
            pd.DataFrame([change("A", "expand")]),
        ),
        (
            five,
            pd.DataFrame([kpi("highschool", "small", "2"), kpi("highschool", "x", "9", "county")]),
            pd.DataFrame([change("A", "merge_into"), change("B", "merge_into")]),
        ),
    ]
    table = sweep_table(runs)
    rows = {(r.indicator, r.variant): r for r in table.itertuples()}
    assert (
        list(table["indicator"])
        == ["small"] * 2 + ["changes_expand"] * 2 + ["changes_merge_into"] * 2
    )
    assert rows["small", 1].planned == "0" and rows["small", 2].planned == "2"
    assert rows["changes_merge_into", 1].planned == 0 and rows["changes_merge_into", 2].planned == 2
    assert rows["changes_expand", 2].planned == 0
    assert set(table["highschool.small_max_streams"]) == {"3", "5"}


def test_compare_lists_schools_whose_action_changed_and_kpis_side_by_side():
    a = pd.DataFrame([change("A", "expand"), change("B", "merge_into"), change("C", "add_beds")])
    b = pd.DataFrame(
        [change("A", "expand"), change("C", "add_beds"), change("C", "expand"), change("D", "x")]
    )
    schools = changed_schools(a, b)
    assert list(
        zip(schools["school_id"], schools["action_a"], schools["action_b"], strict=True)
    ) == [
        ("B", "merge_into", "(no action in this run)"),
        ("C", "add_beds", "add_beds;expand"),
        ("D", "(no action in this run)", "x"),
    ]
    assert schools.loc[schools["school_id"] == "D", "school_name"].item() == "学校D"
    side = kpis_side_by_side(
        pd.DataFrame([kpi("highschool", "small", "0"), kpi("highschool", "cost", "5")]),
        pd.DataFrame([kpi("highschool", "small", "3"), kpi("highschool", "cost", "5")]),
    )
    assert dict(zip(side["indicator"], side["changed"], strict=True)) == {
        "small": "yes",
        "cost": "no",
    }
    assert side.loc[side["indicator"] == "small", ["planned_a", "planned_b"]].values.tolist() == [
        ["0", "3"]
    ]


def test_sweep_and_compare_on_the_tiny_province(tiny_dataset_dir, tmp_path):
    path = write_scenario(
        tmp_path / "s.toml", tiny_dataset_dir, TINY.format(cache=(tmp_path / "c").as_posix())
    )
    out = tmp_path / "sweep"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "sweep",
            str(path),
            "--set",
            "highschool.small_max_streams=2,6",
            "--only",
            "highschool",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    merges = table[table["indicator"] == "changes_merge_into"].set_index("variant")["planned"]
    assert int(merges["1"]) < int(merges["2"])  # more schools are small at 6 streams
    for folder in table["folder"].unique():
        assert (out / folder / "changes.csv").is_file() and (
            out / folder / "manifest.json"
        ).is_file()
    one, two = sorted(table["folder"].unique())
    result = runner.invoke(app, ["compare", str(out / one), str(out / two), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    schools = pd.read_csv(tmp_path / "compare_schools.csv", dtype=str, encoding="utf-8-sig")
    became = schools[schools["action_b"] == "merge_into"]
    assert len(became) >= int(merges["2"]) - int(merges["1"]) > 0
    assert set(became["school_id"]) <= set(schools["school_id"])
    assert "Schools whose action changed" in result.output


def test_compare_names_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(app, ["compare", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 1
    assert "changes.csv: not found" in result.output and "fix:" in result.output


def test_a_nested_setting_sets_one_key_of_a_table_and_keeps_the_others(tiny_dataset_dir, tmp_path):
    text = TINY.format(cache="c") + '[kindergarten]\nbirths = { "2020" = 10, "2021" = 11 }\n'
    path = write_scenario(tmp_path / "s.toml", tiny_dataset_dir, text)
    one, two = variants(path, [parse_setting("kindergarten.births.2020=100,200")])
    assert one.scenario.kindergarten.births == {"2020": 100, "2021": 11}
    assert two.scenario.kindergarten.births == {"2020": 200, "2021": 11}
    again = variants(path, [parse_setting("highschool.small_max_streams=3")])
    assert again[0].scenario.kindergarten.births == {"2020": 10, "2021": 11}
