"""Review maps: one Folium page per programme, readable offline, safe with any name.

Two synchronised panes side by side: today's schools (the register's network) on the
left, the schools after the plan coloured by action on the right, each over the data set's
own background (main roads, settlements, county and prefecture names, from
``background.js`` beside the page) and the county boundaries. Merges are drawn as lines to
their receiver; a programme may add county choropleths (today left, after right) and
service areas. The legend names every colour, choropleth classes included; popups speak
the programme's units (students and streams, or children and classes). Scripts and styles
are inlined (``report.offline``); tiles are the only part that needs a network.
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from itertools import pairwise

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.plugins import DualMap

from layoutopt.decisions import COLUMNS, HONOURED
from layoutopt.programmes.base import COMMON_ACTIONS
from layoutopt.report.background import FILE as BACKGROUND_FILE
from layoutopt.report.map_decisions import DecisionPanel
from layoutopt.report.map_elements import (
    JINJA,
    OfflineBackground,
    Overlay,
    PaneControls,
    SchoolCluster,
    SchoolData,
    SchoolSearch,
)
from layoutopt.report.offline import inline_assets
from layoutopt.results import ProgrammeResult

OTHER = ("#bdbdbd", "other")
SHOWN = "(shown)"  # a point layer whose label ends so is on when the map opens
MERGE_COLOUR = "#d7301f"
MARK_COLOUR = "#b8860b"  # rings around named schools (dark gold)
LINE_ACTIONS = ("merge_into", "move_teachers")  # actions drawn as a line to their target
MOST_MOVES = 500  # teachers' moves drawn, largest first
BOUNDARY_TOLERANCE_DEG = 0.005  # about 500 m: enough for a province-wide review map
CHOROPLETH = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]  # few → many
ZH = {"students": "学生", "children": "幼儿", "streams": "轨", "classes": "班", "teachers": "教师"}
KEYS = ["lon", "lat", "id", "name", "county", "kind", "action", "open", "register"]
KEYS += ["horizon", "after", "size_register", "size_after", "capacity_register"]
KEYS += ["capacity_after", "beds_register", "beds_after", "reason"]


def popup_labels(people: str, unit: str, beds: bool) -> list[tuple[str, str]]:
    """Popup rows in the programme's own words: whom it places and how it counts size."""
    labels = [
        ("school", "学校 school"),
        ("county", "县 county"),
        ("kind", "level / ownership"),
        ("action", "措施 action"),
        ("register", f"{ZH.get(people, '')} {people} on the register"),
        ("horizon", f"{people} expected at the horizon in today's network"),
        ("after", f"{people} expected at the horizon after the plan"),
        ("size", f"{unit} {ZH.get(unit, '')} (register → after)"),
        ("capacity", "places (register → after)"),
    ]
    return labels + ([("beds", "boarding beds 床位 (register → after)")] if beds else [])


