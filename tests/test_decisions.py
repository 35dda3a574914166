"""A review meeting's decisions (decisions.csv): refused with every problem named by line,
or taken into the high-school model as its rules, each shown on the tiny province
against the plan the model makes without them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import TINY, read_output, run_plan, write_scenario
from layoutopt.decisions import COLUMNS
from layoutopt.errors import InputError
from layoutopt.scenario import load_scenario

DATE = "2026-12-03"


def decisions_file(folder: Path, rows: list[tuple[str, ...]]) -> Path:
    """rows: (programme, school_id, decision, target_id[, reason])."""
    full = [(*(*r, "county request")[:5], "县教育局", DATE) for r in rows]
    path = folder / "decisions.csv"
    pd.DataFrame(full, columns=COLUMNS).to_csv(path, index=False, encoding="utf-8")
    return path


def scenario_with(folder: Path, data: Path, decisions: Path | None) -> object:
    text = TINY.format(cache=(folder / "cache").as_posix(), projects="[0, 1000]")
    if decisions is not None:
        text = f'decisions = "{decisions.as_posix()}"\n' + text
    return load_scenario(write_scenario(folder / "tiny.toml", data, text))


def plan_with(
    folder: Path, data: Path, rows: list[tuple[str, ...]], only: str = "highschool"
) -> tuple[Path, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    decisions = decisions_file(folder, rows) if rows else None
    out = folder / "out"
    manifest = run_plan(scenario_with(folder, data, decisions), out, only=[only])
    return out, manifest


def refusal(folder: Path, data: Path, rows: list[tuple[str, ...]]) -> str:
    """The message with which a plan of every programme refuses these decisions."""
    path = decisions_file(folder, rows)
    with pytest.raises(InputError) as caught:
        run_plan(scenario_with(folder, data, path), folder / "out")
    assert not (folder / "out").exists()  # nothing written
    return " ".join(str(caught.value).split())


@pytest.fixture(scope="module")
def undecided(tiny_dataset_dir, tmp_path_factory) -> Path:
    return plan_with(tmp_path_factory.mktemp("undecided"), tiny_dataset_dir, [])[0]


# The tiny province's high schools (seed 7) and what the model plans without decisions:
# 乙县 merges its two 2-stream schools CS001 and SH002 into SH003; 甲区 keeps SH004
# (9 streams) and grows SH001; 丙市 grows SH001 (10 streams) by one stream; 丁县 builds
# nothing.
DECIDED = [
    ("highschool", "990121-SH002", "keep", ""),
    ("highschool", "990121-CS001", "merge_into", "990121-SH001"),
    ("highschool", "990102-SH004", "close", ""),
    ("highschool", "990201-SH001", "no_change", ""),
    ("highschool", "990222-S009", "build", ""),
    ("highschool", "990102-S003", "do_not_build", ""),
]


@pytest.fixture(scope="module")
def decided(tiny_dataset_dir, tmp_path_factory) -> tuple[Path, dict]:
    return plan_with(tmp_path_factory.mktemp("decided"), tiny_dataset_dir, DECIDED)


def rows_of(run: Path, school_id: str) -> pd.DataFrame:
    changes = read_output(run, "changes.csv")
    return changes[changes["school_id"] == school_id]


def after(run: Path, school_id: str) -> pd.Series:
    schools = read_output(run, "schools_after.csv").set_index("school_id")
    return schools.loc[school_id]


def test_without_decisions_the_model_plans_what_the_decisions_overturn(undecided):
    assert set(rows_of(undecided, "990121-SH002")["action"]) == {"merge_into"}
    assert set(rows_of(undecided, "990121-CS001")["target_id"]) == {"990121-SH003"}
    assert after(undecided, "990102-SH004")["open"] in (True, "True")
    assert "expand" in set(rows_of(undecided, "990201-SH001")["action"])
    assert rows_of(undecided, "990222-S009").empty


def test_a_kept_school_stays_open_and_its_row_says_who_decided(decided):
    run, _ = decided
    rows = rows_of(run, "990121-SH002")
    assert "merge_into" not in set(rows["action"])
    assert after(run, "990121-SH002")["open"] in (True, "True")
    said = f"decided at review {DATE} by 县教育局: kept (county request)"
    assert all(r.startswith(said) for r in rows["reason"]), rows["reason"].tolist()


def test_a_merge_goes_to_the_decided_receiver(decided):
    run, _ = decided
    rows = rows_of(run, "990121-CS001")
    merge = rows[rows["action"] == "merge_into"]
    assert merge["target_id"].tolist() == ["990121-SH001"]
    flows = read_output(run, "flows.csv")
    out = flows[flows["from_id"] == "990121-CS001"]
    assert len(out) and set(out["to_id"]) == {"990121-SH001"}, out


def test_a_school_decided_closed_closes_though_it_is_not_small(decided):
    run, _ = decided
    assert after(run, "990102-SH004")["size_register"] == 9  # streams: not small
    assert after(run, "990102-SH004")["open"] in (False, "False")
    rows = rows_of(run, "990102-SH004")
    assert rows["action"].tolist() == ["merge_into"]
    assert "decided at review" in rows["reason"].iloc[0]


def test_no_change_holds_a_school_at_its_streams(decided):
    run, _ = decided
    school = after(run, "990201-SH001")
    assert int(school["size_after"]) == int(school["size_register"]) == 10
    assert "expand" not in set(rows_of(run, "990201-SH001")["action"])


def test_a_decided_build_opens_a_new_school_and_a_site_not_built_on_says_so(decided):
    run, _ = decided
    built = rows_of(run, "990222-S009")
    assert built["action"].tolist() == ["new_school"], built
    assert built["reason"].iloc[0].startswith(f"decided at review {DATE}")
    refused = rows_of(run, "990102-S003")
    assert refused["action"].tolist() == ["as_decided"]
    assert "not built on" in refused["reason"].iloc[0]


def test_the_manifest_records_the_file_and_its_hash(decided):
    run, manifest = decided
    record = manifest["decisions"]
    assert record["decisions"] == str(len(DECIDED))
    assert Path(record["file"]).name == "decisions.csv"
    import hashlib

    assert record["sha256"] == hashlib.sha256(Path(record["file"]).read_bytes()).hexdigest()
    assert json.loads((run / "manifest.json").read_text(encoding="utf-8"))["decisions"] == record


def test_the_audit_passes_on_the_decided_plan(decided):
    from layoutopt.report.audit import audit

    assert audit(decided[0]) == []


def test_a_build_the_plan_cannot_hold_is_a_shortfall_row(tiny_dataset_dir, tmp_path):
    # 990222-S010 is a town centre of 12 classes: 4 streams of 3 grades, below a new
    # school's 6, so no new high school can open there.
    run, _ = plan_with(tmp_path, tiny_dataset_dir, [("highschool", "990222-S010", "build", "")])
    rows = rows_of(run, "990222-S010")
    assert rows["action"].tolist() == ["shortfall"], rows
    assert "rule decided_build: a new school at 990222-S010 cannot open" in rows["reason"].iloc[0]


def test_a_school_decided_expanded_adds_a_stream_or_says_why_not(
    tiny_dataset_dir, tmp_path, undecided
):
    # 甲区's SH004 (9 streams) is kept at its size without decisions: decided, it adds a
    # stream (at the stream cost, the least the model may add).
    assert "expand" not in set(rows_of(undecided, "990102-SH004")["action"])
    run, _ = plan_with(
        tmp_path / "grow", tiny_dataset_dir, [("highschool", "990102-SH004", "expand", "")]
    )
    grown = after(run, "990102-SH004")
    assert int(grown["size_after"]) >= int(grown["size_register"]) + 1 == 10
    rows = rows_of(run, "990102-SH004")
    assert "expand" in set(rows["action"])
    assert rows["reason"].str.startswith("decided at review").all()
    # With max_streams at 9 it has no room: a shortfall row names the rule and the school.
    folder = tmp_path / "cap"
    folder.mkdir()
    path = decisions_file(folder, [("highschool", "990102-SH004", "expand", "")])
    text = TINY.format(cache=(folder / "cache").as_posix(), projects="[0, 1000]")
    text = f'decisions = "{path.as_posix()}"\n' + text.replace(
        "[highschool]\n", "[highschool]\nmax_streams = 9\n"
    )
    scenario = load_scenario(write_scenario(folder / "tiny.toml", tiny_dataset_dir, text))
    run_plan(scenario, folder / "out", only=["highschool"])
    rows = rows_of(folder / "out", "990102-SH004")
    short = rows[rows["action"] == "shortfall"]
    assert (
        len(short) == 1
        and "rule decided_expand: 990102-SH004 cannot add a stream" in (short["reason"].iloc[0])
    )


def test_every_problem_of_a_decisions_file_is_named_by_its_line(tiny_dataset_dir, tmp_path):
    rows = [
        ("highschool", "990121-SH002", "keep", ""),  # line 2
        ("highschool", "990121-SH002", "close", ""),  # 3: decided twice
        ("highschool", "990102-SH002", "merge_into", "990102-SH003"),  # 4: into a closing
        ("highschool", "990102-SH003", "close", ""),  # 5
        ("highschool", "990201-SH002", "merge_into", "990222-SH001"),  # 6: across counties
        ("highschool", "990102-S008", "build", ""),  # 7: a vacant-school site
        ("highschool", "990102-XX999", "keep", ""),  # 8: unknown id
        ("highschool", "990201-SH003", "close", ""),  # 9: a private school
        ("staffing", "990102-PS001", "keep", ""),  # 10: not taken in yet
        ("highschool", "990222-SH001", "merge_into", ""),  # 11: no target
        ("highschool", "990102-CS001", "shut", ""),  # 12: no such decision
    ]
    path = decisions_file(tmp_path, rows)
    text = path.read_text(encoding="utf-8").replace("2026-12-03", "2026-13-03", 1)  # line 2
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        run_plan(scenario_with(tmp_path, tiny_dataset_dir, path), tmp_path / "out")
    message = str(caught.value)
    expected = {
        2: "is not a day YYYY-MM-DD",
        3: "990121-SH002 (highschool) is decided twice: 'close' here and 'keep' at line 2",
        4: "merges into 990102-SH003, which closes by another decision",
        6: "merges into 990222-SH001 in county 990222: a merge stays within its county",
        7: "site 990102-S008 is a vacant_school site, where highschool does not build",
        8: "school_id 990102-XX999 is neither a school nor a candidate site",
        9: "990201-SH003 is a private school",
        10: "programme 'staffing': decisions are not yet taken into",
        11: "merge_into without a target_id",
        12: "decision 'shut' is not known",
    }
    for line, text in expected.items():
        said = [x for x in message.splitlines() if f"decisions.csv line {line}: " in x]
        assert any(text in x for x in said), (line, message)
    assert message.startswith("11 problem(s)"), message
    assert not (tmp_path / "out").exists()  # nothing written


def test_closing_every_public_school_of_a_county_is_refused(tiny_dataset_dir, tmp_path):
    rows = [
        ("highschool", "990222-SH001", "close", ""),
        ("highschool", "990222-SH003", "close", ""),
    ]
    said = refusal(tmp_path, tiny_dataset_dir, rows)
    assert "line 3: the decisions close every public school of highschool" in said


def test_the_command_line_refuses_a_bad_file_without_a_traceback(tiny_dataset_dir, tmp_path):
    from typer.testing import CliRunner

    from layoutopt.cli import app

    path = decisions_file(tmp_path, [("highschool", "nowhere", "keep", "")])
    scenario = scenario_with(tmp_path, tiny_dataset_dir, None).source
    args = ["plan", str(scenario), "--decisions", str(path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "line 2: school_id nowhere is neither a school" in " ".join(result.output.split())
    assert "Traceback" not in result.output


# Kindergartens (seed 7). Without decisions the model merges 990121-KG023 into KG015 and
# KG035 into KG039, expands 990201-KG006 and KG025, builds on 990102-S003 and leaves
# 990222-S001 and 990102-KG075 as they are.
KG_DECIDED = [
    ("kindergarten", "990121-KG023", "keep", ""),
    ("kindergarten", "990121-KG035", "merge_into", "990121-KG034"),
    ("kindergarten", "990201-KG006", "close", ""),
    ("kindergarten", "990201-KG025", "no_change", ""),
    ("kindergarten", "990102-KG075", "expand", ""),
    ("kindergarten", "990222-S001", "build", ""),
    ("kindergarten", "990102-S003", "do_not_build", ""),
]


def without_and_with(folder: Path, data: Path, rows: list, programme: str) -> tuple[Path, Path]:
    """One programme planned without the decisions, then with them."""
    return (
        plan_with(folder / "undecided", data, [], programme)[0],
        plan_with(folder / "decided", data, rows, programme)[0],
    )


def assert_every_decision_said(run: Path, rows: list) -> None:
    for _, school_id, *_ in rows:
        reasons = rows_of(run, school_id)["reason"]
        assert len(reasons) and all(r.startswith("decided at review") for r in reasons)


@pytest.fixture(scope="module")
def kg_runs(tiny_dataset_dir, tmp_path_factory) -> tuple[Path, Path]:
    return without_and_with(
        tmp_path_factory.mktemp("kg"), tiny_dataset_dir, KG_DECIDED, "kindergarten"
    )


def actions(run: Path, school_id: str) -> set[str]:
    return set(rows_of(run, school_id)["action"])


def test_kindergarten_decisions_overturn_what_the_model_plans(kg_runs):
    undecided, decided = kg_runs
    assert "merge_into" in actions(undecided, "990121-KG023")
    assert "merge_into" not in actions(decided, "990121-KG023")
    assert after(decided, "990121-KG023")["open"] in (True, "True")
    assert "expand" in actions(undecided, "990201-KG006")
    assert after(decided, "990201-KG006")["open"] in (False, "False")
    assert "expand" in actions(undecided, "990201-KG025")
    assert "expand" not in actions(decided, "990201-KG025")
    school = after(decided, "990201-KG025")
    assert int(school["size_after"]) == int(school["size_register"])
    assert "expand" not in actions(undecided, "990102-KG075")
    assert "expand" in actions(decided, "990102-KG075")
    assert "new_kindergarten" in actions(undecided, "990102-S003")
    assert actions(decided, "990102-S003") == {"as_decided"}
    assert not actions(undecided, "990222-S001") & {"new_kindergarten", "convert_building"}
    assert "new_kindergarten" in actions(decided, "990222-S001")
    assert_every_decision_said(decided, KG_DECIDED)


def test_a_kindergarten_merge_goes_to_the_decided_receiver(kg_runs):
    flows = read_output(kg_runs[1], "flows.csv")
    out = flows[flows["from_id"] == "990121-KG035"]
    assert len(out) and set(out["to_id"]) == {"990121-KG034"}, out
    rows = rows_of(kg_runs[1], "990121-KG035")
    assert rows.loc[rows["action"] == "merge_into", "target_id"].tolist() == ["990121-KG034"]


def test_the_audit_passes_on_the_decided_kindergartens(kg_runs):
    from layoutopt.report.audit import audit

    assert audit(kg_runs[1]) == []


def test_a_site_built_on_by_two_programmes_is_refused(tiny_dataset_dir, tmp_path):
    rows = [
        ("highschool", "990222-S009", "build", ""),
        ("kindergarten", "990222-S009", "build", ""),
    ]
    said = refusal(tmp_path, tiny_dataset_dir, rows)
    assert "line 3: site 990222-S009 is built on by kindergarten here and by highschool" in said


def test_compare_says_which_decisions_and_scenario_keys_differ(undecided, decided, tmp_path):
    from typer.testing import CliRunner

    from layoutopt.cli import app

    args = ["compare", str(undecided), str(decided[0]), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Review decisions that differ ({len(DECIDED)})" in result.output
    assert "…" not in result.output  # long names fold, never cut
    decisions = read_output(tmp_path, "compare_decisions.csv")
    assert set(decisions["decision_a"]) == {"(no decision)"}
    merged = decisions.set_index("school_id").loc["990121-CS001", "decision_b"]
    assert merged == "merge_into 990121-SH001"
    keys = read_output(tmp_path, "compare_scenario.csv")
    assert "decisions" in set(keys["key"])
    schools = read_output(tmp_path, "compare_schools.csv").set_index("school_id")
    kept = schools.loc["990121-SH002"]
    assert kept["action_a"] == "merge_into" and kept["action_b"] != "merge_into"
    moved = rows_of(undecided, "990121-SH002")["students_moved"].astype(float).sum()
    assert int(kept["students_moved_a"]) == round(moved) > 0


def test_compare_warns_when_the_runs_planned_different_programmes(decided, kg_runs):
    from typer.testing import CliRunner

    from layoutopt.cli import app

    result = CliRunner().invoke(app, ["compare", str(decided[0]), str(kg_runs[1])])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning: the runs planned different programmes" in said
    assert "Schools whose action changed (0;" in said


# Vocational schools (seed 7). Without decisions the model merges 990102-VS002 into VS004
# and 990201-VS004 into VS003, grows 990121-VS003 and keeps 990201-VS001; every county
# has a public vocational school, so no new one may be built.
VOC_DECIDED = [
    ("vocational", "990102-VS002", "keep", ""),
    ("vocational", "990201-VS004", "merge_into", "990201-VS002"),
    ("vocational", "990201-VS001", "close", ""),
    ("vocational", "990121-VS003", "no_change", ""),
    ("vocational", "990222-S009", "build", ""),
    ("vocational", "990102-S003", "do_not_build", ""),
    ("vocational", "990222-VS001", "expand", ""),  # 14 streams: room to grow
    ("vocational", "990102-VS005", "expand", ""),  # 20 streams, below max_streams (30)
]


@pytest.fixture(scope="module")
def voc_runs(tiny_dataset_dir, tmp_path_factory) -> tuple[Path, Path]:
    return without_and_with(
        tmp_path_factory.mktemp("voc"), tiny_dataset_dir, VOC_DECIDED, "vocational"
    )


def test_vocational_decisions_overturn_what_the_model_plans(voc_runs):
    undecided, decided = voc_runs
    assert "merge_into" in actions(undecided, "990102-VS002")
    assert "merge_into" not in actions(decided, "990102-VS002")
    assert after(decided, "990102-VS002")["open"] in (True, "True")
    assert after(undecided, "990201-VS001")["open"] in (True, "True")
    assert after(decided, "990201-VS001")["open"] in (False, "False")
    assert "expand" in actions(undecided, "990121-VS003")
    assert "expand" not in actions(decided, "990121-VS003")
    flows = read_output(decided, "flows.csv")
    out = flows[flows["from_id"] == "990201-VS004"]
    assert len(out) and set(out["to_id"]) == {"990201-VS002"}, out
    built = rows_of(decided, "990222-S009")
    assert built["action"].tolist() == ["shortfall"]
    assert "rule decided_build" in built["reason"].iloc[0]
    assert actions(decided, "990102-S003") == {"as_decided"}
    assert "expand" not in actions(undecided, "990222-VS001")
    assert "expand" in actions(decided, "990222-VS001")
    grown = after(decided, "990222-VS001")
    assert int(grown["size_after"]) >= int(grown["size_register"]) + 1
    assert "expand" in actions(decided, "990102-VS005")
    assert_every_decision_said(decided, VOC_DECIDED)


def test_a_vocational_school_that_cannot_grow_gets_a_decided_expand_shortfall():
    from layoutopt.programmes.vocational.outcome import decided_expansions_not_held
    from layoutopt.scenario import VocationalSection

    places = pd.DataFrame({"place_id": ["A", "B"], "modules": [0, 1]})
    decided = pd.DataFrame(
        {"decision": ["expand", "expand"], "target_id": "", "region_id": ["R1", "R2"]},
        index=["A", "B"],
    )
    rows = decided_expansions_not_held(places, decided, VocationalSection())
    assert [(r["region_id"], r["action"], r["school_id"]) for r in rows] == [
        ("R1", "shortfall", "A")
    ]
    assert rows[0]["reason"].startswith("rule decided_expand: A cannot add a stream")


def test_the_audit_passes_on_the_decided_vocational_schools(voc_runs):
    from layoutopt.report.audit import audit

    assert audit(voc_runs[1]) == []


def test_two_vocational_builds_in_one_county_are_refused(tiny_dataset_dir, tmp_path):
    rows = [
        ("vocational", "990222-S009", "build", ""),
        ("vocational", "990222-S011", "build", ""),
    ]
    said = refusal(tmp_path, tiny_dataset_dir, rows)
    assert "line 3: vocational builds at most one new school a county" in said


# Boarding (seed 7). Without decisions the model merges the small rural primaries
# 990201-PS033 and PS034 (PS034's pupils to PS031 and PS032), adds classrooms at
# 990201-PS013, keeps 990121-PS022 (8 classes) and adds no dormitory anywhere.
BOARDING_DECIDED = [
    ("boarding", "990201-PS033", "keep", ""),
    ("boarding", "990201-PS034", "merge_into", "990201-PS031"),
    ("boarding", "990201-PS013", "no_change", ""),
    ("boarding", "990121-PS022", "close", ""),
    ("boarding", "990121-JS008", "expand", ""),  # a bed host
    ("boarding", "990102-JS006", "expand", ""),  # not a bed host
]


@pytest.fixture(scope="module")
def boarding_runs(tiny_dataset_dir, tmp_path_factory) -> tuple[Path, Path]:
    return without_and_with(
        tmp_path_factory.mktemp("boarding"), tiny_dataset_dir, BOARDING_DECIDED, "boarding"
    )


def test_boarding_decisions_overturn_what_the_model_plans(boarding_runs):
    undecided, decided = boarding_runs
    assert "merge_into" in actions(undecided, "990201-PS033")
    assert "merge_into" not in actions(decided, "990201-PS033")
    flows = read_output(undecided, "flows.csv")
    assert set(flows.loc[flows["from_id"] == "990201-PS034", "to_id"]) == {
        "990201-PS031",
        "990201-PS032",
    }
    flows = read_output(decided, "flows.csv")
    assert set(flows.loc[flows["from_id"] == "990201-PS034", "to_id"]) == {"990201-PS031"}
    assert "add_classrooms" in actions(undecided, "990201-PS013")
    assert "add_classrooms" not in actions(decided, "990201-PS013")
    assert "merge_into" not in actions(undecided, "990121-PS022")
    closed = rows_of(decided, "990121-PS022")
    assert "merge_into" in set(closed["action"]) and int(closed["size_after"].iloc[0]) == 0
    assert "add_dormitory" not in actions(undecided, "990121-JS008")
    assert "add_dormitory" in actions(decided, "990121-JS008")
    short = rows_of(decided, "990102-JS006")
    short = short[short["action"] == "shortfall"]
    assert "rule decided_expand: 990102-JS006 cannot add dormitory beds" in short["reason"].iloc[0]
    assert_every_decision_said(decided, BOARDING_DECIDED)


def test_the_audit_passes_on_the_decided_boarding_plan(boarding_runs):
    from layoutopt.report.audit import audit

    assert audit(boarding_runs[1]) == []


def test_the_decisions_know_the_levels_boarding_plans():
    from layoutopt.decisions import BOARDING_LEVELS
    from layoutopt.programmes.boarding.network import BAND_LEVELS

    assert set(BOARDING_LEVELS) == {lv for levels in BAND_LEVELS.values() for lv in levels}
