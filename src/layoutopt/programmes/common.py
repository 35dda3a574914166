"""Helpers every programme shares: travel between places of one data set."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from layoutopt.data.dataset import Dataset
from layoutopt.decisions import CLOSING
from layoutopt.demand.cohorts import cohort_at_horizon
from layoutopt.errors import LayoutoptError
from layoutopt.geo.travel import TravelQuery, cached_table, road_graph, travel_key, travel_times
from layoutopt.programmes.flows import NO_SEAT, mean_minutes
from layoutopt.scenario import Scenario


def travel_within_county(
    dataset: Dataset,
    scenario: Scenario,
    schools: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    k_nearest: int,
    cutoff_min: float | None = None,
    by_prefecture: bool = False,
) -> pd.DataFrame:
    """Minutes from each settlement to the ``k_nearest`` places of its own county (or, with
    ``by_prefecture``, of its own prefecture).

    Computed area by area, so that a crowd of places just across a county line never
    pushes a settlement's own county's schools off its list. The places are ``schools``
    (by ``school_id``) and candidate ``sites`` (by ``place_id``), each with ``region_id``
    and a point geometry. Returns ``place_id, demand_id, minutes, distance_km``, sorted by
    settlement then minutes.
    """
    columns = ["place_id", "region_id", "geometry"]
    schools = schools.rename(columns={"school_id": "place_id"})[columns]
    places = gpd.GeoDataFrame(pd.concat([schools, sites[columns]]), crs=schools.crs)
    cutoff = {"cutoff_min": cutoff_min} if cutoff_min is not None else {}
    settings = TravelQuery(**{**scenario.travel.model_dump(), **cutoff}, k_nearest=k_nearest)
    roads = None
    if dataset.has_roads and settings.method != "straight_line":
        roads = road_graph(dataset)
    demand = dataset.demand
    area = _area_of(dataset, by_prefecture)
    places["area"] = area.reindex(places["region_id"].astype(str)).to_numpy()
    settlement_area = area.reindex(demand["region_id"].astype(str)).to_numpy()
    cache_dir = settings.cache_path()

    def compute() -> pd.DataFrame:
        tables = []
        for area_id, mine in places.groupby("area", sort=True):
            settlements = demand[settlement_area == area_id]
            if settlements.empty:
                continue
            tables.append(
                travel_times(
                    mine.drop(columns="area").reset_index(drop=True),
                    settlements.reset_index(drop=True),
                    settings,
                    origin_id="place_id",
                    roads=roads,
                    cache_dir=cache_dir,
                )
            )
        columns = ["place_id", "demand_id", "minutes", "distance_km"]
        if not tables:
            return pd.DataFrame(columns=columns)
        table = pd.concat(tables, ignore_index=True).rename(columns={"origin_id": "place_id"})
        return table.sort_values(["demand_id", "minutes", "place_id"], ignore_index=True)[columns]

    # The whole province's table is cached too: a warm run reads one file, not one an area
    # (each area's stays cached for a run in which only some areas' places changed).
    key = travel_key(
        places, demand, settings, "place_id", roads, extra=(places["area"], settlement_area)
    )
    return cached_table(cache_dir, "travel-areas", key, compute)


def by_region(
    frame: pd.DataFrame, keys: pd.Series | np.ndarray, region_ids: list[str]
) -> dict[str, pd.DataFrame]:
    """``frame`` cut by region in one pass: region id → its rows, in their order (a region
    without rows gets none). Filtering the whole province's table once per county costs
    counties × rows, which grows with the square of a province; this costs the rows once."""
    keys = np.asarray(keys, dtype=object).astype(str)
    groups = {str(k): part for k, part in frame.groupby(keys, sort=False)}
    return {r: groups.get(r, frame.iloc[:0]) for r in region_ids}


def _area_of(dataset: Dataset, by_prefecture: bool) -> pd.Series:
    """Each county's area: itself, or its prefecture."""
    regions = dataset.regions
    ids = regions["region_id"].astype(str).to_numpy()
    keys = regions["prefecture_id"].astype(str).to_numpy() if by_prefecture else ids
    return pd.Series(keys, index=ids)


