"""The plan ledger: every school *section* and candidate site, the one record of the plan.

A school teaches one or more stages, each a section (``SECTIONS``): a complete secondary
school has a junior and a senior section, a nine-year school a primary and a junior one.
Each section has its own places, students, beds and boarders, so that closing a complete
secondary school's senior section leaves its junior section, pupils and posts in place.

The ledger starts as the register and is changed only through its verbs, which the plan
layer calls as each programme hands its result on:

- ``take_sites``: a candidate site becomes a new school; a taken site is no candidate
  for the next programme (``available_sites``);
- ``add_schools``: the new schools and their sections;
- ``place_horizon``: the horizon's students in today's network, section by section;
- ``close_sections``, ``resize`` (places added: streams, classes, classrooms), ``add_beds``;
- ``move_students``: named flows from a section to a section, whence ``students_after``
  (the horizon in today's network, less what leaves, plus what comes in);
- ``account``: the region's figures no section holds (students at the horizon, those
  left without a place, far pupils without a bed);
- ``staff``: teachers by school and subject after the plan.

Every output (``schools_after``, ``flows.csv``, ``beds.csv``, the bed and balance KPIs, the
workbook's county sheet, the maps' figures) is read from here, so a figure two outputs
show comes from one column. Three kinds of figure are kept apart in the names:
``_register`` (the data set as it is), ``_horizon_today`` (the horizon's students in
today's network) and ``_after`` (the plan's result).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.errors import LayoutoptError

# The sections of each level, in teaching order.
SECTIONS: dict[str, tuple[str, ...]] = {
    "kindergarten": ("kindergarten",),
    "teaching_point": ("primary",),
    "primary": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
    "complete_secondary": ("junior", "senior"),
    "senior_high": ("senior",),
    "vocational": ("vocational",),
    "special": ("special",),
}
# Sections counted in streams (轨, one class per grade) and the class-size norm of each.
STREAM_SECTIONS = {"senior": "senior_high", "vocational": "vocational"}
CLASS_SIZE_KEY = {"primary": "primary", "junior": "junior", "kindergarten": "kindergarten"}
# The register's section enrolment column; a one-section school without it: enrolment.
REGISTER_COLUMN = {
    "primary": "primary_enrolment",
    "junior": "junior_enrolment",
    "senior": "senior_enrolment",
}
# The section that holds a school's boarding beds and boarders on the register: the
# highest stage it teaches (boarding is mostly a secondary matter; a nine-year school's
# dormitories go with its junior grades, which close with its upper grades).
BEDS_SECTION = {level: sections[-1] for level, sections in SECTIONS.items()}

SECTION_COLUMNS = [
    "school_id",
    "section",
    "level",
    "ownership",
    "region_id",
    "open",
    "new",
    "site_id",
    "size_unit",
    "size_register",
    "size_after",
    "capacity_register",
    "capacity_after",
    "students_register",
    "students_horizon_today",
    "students_after",
    "beds_register",
    "beds_added",
    "beds_after",
    "boarders_register",
    "bed_need_after",
    "planned_by",
]
FLOW_COLUMNS = [
    "programme",
    "region_id",
    "from_id",
    "from_section",
    "to_id",
    "to_section",
    "band",
    "students",
    "travel_min_before",
    "travel_min_after",
    "beds_needed",
]
ACCOUNT_COLUMNS = [
    "programme",
    "region_id",
    "section",
    "students_horizon",
    "unplaced_horizon_today",
    "unplaced_after",
    "far_without_bed_after",
]
TEACHER_COLUMNS = [
    "school_id",
    "subject",
    "teachers_register",
    "posts_needed",
    "moved_out",
    "moved_in",
    "recruited",
    "teachers_after",
]
WHOLE = [
    "size_register",
    "size_after",
    "capacity_register",
    "capacity_after",
    "beds_register",
    "beds_added",
    "beds_after",
    "boarders_register",
]


class LedgerError(LayoutoptError):
    """A programme asked the ledger for something the plan cannot hold: a site taken
    twice, a flow to a closed section, figures that do not add up."""


@dataclass(frozen=True)
class Ledger:
    """``sections``: SECTION_COLUMNS, one row per school section (school_id, section);
    ``places``: one row per school (register columns, geometry), new schools included;
    ``sites``: candidate sites with ``taken_by`` and ``school_id`` once taken; ``flows``:
    FLOW_COLUMNS; ``accounts``: ACCOUNT_COLUMNS; ``teachers``: TEACHER_COLUMNS (empty until
    staffing runs)."""

    sections: pd.DataFrame
    places: gpd.GeoDataFrame
    sites: pd.DataFrame
    grades: int = 3  # grades of a stream section: a stream (轨) is one class in each
    flows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLOW_COLUMNS))
    accounts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ACCOUNT_COLUMNS))
    teachers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TEACHER_COLUMNS))

    # ------------------------------------------------------------------ the register
    @classmethod
    def start(
        cls, dataset: Dataset, class_size: dict[str, int] | None = None, grades: int = 3
    ) -> Ledger:
        """The register, section by section (see ``register_sections``)."""
        sizes = {"kindergarten": 30, "primary": 45, "junior": 50, "senior_high": 50}
        sizes |= {"vocational": 50, **(class_size or {})}
        sections = register_sections(dataset.schools, sizes, grades)
        sites = _sites(dataset)
        return cls(sections, dataset.schools.copy(), sites, grades)

    # ------------------------------------------------------------------ reading
    def section_index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_frame(self.sections[["school_id", "section"]])

    def available_sites(self, kinds: Iterable[str] | None = None) -> pd.DataFrame:
        """Candidate sites no programme has taken (of ``kinds``, if given)."""
        free = self.sites[self.sites["taken_by"] == ""]
        if kinds is not None:
            free = free[free["kind"].isin(list(kinds))]
        return free

    def planned(self, programme: str) -> pd.DataFrame:
        return self.sections[self.sections["planned_by"] == programme]

    # ------------------------------------------------------------------ the verbs
    def take_sites(self, programme: str, site_ids: Iterable[str]) -> Ledger:
        """Mark sites as built on by ``programme``; a site taken before is an error."""
        ids = list(site_ids)
        sites = self.sites.set_index("site_id")
        unknown = sorted(set(ids) - set(sites.index))
        taken = sites.loc[sites.index.intersection(ids), "taken_by"]
        twice = taken[taken != ""]
        repeated = sorted({s for s in ids if ids.count(s) > 1})
        problems = [f"{s}: not a candidate site of the data set" for s in unknown]
        problems += [f"{s}: already taken by {who}" for s, who in twice.items()]
        problems += [f"{s}: taken twice by {programme}" for s in repeated]
        if problems:
            raise LedgerError(
                f"{programme}: a site is built on once: " + "; ".join(problems) + " (an "
                "internal error: a programme offered a site the ledger no longer has)"
            )
        sites.loc[ids, "taken_by"] = programme
        sites.loc[ids, "school_id"] = ids
        return replace(self, sites=sites.reset_index())

    def add_schools(self, programme: str, schools: gpd.GeoDataFrame) -> Ledger:
        """New schools (school_id, name, level, ownership, region_id, site_id, geometry)
        with their sections, open and empty until the other verbs fill them."""
        if schools.empty:
            return self
        known = set(self.places["school_id"]) & set(schools["school_id"])
        if known:
            raise LedgerError(f"{programme}: new schools with ids already used: {sorted(known)}")
        rows = []
        for s in schools.itertuples(index=False):
            for section in SECTIONS[s.level]:
                rows.append(
                    {
                        "school_id": s.school_id,
                        "section": section,
                        "level": s.level,
                        "ownership": s.ownership,
                        "region_id": s.region_id,
                        "open": True,
                        "new": True,
                        "site_id": s.site_id,
                        "size_unit": "streams" if section in STREAM_SECTIONS else "classes",
                        "planned_by": programme,
                    }
                )
        new = pd.DataFrame(rows).reindex(columns=SECTION_COLUMNS)
        new[WHOLE] = 0
        new["students_register"] = 0.0
        sections = pd.concat([self.sections, new], ignore_index=True)
        places = pd.concat(
            [self.places, schools.drop(columns="site_id").assign(enrolment=0)],
            ignore_index=True,
        )
        places = gpd.GeoDataFrame(places, geometry="geometry", crs=self.places.crs)
        return replace(self, sections=_sorted(sections), places=places)

    def place_horizon(self, programme: str, table: pd.DataFrame) -> Ledger:
        """Students at the horizon in today's network (school_id, section,
        students_horizon_today); the sections become ``programme``'s."""
        return self._set(programme, table, ["students_horizon_today"], plan=True)

    def close_sections(self, programme: str, keys: pd.DataFrame) -> Ledger:
        """Close sections (school_id, section): no places, students or beds after."""
        table = keys[["school_id", "section"]].assign(
            open=False, size_after=0, capacity_after=0, beds_after=0
        )
        return self._set(programme, table, ["open", "size_after", "capacity_after", "beds_after"])

    def _grades_of(self, sections: pd.DataFrame) -> np.ndarray:
        return np.where(sections["size_unit"] == "streams", self.grades, 1)

    def resize(self, programme: str, table: pd.DataFrame) -> Ledger:
        """Places after the plan (school_id, section, size_after, capacity_after): streams
        or classes added, a section cut to a teaching point's classes."""
        return self._set(programme, table, ["size_after", "capacity_after"])

    def add_beds(self, programme: str, table: pd.DataFrame) -> Ledger:
        """Beds added and after the plan (school_id, section, beds_added, beds_after: 0
        where the section, or the part of it that boards, closes) and the boarders each
        section needs a bed for after the plan (``bed_need_after``)."""
        problems = table[table["beds_after"] > table["beds_added"] + self._register_beds(table)]
        if len(problems):
            raise LedgerError(
                f"{programme}: more beds after the plan than the register's and those added "
                f"at {', '.join(problems['school_id'].head(5))}"
            )
        return self._set(programme, table, ["beds_added", "beds_after", "bed_need_after"])

    def _register_beds(self, table: pd.DataFrame) -> np.ndarray:
        keys = pd.MultiIndex.from_frame(table[["school_id", "section"]])
        beds = self.sections.set_index(["school_id", "section"])["beds_register"]
        return beds.reindex(keys).fillna(0).to_numpy()

    def move_students(self, programme: str, flows: pd.DataFrame) -> Ledger:
        """Record ``programme``'s named flows (FLOW_COLUMNS) and set each of its sections'
        ``students_after``: the horizon in today's network, less what leaves, plus what
        comes in. A flow must start and end at a section of the programme; it must end at
        an open one (or nowhere: a student left without a place)."""
        flows = flows.reindex(columns=FLOW_COLUMNS)
        mine = self.sections["planned_by"] == programme
        keys = self.section_index()
        problems = []
        for end in ("from", "to"):
            named = flows[flows[f"{end}_id"] != ""]
            pairs = pd.MultiIndex.from_frame(
                named[[f"{end}_id", f"{end}_section"]].set_axis(["school_id", "section"], axis=1)
            )
            found = keys.get_indexer(pairs)
            bad = named[(found < 0) | ~mine.to_numpy()[np.maximum(found, 0)]]
            problems += [
                f"{end} {r[f'{end}_id']}/{r[f'{end}_section']}: not a section {programme} planned"
                for _, r in bad.head(5).iterrows()
            ]
            if end == "to":
                shut = named[(found >= 0) & ~self.sections["open"].to_numpy()[np.maximum(found, 0)]]
                problems += [
                    f"to {r['to_id']}/{r['to_section']}: a closed section"
                    for _, r in shut.head(5).iterrows()
                ]
        if problems:
            raise LedgerError(f"{programme}: flows the plan cannot hold: " + "; ".join(problems))
        out = flows.groupby(["from_id", "from_section"])["students"].sum()
        into = flows.groupby(["to_id", "to_section"])["students"].sum()
        s = self.sections.copy()
        index = self.section_index()
        base = s["students_horizon_today"].fillna(0).to_numpy(float)
        after = base - out.reindex(index).fillna(0).to_numpy() + into.reindex(index).fillna(0)
        s.loc[mine, "students_after"] = after.to_numpy()[mine.to_numpy()]
        kept = self.flows[self.flows["programme"] != programme]
        frames = [f for f in (kept, flows.assign(programme=programme)) if len(f)]
        table = pd.concat(frames, ignore_index=True) if frames else flows.iloc[:0]
        return replace(self, sections=s, flows=table.reindex(columns=FLOW_COLUMNS))

    def account(self, programme: str, table: pd.DataFrame) -> Ledger:
        """A programme's region figures (ACCOUNT_COLUMNS without ``programme``)."""
        rows = table.assign(programme=programme).reindex(columns=ACCOUNT_COLUMNS)
        kept = self.accounts[self.accounts["programme"] != programme]
        frames = [f for f in (kept, rows) if len(f)]
        accounts = pd.concat(frames, ignore_index=True) if frames else rows
        return replace(self, accounts=accounts)

    def staff(self, table: pd.DataFrame) -> Ledger:
        """Teachers by school and subject after the plan (TEACHER_COLUMNS)."""
        return replace(self, teachers=table.reindex(columns=TEACHER_COLUMNS))

    def _set(self, programme: str, table: pd.DataFrame, columns: list[str], plan=False) -> Ledger:
        """Write ``columns`` of ``table`` (keyed by school_id, section) into the sections."""
        if table.empty:
            return self
        s = self.sections.copy()
        index = self.section_index()
        keys = pd.MultiIndex.from_frame(table[["school_id", "section"]])
        rows = index.get_indexer(keys)
        if (rows < 0).any():
            missing = [f"{a}/{b}" for (a, b), r in zip(keys, rows, strict=True) if r < 0][:5]
            raise LedgerError(f"{programme}: no such section in the ledger: {', '.join(missing)}")
        for column in columns:
            values = table[column].to_numpy()
            if s[column].dtype != object and values.dtype == object:
                values = values.astype(s[column].dtype)
            s.loc[s.index[rows], column] = values
        if plan:
            s.loc[s.index[rows], "planned_by"] = programme
        return replace(self, sections=s)

    # ------------------------------------------------------------------ views
    def school_view(self) -> gpd.GeoDataFrame:
        """One row per school as the programmes see it: its register columns, ``open``
        (any section open), and its places, capacity and beds after the plan so far."""
        s = self.sections
        classes = s["size_after"] * self._grades_of(s)
        by = s.assign(classes_after=classes, open_int=s["open"].astype(int)).groupby(
            "school_id", sort=False
        )
        sums = by[["classes_after", "capacity_after", "beds_after", "open_int"]].sum()
        streams = (
            s[s["size_unit"] == "streams"].groupby("school_id", sort=False)["size_after"].sum()
        )
        places = self.places.set_index("school_id")
        view = places.copy()
        view["open"] = sums["open_int"].reindex(view.index).fillna(1).to_numpy() > 0
        view["classes"] = sums["classes_after"].reindex(view.index).to_numpy()
        view["capacity"] = sums["capacity_after"].reindex(view.index).to_numpy()
        view["boarding_beds"] = sums["beds_after"].reindex(view.index).to_numpy()
        has_streams = view.index.isin(streams.index)
        view.loc[has_streams, "streams"] = streams.reindex(view.index[has_streams]).to_numpy()
        return gpd.GeoDataFrame(view.reset_index(), geometry="geometry", crs=self.places.crs)

    def sections_after(self, regions: pd.DataFrame) -> gpd.GeoDataFrame:
        """The sections with names, county, prefecture and the school's point: the
        ``schools_after`` table. ``regions``: region_id, county, prefecture."""
        places = self.places.set_index("school_id")
        s = self.sections.copy()
        by_region = regions.set_index("region_id")
        s["name"] = places["name"].reindex(s["school_id"]).to_numpy()
        s["county"] = by_region["county"].reindex(s["region_id"]).fillna("").to_numpy()
        s["prefecture"] = by_region["prefecture"].reindex(s["region_id"]).fillna("").to_numpy()
        geometry = places.geometry.reindex(s["school_id"]).to_numpy()
        return gpd.GeoDataFrame(s, geometry=geometry, crs=self.places.crs)


