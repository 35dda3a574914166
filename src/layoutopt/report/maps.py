"""Review maps: one Folium page per programme, readable offline.

Layers: county boundaries, the schools after the plan coloured by action (clustered,
searchable by name), the schools today, and a line from each merging school to the school
that receives it. A legend names the colours; the layer switcher gives the before/after
view. Scripts and styles are inlined (``report.offline``): tiles are the only part that
needs a network, and the data shows without them.
"""

from __future__ import annotations

import html
import json
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import MarkerCluster
from jinja2 import Template

from layoutopt.programmes.base import COMMON_ACTIONS
from layoutopt.report.offline import inline_assets
from layoutopt.results import ProgrammeResult

OTHER = ("#bdbdbd", "other")
MERGE_COLOUR = "#d7301f"
LINE_ACTIONS = ("merge_into",)  # actions drawn as a line to their target
ZH = {"students": "学生", "children": "幼儿", "streams": "轨", "classes": "班"}


def popup_labels(people: str, unit: str, beds: bool) -> list[tuple[str, str]]:
    """Popup rows in the programme's own words: whom it places and how it counts size."""
    labels = [
        ("school", "学校 school"),
        ("county", "县 county"),
        ("kind", "level / ownership"),
        ("action", "措施 action"),
        ("register", f"{ZH.get(people, '')} {people} on the register"),
        ("horizon", f"{people} expected at the horizon, today's network"),
        ("after", f"{people} expected at the horizon, after the plan"),
        ("size", f"{unit} {ZH.get(unit, '')} (register → after)"),
        ("capacity", "places (register → after)"),
    ]
    return labels + ([("beds", "boarding beds 床位 (register → after)")] if beds else [])


BOUNDARY_TOLERANCE_DEG = 0.005  # about 500 m: enough for a province-wide review map


class Legend(MacroElement):
    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div id="layoutopt-legend" style="position: fixed; bottom: 24px; left: 12px;
             z-index: 9999; background: white; padding: 8px 10px; border: 1px solid #999;
             border-radius: 4px; font: 12px/1.5 sans-serif; max-width: 280px;">
          <b>{{ this.title }}</b><br>
          {% for colour, label, count in this.items %}
          <span style="display:inline-block;width:11px;height:11px;border-radius:50%;
                background:{{ colour }};border:1px solid #333;margin-right:5px;"></span>
          {{ label }} ({{ count }})<br>
          {% endfor %}
          <span style="display:inline-block;width:16px;border-top:2px solid #d7301f;
                margin-right:5px;vertical-align:middle;"></span>合并去向 merge → receiver
          <div style="color:#666;margin-top:4px;">{{ this.note }}</div>
        </div>
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: list[tuple[str, str, int]], note: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.title, self.items, self.note = title, items, note


class SchoolSearch(JSCSSMixin, MacroElement):
    """Search schools by name in a marker cluster (folium's Search plugin styles GeoJSON
    layers and fails on clusters)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = new L.Control.Search({
            layer: {{ this.layer.get_name() }}, propertyName: 'name', initial: false,
            marker: false, zoom: 13, collapsed: false, position: 'topright',
            textPlaceholder: '搜索学校 search school name'
        });
        {{ this.get_name() }}.on('search:locationfound', function(e) {
            {{ this.layer.get_name() }}.zoomToShowLayer(e.layer, function() {
                e.layer.openPopup();
            });
        });
        {{ this._parent.get_name() }}.addControl({{ this.get_name() }});
        {% endmacro %}
        """
    )
    default_js: ClassVar[list[tuple[str, str]]] = [
        (
            "leaflet-search",
            "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js",
        )
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        (
            "leaflet-search-css",
            "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css",
        )
    ]

    def __init__(self, layer: folium.map.Layer) -> None:
        super().__init__()
        self._name = "SchoolSearch"
        self.layer = layer