def project_stage(
    demand: pd.DataFrame,
    scenario: Scenario,
    programme: str,
    ages: range,
    rate: float,
    plan_students: int,
    tolerance: float,
) -> tuple[pd.Series, dict]:
    """Whole students per settlement at the horizon: the cohort of ``ages`` then, times
    ``rate`` (enrolment rate × the stage's share), scaled to the plan's own province
    figure (``plan_students``, 0: unscaled) so the plan reconciles with it; and how."""
    cohort = cohort_at_horizon(demand, list(ages), scenario.base_year, scenario.horizon_year)
    projected = cohort * rate
    total = float(projected.sum())
    scale = plan_students / total if plan_students and total > 0 else 1.0
    if abs(scale - 1) > tolerance:
        raise LayoutoptError(
            f"{programme}.plan_students = {plan_students} is {scale:.2f} times the "
            f"cohort projection ({total:,.0f} students) "
            "(fix: set plan_students to this province's own plan figure, or 0 to use the "
            "projection as it is)"
        )
    students = round_keeping_total(projected * scale)
    info = {
        "cohort_ages_at_horizon": f"{ages[0]}-{ages[-1]}",
        "cohort_persons": float(cohort.sum()),
        "projected_students": round(total, 1),
        "plan_students": float(plan_students),
        "scale_to_plan": round(scale, 6),
        "students": float(students.sum()),
    }
    return students, info


def round_keeping_total(values: pd.Series) -> pd.Series:
    """Whole numbers with the same (rounded) total: floors, then +1 to the largest remainders."""
    whole = whole_keeping_total(values.to_numpy(float), values.index.to_numpy())
    return pd.Series(whole, index=values.index)