class Legend(MacroElement):
    _template = JINJA.from_string(
        """
        {% macro html(this, kwargs) %}
        <div id="layoutopt-legend" style="position: fixed; bottom: 24px; right: 12px;
             z-index: 9999; background: white; padding: 8px 10px; border: 1px solid #999;
             border-radius: 4px; font: 12px/1.5 sans-serif; max-width: 300px;">
          <b>{{ this.title }}</b><br>
          {% for colour, label, count in this.items %}
          <span style="display:inline-block;width:11px;height:11px;border-radius:50%;
                background:{{ colour }};border:1px solid #333;margin-right:5px;"></span>
          {{ label }} ({{ count }})<br>
          {% endfor %}
          <span style="display:inline-block;width:16px;border-top:2px solid #d7301f;
                margin-right:5px;vertical-align:middle;"></span>{{ this.line_label }}
          {% for label, classes in this.choropleths %}
          <div style="margin-top:6px;"><b>{{ label }}</b></div>
          {% for colour, text in classes %}
          <span style="display:inline-block;width:14px;height:10px;background:{{ colour }};
                border:1px solid #777;margin-right:5px;"></span>{{ text }}<br>
          {% endfor %}
          {% endfor %}
          <div style="color:#666;margin-top:4px;">{{ this.note }}</div>
        </div>
        {% endmacro %}
        """
    )

    def __init__(self, title, items, choropleths, note: str, line_label: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.title, self.items, self.choropleths, self.note = title, items, choropleths, note
        self.line_label = line_label


def review_map(
    result: ProgrammeResult,
    regions: gpd.GeoDataFrame,
    heading: str,
    decided: pd.DataFrame | None = None,
) -> str:
    """A self-contained HTML page reviewing one programme's plan. ``decided``: the review
    decisions the plan took (its panel starts from them); where the programme takes
    decisions, each school's popup offers them."""
    schools = result.schools_after
    if schools is None or schools.empty:
        raise ValueError(f"programme {result.programme} has no schools to map")
    bounds = schools.total_bounds
    if result.map_actions:
        rows = _drawn_lines(result.changes[result.changes["action"].isin(result.map_actions)])
        named = set(rows["school_id"]) | set(rows["target_id"])
        schools = schools[schools["school_id"].isin(named)]
        result = replace(result, schools_after=schools)
    centre = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    dual = DualMap(location=centre, tiles=None, zoom_start=7, control_scale=False)
    colours = action_colours(result)
    payload = _payload(result, colours) | _decision_payload(result, heading, decided)
    SchoolData(payload).add_to(dual.m1)
    dual.get_root().header.add_child(Element(f'<script src="{BACKGROUND_FILE}"></script>'))
    layers = list(result.region_layers.items())
    titles = {"today": "现状 today: the register's schools", "after": "规划后 after the plan"}
    clusters = {}
    for pane, mode in ((dual.m1, "today"), (dual.m2, "after")):
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap 底图 (online)").add_to(pane)
        OfflineBackground().add_to(pane)
        if layers:  # a choropleth draws the county boundaries itself
            label, values = layers[0] if mode == "today" else layers[-1]
            breaks = result.region_breaks.get(label)
            _choropleth(regions, values, label, breaks).add_to(pane)
        else:
            _boundaries(regions).add_to(pane)
        _prefectures(regions).add_to(pane)
        clusters[mode] = SchoolCluster(mode, name=f"学校 schools, {mode}")
        clusters[mode].add_to(pane)
        PaneControls(titles[mode]).add_to(pane)
    _merge_lines(result.changes, schools, _line_label(result)).add_to(dual.m2)
    if result.service_areas is not None and len(result.service_areas):
        _service_areas(schools, result.service_areas).add_to(dual.m2)
    for label, ids in result.school_layers.items():
        _marked(schools, ids, label).add_to(dual.m2)
    for label, (colour, rows) in result.point_layers.items():
        shown = label.endswith(SHOWN)
        name = html.escape(label.removesuffix(SHOWN).strip())
        Overlay("circles", rows, name=name, colour=colour, show=shown, weight=2).add_to(dual.m2)
    SchoolSearch(clusters["after"]).add_to(dual.m2)
    if payload["decide"]:
        DecisionPanel().add_to(dual.m2)
    for pane in (dual.m1, dual.m2):
        folium.LayerControl(collapsed=True).add_to(pane)
    counts = schools["action"].value_counts()
    items = [(*colours.get(a, OTHER), int(counts[a])) for a in _ordered(colours, counts.index)]
    items += [(MARK_COLOUR, f"◯ {label}", len(ids)) for label, ids in result.school_layers.items()]
    items += [
        (colour, f"○ {label.removesuffix(SHOWN).strip()}", len(rows))
        for label, (colour, rows) in result.point_layers.items()
    ]
    legends = [
        (label, _classes(values, result.region_breaks.get(label))) for label, values in layers
    ]
    note = "Left: today; right: after the plan (the panes move together). Click a school."
    Legend(heading, items, legends, note, _line_label(result)).add_to(dual.m2)
    dual.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return inline_assets(dual.get_root().render())


def action_colours(result: ProgrammeResult) -> dict[str, tuple[str, str]]:
    """Action word -> (colour, label), from the programme's own vocabulary."""
    return {str(a.code): (a.colour, a.label) for a in (*result.actions, *COMMON_ACTIONS)}


def _ordered(colours: dict, actions) -> list[str]:
    known = [a for a in colours if a in set(actions)]
    return known + sorted(set(actions) - set(known))


def _payload(result: ProgrammeResult, colours: dict[str, tuple[str, str]]) -> dict:
    """The schools as one table of numbers and short lookups, shared by both panes."""
    schools = result.schools_after
    assert schools is not None
    counties = sorted(set(schools["county"].astype(str)))
    kind = schools["level"].astype(str) + " / " + schools["ownership"].astype(str)
    kinds = sorted(set(kind))
    actions = list(colours) + sorted(set(schools["action"]) - set(colours))
    mapped = set(schools["school_id"])
    reasons = {k: v for k, v in _reasons(result.changes).items() if k in mapped}
    texts = sorted(set(reasons.values()))
    unit = str(schools["size_unit"].iloc[0]) if len(schools) else ""
    columns = [
        schools.geometry.x.round(5),
        schools.geometry.y.round(5),
        schools["school_id"].astype(str),
        schools["name"].astype(str),
        schools["county"].astype(str).map(counties.index),
        kind.map(kinds.index),
        schools["action"].map(actions.index),
        schools["open"].astype(bool).astype(int),
        *(schools[c] for c in ("students_register", "students_horizon_today")),
        *(schools[c] for c in ("students_after", "size_register", "size_after")),
        *(schools[c] for c in ("capacity_register", "capacity_after", "beds_register")),
        schools["beds_after"],
        schools["school_id"].map(lambda s: texts.index(reasons[s]) if s in reasons else -1),
    ]
    rows = [[_plain(v) for v in values] for values in zip(*columns, strict=True)]
    return {
        "keys": KEYS,
        "labels": popup_labels(result.people, unit, bool((schools["beds_after"] > 0).any())),
        "counties": counties,
        "kinds": kinds,
        "actions": [[a, *colours.get(a, OTHER)] for a in actions],
        "keep": actions.index("keep"),
        "reasons": texts,
        "rows": rows,
    }


def _decision_payload(result: ProgrammeResult, heading: str, decided: pd.DataFrame | None) -> dict:
    """What the popups' decision form needs: whether the programme takes decisions, and
    the run's own (school_id, decision, target, reason, decided by, date)."""
    rows = [] if decided is None else decided[COLUMNS[1:]].to_numpy().tolist()
    return {
        "programme": result.programme,
        "plan": heading,
        "decide": result.programme in HONOURED,
        "decided": rows,
    }


def _plain(value: object) -> object:
    if isinstance(value, np.integer | np.bool_):
        return int(value)
    return float(value) if isinstance(value, np.floating) else value


def _reasons(changes: pd.DataFrame) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for row in changes.itertuples():
        if row.school_id:
            out.setdefault(str(row.school_id), []).append(f"{row.action}: {row.reason}")
    return {school: "\n".join(lines) for school, lines in out.items()}


def _light(regions: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """Simplified boundaries with their text escaped (tooltips are written as HTML)."""
    light = regions[[*columns, "geometry"]].copy()
    light["geometry"] = light.geometry.simplify(BOUNDARY_TOLERANCE_DEG, preserve_topology=True)
    for column in columns:
        light[column] = light[column].astype(str).map(html.escape)
    return light


def _boundaries(regions: gpd.GeoDataFrame) -> folium.GeoJson:
    light = _light(regions, ["region_id", "name", "prefecture_name"])
    data = json.loads(light.to_json(drop_id=True, to_wgs84=True))
    return folium.GeoJson(
        _round_coordinates(data),
        name="县界 county boundaries",
        style_function=lambda _f: {"color": "#555", "weight": 1, "fillOpacity": 0.0},
        tooltip=folium.GeoJsonTooltip(fields=["name", "prefecture_name", "region_id"]),
    )


def _class_of(values: pd.Series, breaks=None) -> tuple[np.ndarray, float]:
    """Five classes: by the four ``breaks`` where given, else 0 for none, then quarters of
    the largest value."""
    if breaks is not None:
        return np.searchsorted(np.asarray(breaks, float), values.to_numpy(float)), 0.0
    top = float(values.max()) if len(values) else 0.0
    top = top or 1.0
    return np.minimum(np.ceil(values.to_numpy(float) / top * 4), 4).astype(int), top


def _digits(values: pd.Series) -> int:
    """Decimals a choropleth shows: none for counts, two for ratios below 10."""
    top = float(values.abs().max()) if len(values) else 0.0
    return 2 if 0 < top < 10 else 0


def _classes(values: pd.Series, breaks=None) -> list[tuple[str, str]]:
    """The legend of a choropleth: each class's colour and range."""
    digits = _digits(values)
    if breaks is not None:
        b = [f"{x:,.{digits}f}" for x in breaks]
        texts = [
            f"≤ {b[0]}",
            *(f"{lo} – {hi}" for lo, hi in pairwise(b)),
            f"> {b[3]}",
        ]
        return list(zip(CHOROPLETH, texts, strict=True))
    _, top = _class_of(values.round(digits))
    out = [(CHOROPLETH[0], "0")]
    for k in range(1, 5):
        out.append((CHOROPLETH[k], f"{top * (k - 1) / 4:,.{digits}f} – {top * k / 4:,.{digits}f}"))
    return out


def _choropleth(
    regions: gpd.GeoDataFrame, values: pd.Series, label: str, breaks=None
) -> folium.GeoJson:
    """Counties coloured by a value in five classes (the first for zero, or by breaks)."""
    light = _light(regions, ["region_id", "name"])
    values = values.reindex(regions["region_id"]).fillna(0.0)
    light["value"] = values.round(_digits(values)).to_numpy()
    classes, _ = _class_of(light["value"], breaks)
    light["colour"] = [CHOROPLETH[c] for c in classes]
    data = _round_coordinates(json.loads(light.to_json(drop_id=True, to_wgs84=True)))
    return folium.GeoJson(
        data,
        name=html.escape(label),
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#777",
            "weight": 0.5,
            "fillOpacity": 0.45,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "value"], aliases=["county", html.escape(label)]
        ),
    )