class SchoolCluster(JSCSSMixin, folium.map.Layer):
    """Schools as one JSON array turned into clustered markers by a short loop: far lighter
    than one folium element per school, and no jQuery (folium's popups need it)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>.layoutopt-school{width:12px;height:12px;border-radius:50%;
               border:1px solid #222;box-sizing:border-box;}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.markerClusterGroup({disableClusteringAtZoom: 11});
        (function() {
            var data = {{ this.payload }};
            function esc(s) {
                return String(s).replace(/[&<>"']/g, function(c) {
                    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;',
                            "'": '&#39;'}[c];
                });
            }
            data.rows.forEach(function(values) {
                var r = {};
                data.keys.forEach(function(k, i) { r[k] = values[i]; });
                var icon = L.divIcon({className: '', iconSize: [12, 12], iconAnchor: [6, 6],
                    html: '<div class="layoutopt-school" style="background:' + r.colour +
                          ';opacity:' + r.opacity + '"></div>'});
                var marker = L.marker([r.lat, r.lon], {icon: icon, name: r.name});
                var table = data.labels.map(function(pair) {
                    return '<tr><th style="text-align:left;padding-right:6px">' +
                        esc(pair[1]) + '</th><td>' + esc(r[pair[0]]) + '</td></tr>';
                }).join('');
                var notes = r.reasons.map(function(s) { return '<li>' + esc(s) + '</li>'; });
                marker.bindTooltip(esc(r.name));
                marker.bindPopup('<table>' + table + '</table>' + (notes.length ?
                    '<ul style="padding-left:16px">' + notes.join('') + '</ul>' : ''),
                    {maxWidth: 420});
                {{ this.get_name() }}.addLayer(marker);
            });
        })();
        {% endmacro %}
        """
    )
    default_js: ClassVar[list[tuple[str, str]]] = MarkerCluster.default_js
    default_css: ClassVar[list[tuple[str, str]]] = MarkerCluster.default_css

    def __init__(
        self, rows: list[dict], labels: list[tuple[str, str]], *, name: str, show: bool = True
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "SchoolCluster"
        keys = list(rows[0]) if rows else []
        data = {"keys": keys, "labels": labels, "rows": [list(r.values()) for r in rows]}
        # Chinese stays as UTF-8 (a third the size of \u escapes); "</" cannot end the script.
        self.payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace(
            "</", "<\\/"
        )


def review_map(result: ProgrammeResult, regions: gpd.GeoDataFrame, heading: str) -> str:
    """A self-contained HTML page reviewing one programme's plan."""
    schools = result.schools_after
    if schools is None or schools.empty:
        raise ValueError(f"programme {result.programme} has no schools to map")
    bounds = schools.total_bounds
    page = folium.Map(
        location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
        zoom_start=7,
        tiles=None,
        control_scale=True,
    )
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap 底图 (online)").add_to(page)
    _boundaries(regions).add_to(page)
    reasons = _reasons(result.changes)
    colours = action_colours(result)
    unit = str(schools["size_unit"].iloc[0])
    labels = popup_labels(result.people, unit, bool((schools["beds_after"] > 0).any()))
    layer = dict(reasons=reasons, colours=colours, labels=labels)
    after = _school_layer(schools, name="规划后 after the plan", before=False, **layer)
    after.add_to(page)
    _school_layer(schools, name="现状 today", before=True, show=False, **layer).add_to(page)
    _merge_lines(result.changes, schools).add_to(page)
    for k, (label, values) in enumerate(result.region_layers.items()):
        _choropleth(regions, values, label, show=k == 0).add_to(page)
    if result.service_areas is not None and len(result.service_areas):
        _service_areas(schools, result.service_areas).add_to(page)
    SchoolSearch(after).add_to(page)
    folium.LayerControl(collapsed=False).add_to(page)
    counts = schools["action"].value_counts()
    items = [(*colours.get(a, OTHER), int(counts[a])) for a in _ordered(colours, counts.index)]
    Legend(
        heading,
        items,
        "Switch 'today' / 'after the plan' in the layer list; click a school for numbers.",
    ).add_to(page)
    page.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return inline_assets(page.get_root().render())


def action_colours(result: ProgrammeResult) -> dict[str, tuple[str, str]]:
    """Action word -> (colour, label), from the programme's own vocabulary."""
    return {str(a.code): (a.colour, a.label) for a in (*result.actions, *COMMON_ACTIONS)}


def _ordered(colours: dict, actions) -> list[str]:
    known = [a for a in colours if a in set(actions)]
    return known + sorted(set(actions) - set(known))


def _boundaries(regions: gpd.GeoDataFrame) -> folium.GeoJson:
    light = regions[["region_id", "name", "prefecture_name", "geometry"]].copy()
    light["geometry"] = light.geometry.simplify(BOUNDARY_TOLERANCE_DEG, preserve_topology=True)
    data = json.loads(light.to_json(drop_id=True, to_wgs84=True))
    return folium.GeoJson(
        _round_coordinates(data),
        name="县界 county boundaries",
        style_function=lambda _f: {"color": "#555", "weight": 1, "fillOpacity": 0.03},
        tooltip=folium.GeoJsonTooltip(fields=["name", "prefecture_name", "region_id"]),
    )


CHOROPLETH = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]  # few → many