def whole_keeping_total(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``round_keeping_total`` on arrays (``ids`` break ties), for callers in a loop."""
    floors = np.floor(values)
    short = round(float(values.sum())) - int(floors.sum())
    order = np.lexsort((ids, -(values - floors)))  # ties broken by id
    floors[order[:short]] += 1
    return floors.astype(np.int64)


def expansion_shortfalls(decided: pd.DataFrame, grown: set[str], cause: str) -> list[dict]:
    """A ``decided_expand`` shortfall row for each school the review decided to expand
    that did not grow (``grown``: the ids that did); ``cause``: what it cannot add, why,
    and the fix."""
    asked = decided.index[decided["decision"] == "expand"]
    return [
        change_row("shortfall", str(s), reason=f"rule decided_expand: {s} cannot add {cause}")
        for s in sorted(set(asked) - grown)
    ]


def change_row(
    action: str,
    school_id: str = "",
    *,
    target: str = "",
    students: float = 0.0,
    unseated_students: float = 0.0,
    beds: float = 0.0,
    minutes: tuple[float, float] = (np.nan, np.nan),
    reason: str = "",
    subject: str = "",
    teachers: float | None = None,
) -> dict:
    """A change row as the runner's change table reads it: ``students`` moved by the
    action, ``unseated_students`` a shortfall leaves without a seat, ``minutes`` the mean
    trip of the students moved before and after (nan where none is known); ``subject`` and
    ``teachers`` for staffing rows. The runner adds the school's register, horizon and
    after figures."""
    return {
        "action": action,
        "school_id": school_id,
        "target_id": target,
        "students_moved": students,
        "students_unseated": unseated_students,
        "beds_added": beds,
        "minutes": minutes,
        "reason": reason,
        "subject": subject,
        "teachers": np.nan if teachers is None else teachers,
    }


def site_names(dataset: Dataset, sites: pd.DataFrame, labels: object) -> list[str]:
    """Names for candidate sites: the settlement they stand in, what would be built there
    (``labels``, one or one per site) and the site id, e.g. 某村新建公办幼儿园（S0012）."""
    host = sites["demand_id"].astype(str) if "demand_id" in sites else None
    place: object = ""
    if "name" in dataset.demand and host is not None:
        place = dataset.demand.set_index("demand_id")["name"].reindex(host).fillna("").to_numpy()
    parts = zip(
        np.broadcast_to(place, len(sites)),
        np.broadcast_to(labels, len(sites)),
        sites["site_id"],
        strict=True,
    )
    return [f"{p}{label}（{s}）" for p, label, s in parts]


def arc_arrays(
    demand_ids: pd.Series, place_ids: pd.Series, travel: pd.DataFrame
) -> dict[str, np.ndarray]:
    """The engine's arc arrays (indices, cost and travel in minutes) for the ``travel`` rows
    (place_id, demand_id, minutes) between the listed demand points and places."""
    d_index, s_index = pd.Index(demand_ids), pd.Index(place_ids)
    travel = travel[travel["place_id"].isin(s_index) & travel["demand_id"].isin(d_index)]
    minutes = travel["minutes"].to_numpy(float)
    return {
        "arc_demand": d_index.get_indexer(travel["demand_id"]),
        "arc_site": s_index.get_indexer(travel["place_id"]),
        "arc_cost": minutes,
        "arc_travel": minutes,
    }


def decision_groups(
    decided: np.ndarray, opens: tuple[str, ...] = ("build",), able: np.ndarray | None = None
) -> dict[str, tuple[np.ndarray, tuple[int | None, int | None]]]:
    """The review's decisions on a model's places (``decided``, one word or "" each) as
    open-count rules: what it closes stays closed; what it ``opens`` (a build, an
    expansion) opens, where ``able`` says the place can be filled (where not, the
    programme's outcome writes the shortfall row)."""
    closed = np.flatnonzero(np.isin(decided, CLOSING))
    opened = np.isin(decided, opens) & (True if able is None else able)
    groups: dict[str, tuple[np.ndarray, tuple[int | None, int | None]]] = {}
    if len(closed):
        groups["decided_closed"] = (closed, (0, 0))
    if opened.any():
        groups["decided_opened"] = (np.flatnonzero(opened), (int(opened.sum()), None))
    return groups


def arcs_under_merges(
    merges: dict[str, str],
    attended: pd.DataFrame,
    demand_ids: np.ndarray,
    place_ids: np.ndarray,
    receiver_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Which arcs (their demand and place ids) stay under the review's merges (source ->
    receiver): the students a merged school holds today (``attended``: demand_id, site_id)
    go to its receiver, or stay at another place they attend today, nowhere else.
    ``receiver_ids``: the building each arc's place belongs to, where a building has
    several options (a kindergarten and its expansion); by default the place itself."""
    keep = np.ones(len(demand_ids), dtype=bool)
    if not merges:
        return keep
    receiver_ids = place_ids if receiver_ids is None else receiver_ids
    arc_pairs = pd.MultiIndex.from_arrays([demand_ids, place_ids])
    today = pd.MultiIndex.from_frame(attended[["demand_id", "site_id"]])
    for source, receiver in merges.items():
        theirs = attended.loc[attended["site_id"] == source, "demand_id"]
        bound = np.isin(demand_ids, theirs)
        keep &= ~bound | arc_pairs.isin(today) | (receiver_ids == receiver)
    return keep


def pairs_row(
    action: str,
    school_id: str,
    pairs: pd.DataFrame,
    reason: str,
    *,
    target: str = "",
    beds: float = 0.0,
    place: str = "seat",
) -> dict:
    """A change row for the whole-student flows ``pairs`` (``flows.WholeFlows.pairs``
    rows leaving or reaching the school): how many, their mean trips before and after,
    and a note where some had no ``place`` in today's network at the horizon (why
    travel_min_before may be blank)."""
    new = int(pairs.loc[pairs["from_id"] == NO_SEAT, "students"].sum())
    if new and "no place in today's network" not in reason:
        reason += f"; {new} had no {place} in today's network at the horizon (no trip before)"
    minutes = (mean_minutes(pairs, "minutes_before"), mean_minutes(pairs, "minutes_after"))
    return change_row(
        action,
        school_id,
        target=target,
        students=float(pairs["students"].sum()),
        beds=beds,
        minutes=minutes,
        reason=reason,
    )


SHOWN_NAMES = 6  # places named in a reason before "and N more (flows.csv)"


def named_counts(counts: pd.Series, names: pd.Series, nobody: str) -> str:
    """ "A (300), B (127) and 3 more (flows.csv)": places by count, largest first;
    NO_SEAT is ``nobody``."""
    counts = counts[counts > 0].sort_index().sort_values(ascending=False, kind="stable")
    words = [
        f"{nobody if p == NO_SEAT else (names.get(p) or p)} ({int(n)})"
        for p, n in counts.head(SHOWN_NAMES).items()
    ]
    more = len(counts) - SHOWN_NAMES
    return ", ".join(words) + (f" and {more} more (flows.csv)" if more > 0 else "")


def flow_words(place_id: str, pairs: pd.DataFrame, names: pd.Series, people: str) -> str:
    """What came in and what went out at a place, named: "takes in 427 students: from A
    (300), B (127); sends 20: to C (20)"."""
    into = pairs[pairs["to_id"] == place_id].groupby("from_id")["students"].sum()
    out = pairs[pairs["from_id"] == place_id].groupby("to_id")["students"].sum()
    parts = []
    if into.sum() > 0:
        parts.append(
            f"takes in {int(into.sum())} {people}: from "
            + named_counts(into, names, "no place in today's network (no trip before)")
        )
    if out.sum() > 0:
        parts.append(f"sends {int(out.sum())}: to " + named_counts(out, names, "no place"))
    return "; ".join(parts)


def exchange_rows(
    pairs: pd.DataFrame, rowed: set[str], names: pd.Series, people: str
) -> list[dict]:
    """A row for every place that takes in or sends students and has no row of its own
    (``rowed``): ``receive_students`` where any come in, else ``send_students``."""
    places = (set(pairs["to_id"]) | set(pairs["from_id"])) - rowed - {NO_SEAT}
    rows = []
    for place in sorted(places):
        into = pairs[pairs["to_id"] == place]
        out = pairs[pairs["from_id"] == place]
        action = "receive_students" if into["students"].sum() > 0 else "send_students"
        moved = into if len(into) else out
        words = flow_words(place, pairs, names, people)
        rows.append(pairs_row(action, place, moved, f"stays open, no other change; {words}"))
    return rows


def section_flows(pairs: pd.DataFrame, section: str, region_id: str) -> pd.DataFrame:
    """Whole-student pairs of one section's places as the ledger's flows."""
    return pd.DataFrame(
        {
            "region_id": region_id,
            "from_id": pairs["from_id"].to_numpy(),
            "from_section": np.where(pairs["from_id"] == NO_SEAT, "", section),
            "to_id": pairs["to_id"].to_numpy(),
            "to_section": np.where(pairs["to_id"] == NO_SEAT, "", section),
            "band": pairs["band"].to_numpy(),
            "students": pairs["students"].to_numpy(np.int64),
            "travel_min_before": pairs["minutes_before"].to_numpy(float),
            "travel_min_after": pairs["minutes_after"].to_numpy(float),
            "beds_needed": pairs["beds_needed"].to_numpy(np.int64),
        }
    )


def host_settlements(schools: gpd.GeoDataFrame, demand: pd.DataFrame) -> np.ndarray:
    """Each school's host settlement: its ``demand_id`` where the register gives a known
    one (the bundled data does), else the nearest settlement of its county."""
    ids = demand["demand_id"].astype(str).to_numpy()
    hosts = np.full(len(schools), "", dtype=object)
    if "demand_id" in schools:
        given = schools["demand_id"].astype(str).to_numpy()
        known = pd.Series(given).isin(ids).to_numpy()  # hashed: np.isin sorts objects
        hosts[known] = given[known]
    missing = np.flatnonzero(hosts == "")
    xy = np.column_stack([demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()])
    county = demand["region_id"].astype(str).to_numpy()
    school_county = schools["region_id"].astype(str).to_numpy()
    points = np.column_stack([schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy()])
    for region_id in sorted(set(school_county[missing])):
        rows = missing[school_county[missing] == region_id]
        candidates = np.flatnonzero(county == region_id)
        if len(candidates):
            _, k = cKDTree(xy[candidates]).query(points[rows])
            hosts[rows] = ids[candidates[k]]
    return hosts