def _prefectures(regions: gpd.GeoDataFrame) -> folium.GeoJson:
    """Prefecture boundaries, drawn over the counties."""
    outline = regions.dissolve(by="prefecture_id", as_index=False)[
        ["prefecture_id", "prefecture_name", "geometry"]
    ]
    light = _light(outline, ["prefecture_id", "prefecture_name"])
    data = json.loads(light.to_json(drop_id=True, to_wgs84=True))
    return folium.GeoJson(
        _round_coordinates(data),
        name="市界 prefecture boundaries",
        style_function=lambda _f: {"color": "#222", "weight": 2.5, "fillOpacity": 0.0},
        tooltip=folium.GeoJsonTooltip(fields=["prefecture_name", "prefecture_id"]),
    )


def _marked(schools: gpd.GeoDataFrame, ids: list[str], label: str) -> Overlay:
    """A layer ringing named schools (e.g. the high-level schools), with their names."""
    where = schools.set_index("school_id")
    rows = [
        [round(where.geometry[s].y, 5), round(where.geometry[s].x, 5), 2500.0, where["name"][s]]
        for s in ids
        if s in where.index
    ]
    return Overlay(
        "circles", rows, name=html.escape(label), colour=MARK_COLOUR, show=True, weight=3
    )


def _service_areas(schools: gpd.GeoDataFrame, radius_km: pd.Series) -> Overlay:
    where = schools.set_index("school_id").geometry
    rows = [
        [round(where[s].y, 5), round(where[s].x, 5), float(km) * 1000]
        for s, km in radius_km.items()
        if s in where.index
    ]
    return Overlay(
        "circles", rows, name="服务半径 service areas of projects", colour="#1a9850", show=False
    )


