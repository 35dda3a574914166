"""The audit of a run: each invariant caught on a run damaged by hand, and no violation on
the tiny province under random scenarios, each programme on or off."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import read_output, tiny
from layoutopt.plan import make_plan
from layoutopt.plan.registry import REGISTRY
from layoutopt.report.audit import INVARIANTS, audit, summarise
from layoutopt.report.outputs import write_plan


def test_the_tiny_plan_is_one_plan(tiny_run):
    assert summarise(audit(tiny_run.out)) == dict.fromkeys(INVARIANTS, 0)
    # The plan wrote the same verdict into its manifest and its closing lines.
    assert tiny_run.manifest["audit"]["violations"] == dict.fromkeys(INVARIANTS, 0)


def damaged(run: Path, tmp_path: Path, name: str, change) -> Path:
    """A fresh copy of ``run`` whose table ``name`` is changed by ``change(frame)``, which
    returns the frame to write."""
    copy = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("maps"))
    frame = pd.read_csv(copy / name, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    frame = change(frame)
    frame.to_csv(copy / name, index=False, encoding="utf-8-sig")
    return copy


def found(folder: Path) -> dict[str, int]:
    return {k: v for k, v in summarise(audit(folder)).items() if v}


def first(frame: pd.DataFrame, mask) -> int:
    return frame.index[mask][0]


def test_a_section_with_more_students_than_its_flows_give_breaks_three_invariants(
    tiny_run, tmp_path
):
    def change(s):
        k = first(s, s["planned_by"] == "highschool")
        s.loc[k, "students_after"] = str(int(s.loc[k, "students_after"]) + 10)
        return s

    hits = found(damaged(tiny_run.out, tmp_path, "schools_after.csv", change))
    # Its students no longer add up, no longer follow its flows, nor fit its places (it
    # was full, or staffing's posts no longer match it).
    assert {"students_conserved", "flows_balance"} <= set(hits)


def test_a_site_built_on_twice_is_caught(tiny_run, tmp_path):
    def change(s):
        new = s[s["site_id"] != ""]
        if new.empty:
            pytest.skip("the tiny plan builds no new school")
        k = first(s, s["planned_by"] == "kindergarten")
        s.loc[k, "site_id"] = new["site_id"].iloc[0]
        return s

    assert "sites_used_once" in found(damaged(tiny_run.out, tmp_path, "schools_after.csv", change))


def test_a_flow_to_a_closed_section_or_without_a_row_is_caught(tiny_run, tmp_path):
    def change(f):
        k = first(f, f["to_id"] != "")
        f.loc[k, "to_id"] = "990102-XX999"
        return f

    hits = found(damaged(tiny_run.out, tmp_path, "flows.csv", change))
    assert {"flows_land_open", "flows_named"} <= set(hits)


def test_beds_that_disagree_between_tables_are_caught(tiny_run, tmp_path):
    def change(c):
        k = first(c, (c["programme"] == "highschool") & (c["beds_added"] != "0"))
        c.loc[k, "beds_added"] = str(int(c.loc[k, "beds_added"]) + 7)
        return c

    assert found(damaged(tiny_run.out, tmp_path, "changes.csv", change)) == {"beds_agree": 1}


def test_a_private_teacher_moved_or_out_of_band_is_caught(tiny_run, tmp_path):
    def change(t):
        k = first(t, t["ownership"] == "private")
        t.loc[k, "recruited"] = "2"
        return t

    assert "staffing" in found(damaged(tiny_run.out, tmp_path, "staffing.csv", change))

    def band(c):
        moves = c[c["action"] == "move_teachers"]
        kg = c[(c["programme"] == "kindergarten") & (c["school_id"] != "")]["school_id"]
        c.loc[moves.index[0], "target_id"] = kg.iloc[0]
        return c

    assert "staffing" in found(damaged(tiny_run.out, tmp_path, "changes.csv", band))


def test_a_row_without_its_county_and_an_unreported_shortfall_are_caught(tiny_run, tmp_path):
    def change(c):
        c.loc[0, "county"] = ""
        short = c[c["action"] == "shortfall"]
        return c.drop(index=short.index[:1])

    hits = found(damaged(tiny_run.out, tmp_path, "changes.csv", change))
    assert "rows_name_county" in hits
    c = read_output(tiny_run.out, "changes.csv")
    if (c["action"] == "shortfall").any():
        assert "shortfalls_reported" in hits


def test_a_vocational_school_at_the_standard_closed_is_caught(tiny_run, tmp_path):
    def change(s):
        k = first(s, (s["planned_by"] == "vocational") & (s["open"] == "False"))
        s.loc[k, "students_register"] = "5000"
        return s

    hits = found(damaged(tiny_run.out, tmp_path, "schools_after.csv", change))
    assert "vocational_standard" in hits


def test_the_audit_command_lists_violations_and_exits_non_zero(tiny_run, tmp_path):
    from typer.testing import CliRunner

    from layoutopt.cli import app

    ok = CliRunner().invoke(app, ["audit", str(tiny_run.out)])
    assert ok.exit_code == 0 and "0 violation(s) of 12 invariants" in ok.output

    def change(t):
        t.loc[first(t, t["ownership"] == "private"), "moved_in"] = "3"
        return t

    bad = damaged(tiny_run.out, tmp_path, "staffing.csv", change)
    result = CliRunner().invoke(app, ["audit", str(bad), "--out", str(tmp_path / "v.csv")])
    assert result.exit_code == 1 and "a private school's teachers moved" in result.output
    assert "invariant" in (tmp_path / "v.csv").read_text(encoding="utf-8-sig")
    missing = CliRunner().invoke(app, ["audit", str(tmp_path)])
    assert missing.exit_code == 1 and "not a run folder" in missing.output


@st.composite
def scenarios(draw):
    """Programmes on or off (at least one that places students) and policy values drawn
    from their documented ranges."""
    names = list(REGISTRY)
    on = [n for n in names if draw(st.booleans())]
    if not set(on) - {"staffing"}:
        on.append(draw(st.sampled_from(names[:-1])))
    return {
        "only": sorted(on, key=names.index),
        "highschool": {
            "small_max_streams": draw(st.integers(2, 6)),
            "boarding_travel_min": draw(st.sampled_from([20.0, 40.0, 60.0])),
        },
        "kindergarten": {
            "public_share": draw(st.sampled_from([0.4, 0.55, 0.7])),
            "enrolment_rate": draw(st.sampled_from([0.9, 0.965])),
            "allow_decrease": draw(st.booleans()),
        },
        "vocational": {
            "max_travel_min": draw(st.sampled_from([45.0, 90.0])),
            "standard_students": draw(st.sampled_from([600, 1200])),
        },
        "boarding": {
            "max_classrooms": draw(st.integers(0, 4)),
            "classroom_weight_min": draw(st.sampled_from([0.0, 2700.0])),
            "bed_cap_share": draw(st.sampled_from([None, 0.5])),
        },
        "staffing": {"rotation_share": draw(st.sampled_from([0.0, 0.15, 0.5]))},
    }


def plan_and_audit(drawn: dict, data: Path, factory: pytest.TempPathFactory) -> None:
    """Plan the tiny province under ``drawn``, write it, and find no violation."""
    folder = factory.mktemp("audit")
    shared = factory.getbasetemp() / "audit-cache"  # travel tables, once for every example
    shared.mkdir(exist_ok=True)
    base = tiny(shared, data)
    sections = {
        name: getattr(base, name).model_copy(update=values)
        for name, values in drawn.items()
        if name != "only"
    }
    scenario = base.model_copy(update=sections)
    plan = make_plan(scenario, only=drawn["only"], workers=1)
    manifest = write_plan(plan, folder / "out")
    violations = audit(folder / "out")
    assert not violations, (drawn, violations[:5])
    assert sum(manifest["audit"]["violations"].values()) == 0
    assert json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))["audit"]


SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@settings(max_examples=3, **SETTINGS)
@given(drawn=scenarios())
def test_the_audit_finds_nothing_on_the_tiny_province_under_random_scenarios(
    drawn, tiny_dataset_dir, tmp_path_factory
):
    plan_and_audit(drawn, tiny_dataset_dir, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=25, **SETTINGS)
@given(drawn=scenarios())
def test_the_audit_finds_nothing_under_many_random_scenarios(
    drawn, tiny_dataset_dir, tmp_path_factory
):
    plan_and_audit(drawn, tiny_dataset_dir, tmp_path_factory)


def test_the_reference_plan_is_one_plan(shanxi_plan):
    """The issue's "done when" on the README's plan of the bundled Shanxi data."""
    assert summarise(audit(shanxi_plan)) == dict.fromkeys(INVARIANTS, 0)
    sections = read_output(shanxi_plan, "schools_after.csv")
    changes = read_output(shanxi_plan, "changes.csv")
    staffing = read_output(shanxi_plan, "staffing.csv")
    # No site built on twice; each new school on its own site.
    new = sections[sections["site_id"].notna()]
    assert new.groupby("site_id")["school_id"].nunique().max() == 1
    # Complete secondary schools whose senior section merged keep their junior section,
    # with its pupils and its posts.
    cs = sections[sections["level"] == "complete_secondary"].pivot_table(
        index="school_id", columns="section", values="open", aggfunc="first"
    )
    split = cs.index[~cs["senior"].astype(bool) & cs["junior"].astype(bool)]
    assert len(split) > 0
    posts = staffing.groupby("school_id")["posts_needed"].sum()
    assert (posts.reindex(split).fillna(0) > 0).all()
    # No teacher moves to or from a private school, none is recruited at one.
    owner = staffing.drop_duplicates("school_id").set_index("school_id")["ownership"]
    moves = changes[changes["action"] == "move_teachers"]
    assert (owner.reindex(moves["school_id"]) == "public").all()
    assert (owner.reindex(moves["target_id"]) == "public").all()
    assert staffing.loc[staffing["ownership"] != "public", "recruited"].sum() == 0
    # Every row names its county.
    assert changes["county"].notna().all()