def _sorted(sections: pd.DataFrame) -> pd.DataFrame:
    order = {s: k for k, s in enumerate(["kindergarten", "primary", "junior", "senior"])}
    order |= {"vocational": 4, "special": 5}
    rank = sections["section"].map(order)
    return (
        sections.assign(_rank=rank)
        .sort_values(["school_id", "_rank"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def _sites(dataset: Dataset) -> pd.DataFrame:
    columns = ["site_id", "region_id", "kind", "max_classes", "demand_id", "taken_by", "school_id"]
    if dataset.sites is None:
        return pd.DataFrame(columns=columns)
    sites = pd.DataFrame(dataset.sites.drop(columns="geometry"))
    if "demand_id" not in sites:
        sites["demand_id"] = ""
    sites["taken_by"] = ""
    sites["school_id"] = ""
    return sites[columns].sort_values("site_id").reset_index(drop=True)


def register_sections(schools: pd.DataFrame, class_size: dict[str, int], grades: int):
    """The register's schools as sections.

    Students: the section's enrolment column (``primary_enrolment``, ``junior_enrolment``,
    ``senior_enrolment``), or the school's enrolment for a one-section level without it.
    Places: a stream section has its streams × ``grades`` classes of the level's class
    size; a complete secondary school's junior section the classes left; a nine-year
    school's classes and capacity split between its sections by the class sizes (the
    split that gives the register's capacity, else by enrolment). Beds and boarders:
    the school's highest section (``BEDS_SECTION``).
    """
    frames = []
    for level, sections in SECTIONS.items():
        mine = schools[schools["level"] == level]
        if mine.empty:
            continue
        split = _split_classes(mine, level, class_size, grades)
        for section in sections:
            frames.append(_section_rows(mine, level, section, split[section], class_size, grades))
    table = pd.concat(frames, ignore_index=True)
    table[WHOLE] = table[WHOLE].fillna(0).round().astype(np.int64)
    return _sorted(table[SECTION_COLUMNS])


def _section_rows(mine, level, section, split, class_size, grades) -> pd.DataFrame:
    size, capacity = split
    column = REGISTER_COLUMN.get(section)
    students = mine[column].fillna(0) if column and column in mine else mine["enrolment"] * 0
    if len(SECTIONS[level]) == 1:  # a one-section school: its enrolment
        students = students.where(students > 0, mine["enrolment"])
    beds = BEDS_SECTION[level] == section
    zero = np.zeros(len(mine))
    return pd.DataFrame(
        {
            "school_id": mine["school_id"].to_numpy(),
            "section": section,
            "level": level,
            "ownership": mine["ownership"].to_numpy(),
            "region_id": mine["region_id"].astype(str).to_numpy(),
            "open": True,
            "new": False,
            "site_id": "",
            "size_unit": "streams" if section in STREAM_SECTIONS else "classes",
            "size_register": size,
            "size_after": size,
            "capacity_register": capacity,
            "capacity_after": capacity,
            "students_register": students.to_numpy(float),
            "students_horizon_today": np.nan,
            "students_after": np.nan,
            "beds_register": mine["boarding_beds"].fillna(0).to_numpy() if beds else zero,
            "beds_added": zero,
            "beds_after": mine["boarding_beds"].fillna(0).to_numpy() if beds else zero,
            "boarders_register": mine["boarders"].fillna(0).to_numpy() if beds else zero,
            "bed_need_after": mine["boarders"].fillna(0).to_numpy(float) if beds else zero,
            "planned_by": "",
        }
    )


def _split_classes(mine: pd.DataFrame, level: str, class_size: dict[str, int], grades: int):
    """(size, capacity) arrays of each section of ``level``'s schools."""
    classes = mine["classes"].fillna(0).to_numpy(float)
    capacity = mine["capacity"].fillna(0).to_numpy(float)
    streams = mine["streams"].fillna(0).to_numpy(float)
    sections = SECTIONS[level]
    if len(sections) == 1:
        section = sections[0]
        if section in STREAM_SECTIONS:
            return {section: (streams, streams * grades * class_size[STREAM_SECTIONS[section]])}
        return {section: (classes, capacity)}
    if level == "complete_secondary":
        senior = np.minimum(streams * grades, classes)
        senior_capacity = np.minimum(senior * class_size["senior_high"], capacity)
        return {
            "senior": (streams, senior_capacity),
            "junior": (classes - senior, capacity - senior_capacity),
        }
    # Two class-counted sections (a nine-year school): the split of classes whose places
    # give the register's capacity, where the data allow one; else by enrolment.
    a, b = class_size["primary"], class_size["junior"]
    first = (b * classes - capacity) / (b - a) if a != b else np.full(len(classes), np.nan)
    exact = np.isfinite(first) & (first >= 0) & (first <= classes) & (first == np.round(first))
    p = mine["primary_enrolment"].fillna(0).to_numpy(float) / a
    j = mine["junior_enrolment"].fillna(0).to_numpy(float) / b
    share = np.divide(p, p + j, out=np.full(len(p), 0.5), where=(p + j) > 0)
    primary = np.where(exact, first, np.round(classes * share))
    primary_capacity = np.where(exact, primary * a, np.round(capacity * share))
    return {
        "primary": (primary, primary_capacity),
        "junior": (classes - primary, capacity - primary_capacity),
    }