def _round_coordinates(data: dict, digits: int = 4) -> dict:
    def walk(value):
        if isinstance(value, float):
            return round(value, digits)
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    for feature in data["features"]:
        feature["geometry"]["coordinates"] = walk(feature["geometry"]["coordinates"])
    return data


def _drawn_lines(changes: pd.DataFrame) -> pd.DataFrame:
    """The rows drawn as lines: every merge, and the largest teachers' moves between two
    schools (they can be many)."""
    lines = changes[
        changes["action"].isin(LINE_ACTIONS)
        & (changes["target_id"] != "")
        & (changes["target_id"] != changes["school_id"])
    ]
    moves = lines["action"] == "move_teachers"
    largest = lines[moves].sort_values("teachers", ascending=False, kind="stable").head(MOST_MOVES)
    return pd.concat([lines[~moves], largest])


def _line_label(result: ProgrammeResult) -> str:
    """What the map's lines are: merges, or (staffing) teachers' moves."""
    if any(str(a.code) == "move_teachers" for a in result.actions):
        return f"调配去向 teachers' moves (the {MOST_MOVES} largest)"
    return "合并去向 merge → receiver"


def _merge_lines(changes: pd.DataFrame, schools: gpd.GeoDataFrame, label: str) -> Overlay:
    where = schools.set_index("school_id").geometry
    lines = _drawn_lines(changes)
    lines = lines[lines["school_id"].isin(where.index) & lines["target_id"].isin(where.index)]
    rows = []
    for row in lines.itertuples():
        a, b = where[row.school_id], where[row.target_id]
        moved = row.students_moved if row.action == "merge_into" else f"{row.teachers} teachers"
        tip = f"{row.school_name} → {row.target_name} ({moved})"
        rows.append([round(a.y, 5), round(a.x, 5), round(b.y, 5), round(b.x, 5), tip])
    return Overlay("lines", rows, name=html.escape(label), colour=MERGE_COLOUR, show=True)