def _choropleth(
    regions: gpd.GeoDataFrame, values: pd.Series, label: str, *, show: bool
) -> folium.GeoJson:
    """Counties coloured by a value in five classes (the first for zero)."""
    light = regions[["region_id", "name", "geometry"]].copy()
    light["geometry"] = light.geometry.simplify(BOUNDARY_TOLERANCE_DEG, preserve_topology=True)
    light["value"] = values.reindex(light["region_id"]).fillna(0.0).round(0).to_numpy()
    top = float(light["value"].max()) or 1.0
    classes = np.minimum((light["value"] / top * (len(CHOROPLETH) - 1)).apply(np.ceil), 4)
    light["colour"] = [CHOROPLETH[int(c)] for c in classes]
    data = _round_coordinates(json.loads(light.to_json(drop_id=True, to_wgs84=True)))
    return folium.GeoJson(
        data,
        name=label,
        show=show,
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#777",
            "weight": 0.5,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "value"], aliases=["county", label]),
    )


def _service_areas(schools: gpd.GeoDataFrame, radius_km: pd.Series) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="服务半径 service areas of projects", show=False)
    where = schools.set_index("school_id").geometry
    for school_id, km in radius_km.items():
        if school_id in where.index:
            point = where[school_id]
            folium.Circle(
                [point.y, point.x],
                radius=float(km) * 1000,
                color="#1a9850",
                weight=1,
                fill=True,
                fill_opacity=0.08,
            ).add_to(group)
    return group


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


def _reasons(changes: pd.DataFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in changes.itertuples():
        if row.school_id:
            out.setdefault(str(row.school_id), []).append(f"{row.action}: {row.reason}")
    return out


def _school_layer(
    schools: gpd.GeoDataFrame,
    *,
    reasons: dict[str, list[str]],
    colours: dict[str, tuple[str, str]],
    labels: list[tuple[str, str]],
    name: str,
    before: bool,
    show: bool = True,
) -> SchoolCluster:
    rows = []
    for school in schools.itertuples():
        if before and school.size_register == 0 and school.students_register == 0:
            continue  # a new school did not exist today
        action = "keep" if before else school.action
        rows.append(
            {
                "lon": round(school.geometry.x, 6),
                "lat": round(school.geometry.y, 6),
                "name": str(school.name),
                "colour": colours.get(action, OTHER)[0],
                "opacity": 1.0 if school.open or before else 0.55,
                "school": f"{school.name} ({school.school_id})",
                "county": str(school.county),
                "kind": f"{school.level} / {school.ownership}",
                "action": colours.get(action, OTHER)[1],
                "register": int(school.students_register),
                "horizon": int(school.students_horizon_today),
                "after": int(school.students_after),
                "size": f"{school.size_register} → {school.size_after}",
                "capacity": f"{school.capacity_register} → {school.capacity_after}",
                "beds": f"{school.beds_register} → {school.beds_after}",
                "reasons": [] if before else reasons.get(school.school_id, []),
            }
        )
    return SchoolCluster(rows, labels, name=name, show=show)


def _merge_lines(changes: pd.DataFrame, schools: gpd.GeoDataFrame) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="合并去向 merges")
    where = schools.set_index("school_id").geometry
    lines = changes[changes["action"].isin(LINE_ACTIONS) & changes["target_id"].isin(where.index)]
    for row in lines.itertuples():
        a, b = where[row.school_id], where[row.target_id]
        folium.PolyLine(
            [[a.y, a.x], [b.y, b.x]],
            color=MERGE_COLOUR,
            weight=2,
            tooltip=html.escape(f"{row.school_name} → {row.target_name} ({row.students_moved})"),
        ).add_to(group)
    return group
