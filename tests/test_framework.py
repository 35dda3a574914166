"""The programme framework: the registry, the regional runner, the plan state handed on."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import TINY, run_plan, tiny, write_scenario
from layoutopt.data.dataset import load_dataset
from layoutopt.errors import LayoutoptError
from layoutopt.plan import make_plan
from layoutopt.plan.kpi import met
from layoutopt.plan.ledger_figures import BED_KPIS, BEDS, STUDENT_KPIS
from layoutopt.plan.registry import REGISTRY
from layoutopt.plan.runner import largest_first
from layoutopt.programmes.base import COMMON_ACTIONS, Kpi, Rule
from layoutopt.programmes.common import by_region
from layoutopt.programmes.highschool.outcome import SPLIT
from layoutopt.scenario import Scenario
from layoutopt.state import PlanState

CSVS = ("changes.csv", "kpis.csv", "schools_after.csv", "flows.csv", "beds.csv", "staffing.csv")


def test_outputs_do_not_depend_on_the_number_of_workers_or_a_warm_cache(tiny_run, tmp_path):
    # The second run has 2 workers and an empty travel cache (its tables computed again):
    # every programme's tables are byte for byte the first run's.
    one = tiny_run.manifest
    travel = tiny_run.scenario.travel.model_copy(update={"cache_dir": str(tmp_path / "cold")})
    scenario = tiny_run.scenario.model_copy(update={"travel": travel})
    two = run_plan(scenario, tmp_path / "two", workers=2)
    assert (tmp_path / "cold").is_dir()
    assert (
        one["programmes_run"]
        == two["programmes_run"]
        == ["highschool", "kindergarten", "vocational", "boarding", "staffing"]
    )
    assert two["run"]["workers"] == 2
    for name in CSVS:
        assert (tiny_run.out / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert [s["name"] for s in one["solves"]] == [s["name"] for s in two["solves"]]


def test_regions_start_largest_first_then_by_id():
    regions = {"b": "x" * 10, "a": "x" * 1000, "d": "", "c": "x" * 1000}
    assert largest_first(regions) == ["a", "c", "b", "d"]


def test_programmes_run_in_registry_order_and_hand_on_the_network(tiny_run):
    plan = tiny_run.plan
    assert plan.programmes == list(REGISTRY) == list(plan.state.order)
    ledger = plan.state.ledger
    sections = ledger.sections.set_index(["school_id", "section"])
    for result in plan.results:
        if result.sections is None:  # staffing hands on teachers only
            teachers = ledger.teachers.set_index(["school_id", "subject"])
            table = result.tables["staffing.csv"].set_index(["school_id", "subject"])
            assert (teachers["teachers_after"] == table["teachers_after"]).all()
            continue
        rows = result.sections.set_index(["school_id", "section"])
        mine = sections.loc[rows.index]
        # Each section is the row its programme left: open, places, students, beds.
        for column in ("open", "capacity_after", "students_after", "beds_added"):
            assert (mine[column].to_numpy() == rows[column].to_numpy()).all(), column
        # The last programme to plan a section is its planner (boarding takes a complete
        # secondary school's junior section, high schools its senior one).
        later = [r.programme for r in plan.results[plan.results.index(result) + 1 :]]
        assert mine["planned_by"].isin([result.programme, *later]).all()
    # The school view: open where any section is, new schools joined.
    view = plan.state.schools.set_index("school_id")
    any_open = sections.groupby(level="school_id")["open"].any()
    assert (view["open"] == any_open.reindex(view.index)).all()
    assert set(plan.schools_after["school_id"]) <= set(view.index)


def test_a_school_closed_by_one_programme_is_closed_for_the_next(tiny_dataset_dir, tmp_path):
    scenario = tiny(tmp_path, tiny_dataset_dir)
    highschool, kindergarten = REGISTRY["highschool"], REGISTRY["kindergarten"]
    plan = make_plan(scenario, only=["highschool"], workers=1)
    after = plan.results[0].schools_after
    closed = after[~after["open"] & ~after["level"].isin(SPLIT)]["school_id"]
    assert len(closed) > 0, "the tiny province should have a small high school to merge"
    # The plan's scenario is the one it ran: the province figures it derived filled in.
    seen_next = highschool.prepare(plan.state, plan.scenario).schools["school_id"]
    assert not set(closed) & set(seen_next)
    # A complete secondary school whose senior section closed keeps its junior section.
    split = after[~after["open"] & after["level"].isin(SPLIT)]["school_id"]
    junior = plan.state.open_sections(["junior"])
    assert set(split) <= set(junior["school_id"])
    # The same for kindergartens: one closed in the ledger is not the next programme's.
    start = PlanState.start(load_dataset(scenario.data))
    kgs = start.open_schools(["kindergarten"])
    gone = pd.DataFrame({"school_id": [kgs["school_id"].iloc[0]], "section": ["kindergarten"]})
    state = PlanState(start.dataset, start.ledger.close_sections("earlier", gone))
    seen = kindergarten.prepare(state, scenario).kindergartens["school_id"]
    assert gone["school_id"].iloc[0] not in set(seen)
    assert len(seen) == len(kgs) - 1


def test_a_site_one_programme_builds_on_is_no_candidate_for_the_next(tiny_dataset_dir, tmp_path):
    scenario = tiny(tmp_path, tiny_dataset_dir)
    start = PlanState.start(load_dataset(scenario.data))
    sites = start.dataset.sites
    offered = REGISTRY["kindergarten"].prepare(start, scenario).sites["place_id"]
    taken = list(offered[:3])
    state = PlanState(start.dataset, start.ledger.take_sites("highschool", taken))
    seen = set(REGISTRY["kindergarten"].prepare(state, scenario).sites["place_id"])
    assert not set(taken) & seen and len(seen) == len(offered) - 3
    # The ledger refuses a site taken twice, naming it and who took it.
    with pytest.raises(LayoutoptError, match=f"{taken[0]}: already taken by highschool"):
        state.ledger.take_sites("kindergarten", taken[:1])
    assert len(sites) > 3


def test_the_manifest_lists_every_solve_of_the_price_search(tiny_dataset_dir, tmp_path):
    # A narrow range: the search must try more than one price. It starts near the answer
    # (150 M yuan gives 6 projects here, 200 M gives 3), so it takes two rounds, not eleven:
    # the bookkeeping is what is checked, not the search.
    near = "[3, 3]\nproject_price_start = 150_000_000\nprice_step = 50_000_000"
    scenario = tiny(tmp_path, tiny_dataset_dir, projects=near)
    manifest = run_plan(scenario, tmp_path / "out", only=["kindergarten"])
    trace = [t for t in manifest["programmes"]["kindergarten"]["price_search"] if "price_yuan" in t]
    assert len(trace) > 1
    counties = len(load_dataset(scenario.data).regions)
    names = [s["name"] for s in manifest["solves"]]
    today = [n for n in names if n.startswith("kindergarten-today:")]
    plans = [n for n in names if n.startswith("kindergarten-plan:")]
    assert len(today) == counties  # today's network is solved once, whatever the price
    assert len(plans) == sum(t["regions_solved"] for t in trace)
    assert len(set(names)) == len(names)


def test_every_action_and_indicator_written_is_in_the_programme_definition(tiny_run):
    changes = pd.read_csv(tiny_run.out / "changes.csv", encoding="utf-8-sig")
    kpis = pd.read_csv(tiny_run.out / "kpis.csv", encoding="utf-8-sig")
    for name, programme in REGISTRY.items():
        words = {str(a.code) for a in (*programme.actions, *COMMON_ACTIONS)}
        assert set(changes.loc[changes["programme"] == name, "action"]) <= words
        specs = {k.name for k in programme.kpis}
        if programme.plans_schools:  # the figures every programme shares, from the ledger
            specs |= {k.name for k in STUDENT_KPIS}
        if name in BEDS:
            specs |= {k.name for k in BED_KPIS}
        assert set(kpis.loc[kpis["programme"] == name, "indicator"]) == specs
    manifest = json.loads((tiny_run.out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["plan_state_order"] == [
        "highschool",
        "kindergarten",
        "vocational",
        "boarding",
        "staffing",
    ]


def test_registry_and_scenario_name_the_same_programmes():
    sections = {
        name
        for name, field in Scenario.model_fields.items()
        if isinstance(field.annotation, type)
        and hasattr(field.annotation, "model_fields")
        and "enabled" in field.annotation.model_fields
    }
    assert sections == set(REGISTRY)


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        (Kpi("x", None, 0.965, 0.96495, Rule.AT_LEAST, 5e-5), "yes"),  # within tolerance
        (Kpi("x", None, 0.965, 0.9649, Rule.AT_LEAST, 5e-5), "no"),
        (Kpi("x", None, 90.0, 90.1, Rule.AT_MOST), "no"),
        (Kpi("x", None, 650_000.0, 650_000.4, Rule.EQUAL), "yes"),
        (Kpi("x", None, 0.6, 0.6, Rule.ABOVE), "no"),
        (Kpi("x", 1.0, None, 2.0, Rule.AT_MOST), ""),  # no target, no verdict
        (Kpi("x", 1.0, 2.0, float("nan"), Rule.AT_MOST), ""),
    ],
)
def test_met_follows_the_rule(kpi, expected):
    assert met(kpi) == expected


def test_the_command_shows_progress_per_programme_and_a_closing_summary(tiny_dataset_dir, tmp_path):
    from typer.testing import CliRunner

    from layoutopt.cli import app

    text = TINY.format(cache=(tmp_path / "cache").as_posix(), projects="[0, 1000]")
    radius = "radius_km = { urban = 0.1, town = 0.1, village = 0.1 }\n"
    scenario = write_scenario(tmp_path / "tiny.toml", tiny_dataset_dir, text + radius)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", str(scenario), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    for programme in ("highschool", "kindergarten"):
        assert f"{programme}: preparing inputs" in result.output
    assert "4/4 regions" in result.output  # a bar per pass over the counties
    assert "(1 worker(s) on processes," in result.output
    # With a 100 m service radius no county can meet its targets: the summary says where.
    assert "kindergarten: shortfall rows in" in result.output
    assert "target missed: kindergarten" in result.output
    assert f"tables and manifest: {out}/" in result.output
    assert "solves: " in result.output


def test_register_horizon_and_plan_figures_are_kept_apart(tiny_run):
    scenario, plan = tiny_run.scenario, tiny_run.plan
    register = load_dataset(scenario.data).schools.set_index("school_id")
    register_students = register["senior_enrolment"].fillna(register["enrolment"])
    register_students[register["level"] == "kindergarten"] = register["enrolment"]
    for result in plan.results:
        rows = result.schools_after.set_index("school_id")
        existing = rows.index.intersection(register.index)
        assert len(existing) > 0
        # The register is the data set's, school by school; horizon figures differ from it.
        # Staffing and boarding speak of whole schools; staffing counts size in teachers,
        # boarding in classes.
        staffing = result.programme == "staffing"
        whole = staffing or result.programme == "boarding"
        students = register["enrolment"] if whole else register_students
        assert (rows.loc[existing, "students_register"] == students[existing]).all()
        unit = "teachers" if staffing else "streams" if result.people == "students" else "classes"
        assert (rows.loc[existing, "size_register"] == register.loc[existing, unit]).all()
        assert (rows["students_horizon_today"] != rows["students_register"]).any()
        new = rows.index.difference(register.index)
        assert (rows.loc[new, "students_register"] == 0).all()
        # Reasons speak of the register and of the horizon after the plan, in words.
        changes = result.changes[result.changes["school_id"] != ""]
        assert (
            changes["reason"]
            .str.contains(f"{result.people} on the register|expected in 2025 after the plan")
            .all()
        )


def test_the_review_workbook_has_its_sheets_headers_filters_and_print_setup(tiny_run):
    from openpyxl import load_workbook

    book = load_workbook(tiny_run.out / "plan.xlsx")
    assert book.sheetnames == [
        "说明 read me",
        "highschool 调整",
        "kindergarten 调整",
        "vocational 调整",
        "boarding 调整",
        "staffing 调整",
        "beds 明细",
        "flows 明细",
        "staffing 明细",
        "指标 KPIs",
        "县汇总 counties",
    ]
    readme = {row[0]: row[1] for row in book["说明 read me"].iter_rows(values_only=True)}
    assert len(readme["方案哈希 scenario sha256 (as resolved)"]) == 64
    for name in book.sheetnames[1:]:
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    changes = book["kindergarten 调整"]
    headers = [c.value for c in changes[1]]
    assert "措施\naction" in headers and "学校名称\nschool_name" in headers
    assert "措施说明\naction_label" in headers
    assert changes.cell(2, headers.index("学校代码\nschool_id") + 1).number_format == "@"
    kpis = book["指标 KPIs"]
    header = [c.value for c in kpis[1]]
    first = dict(zip(header, next(kpis.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["指标名称\nindicator_zh"] and first["范围名称\nscope_name"] == "全省 province"
    counties = book["县汇总 counties"]
    assert counties.max_row == 1 + 4  # the tiny province's four counties


def test_a_region_whose_solve_did_not_finish_infers_no_shortfall():
    from types import SimpleNamespace

    from layoutopt.engine.report import SolveReport, SolveStatus
    from layoutopt.plan.runner import provisional
    from layoutopt.programmes.base import RegionOutcome, RegionSolves
    from layoutopt.programmes.common import change_row

    def solved(name: str, status: SolveStatus, gap: float | None) -> SimpleNamespace:
        return SimpleNamespace(report=SolveReport(name, status, 1.0, 0.2, gap, 1.0, "highs"))

    rows = [
        change_row("expand", "S1", reason="adds 1 stream(s)"),
        change_row("shortfall", unseated_students=40, reason="no candidate site"),
    ]
    outcome = RegionOutcome("990102", rows, pd.DataFrame(), {})
    finished = RegionSolves(
        solved("t", SolveStatus.OPTIMAL, 0.0), solved("p", SolveStatus.OPTIMAL, 0.001)
    )
    assert provisional(finished, outcome) is outcome
    stopped = RegionSolves(
        solved("t", SolveStatus.OPTIMAL, 0.0),
        solved("highschool-plan:990102", SolveStatus.FEASIBLE_TIME_LIMIT, 0.79),
    )
    marked = provisional(stopped, outcome).changes
    assert [r["action"] for r in marked] == ["expand", "unfinished_solve"]
    assert marked[0]["reason"].startswith(
        "provisional (highschool-plan:990102 feasible_time_limit, gap 79.0%)"
    )
    assert "no shortfall is inferred" in marked[1]["reason"]


@given(st.floats(min_value=-1e14, max_value=1e14, allow_nan=False))
def test_csv_numbers_are_plain_and_keep_their_value(value):
    from layoutopt.report.tables import plain_number

    text = plain_number(value)
    assert "e" not in text.lower()
    assert float(text) == pytest.approx(value, rel=1e-9, abs=1e-12)
    if float(value).is_integer():
        assert text == str(int(value))


def test_a_county_without_students_has_no_flows():
    from types import SimpleNamespace

    from layoutopt.programmes.flows import FLOW_COLUMNS, solution_flows

    none = pd.DataFrame({c: [] for c in ("demand_id", "site_id", "weight", "travel")})
    solution = SimpleNamespace(assignment=none, unmet=none.drop(columns=["site_id", "travel"]))
    flows = solution_flows(solution)
    assert flows.empty and list(flows.columns) == FLOW_COLUMNS


@given(
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=30),
    st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4),
)
def test_a_table_cut_by_region_in_one_pass_is_the_filter_of_each_region(keys, region_ids):
    frame = pd.DataFrame({"key": keys, "row": range(len(keys))})
    cut = by_region(frame, frame["key"], region_ids)
    assert list(cut) == region_ids
    for r in region_ids:
        pd.testing.assert_frame_equal(cut[r], frame[frame["key"] == r])


def test_a_data_set_cut_to_some_counties_keeps_their_rows_and_the_whole_road_graph(
    tiny_dataset_dir,
):
    whole = load_dataset(tiny_dataset_dir)
    first = sorted(whole.regions["region_id"])[0]
    part = whole.of_counties([first])
    assert part.regions["region_id"].tolist() == [first]
    for table in (part.demand, part.schools, part.sites):
        assert len(table) and set(table["region_id"]) == {first}
    assert len(part.schools) == (whole.schools["region_id"] == first).sum()
    assert set(part.teachers["school_id"]) == set(part.schools["school_id"])
    assert len(part.road_nodes) == len(whole.road_nodes)
    with pytest.raises(LayoutoptError, match=r"no county with region_id 999999 \(fix"):
        whole.of_counties([first, "999999"])


def test_a_plan_of_some_counties_solves_only_theirs(tiny_dataset_dir, tmp_path):
    scenario = tiny(tmp_path, tiny_dataset_dir)
    first = sorted(load_dataset(tiny_dataset_dir).regions["region_id"])[0]
    plan = make_plan(scenario, only=["highschool"], workers=1, counties=[first])
    names = {s.name for result in plan.results for s in result.solves}
    assert names and all(first in name for name in names)
    assert set(plan.results[0].changes["region_id"]) <= {first}
