"""The pieces of a review map that folium does not have: one shared schools payload drawn
as clustered markers in each pane, a safe search, a legend, a metric scale and the
offline background.

Every text placed in the page is escaped: JSON inside ``<script>`` has ``<``, ``>`` and
``&`` as ``\\u`` escapes (a name like ``<!--<script>`` cannot end or confuse the script),
popups, tooltips and search tips are built from text nodes or escaped, and the legend
escapes through Jinja.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import MarkerCluster
from jinja2 import Environment

# Jinja with HTML escaping on: every {{ value }} of these templates is escaped unless the
# template says |safe (used only for our own escaped JSON).
JINJA = Environment(autoescape=True)


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class SchoolData(MacroElement):
    """The schools of one programme as one compact table, defined once in the page's head
    and shared by both panes (``layoutopt_schools``)."""

    _template = JINJA.from_string(
        """
        {% macro header(this, kwargs) %}
        <script>var layoutopt_schools = {{ this.payload|safe }};</script>
        <style>
          .layoutopt-school{width:12px;height:12px;border-radius:50%;border:1px solid #222;
                            box-sizing:border-box;}
          .layoutopt-cluster{width:30px;height:30px;border-radius:50%;background:#fff;
                             border:2px solid #555;color:#222;font:bold 11px/26px sans-serif;
                             text-align:center;opacity:.9;}
          .layoutopt-pane-title{background:#fff;padding:3px 8px;border:1px solid #999;
                                border-radius:4px;font:bold 13px sans-serif;}
          .layoutopt-label{background:transparent;border:none;box-shadow:none;color:#444;
                           font:11px sans-serif;text-shadow:0 0 3px #fff;}
          .layoutopt-label-prefecture{font:bold 13px sans-serif;color:#222;}
        </style>
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict) -> None:
        super().__init__()
        self._name = "SchoolData"
        self.payload = script_json(payload)


class SchoolCluster(JSCSSMixin, folium.map.Layer):
    """One pane's schools from ``layoutopt_schools``: ``after`` colours them by action,
    ``today`` draws the register network (no new schools). Clusters are neutral bubbles
    with their count, so they never look like an action's colour."""

    _template = JINJA.from_string(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.markerClusterGroup({
            disableClusteringAtZoom: 11,
            iconCreateFunction: function(cluster) {
                return L.divIcon({className: 'layoutopt-cluster-{{ this.mode }}',
                    iconSize: [30, 30], html: '<div class="layoutopt-cluster">' +
                    cluster.getChildCount() + '</div>'});
            }
        });
        (function() {
            var data = layoutopt_schools, after = {{ this.after }};
            function text(tag, value) {
                var node = document.createElement(tag);
                node.textContent = value;
                return node;
            }
            function popup(r, action) {
                var box = document.createElement('div'), table = document.createElement('table');
                var values = {school: r.name + ' (' + r.id + ')', county: data.counties[r.county],
                    kind: data.kinds[r.kind], action: action[2], register: r.register,
                    horizon: r.horizon, after: r.after, size: r.size_register + ' → ' +
                    r.size_after, capacity: r.capacity_register + ' → ' + r.capacity_after,
                    beds: r.beds_register + ' → ' + r.beds_after};
                data.labels.forEach(function(pair) {
                    var row = document.createElement('tr'), th = text('th', pair[1]);
                    th.style.cssText = 'text-align:left;padding-right:6px';
                    row.appendChild(th);
                    row.appendChild(text('td', values[pair[0]]));
                    table.appendChild(row);
                });
                box.appendChild(table);
                if (after && r.reason >= 0) {
                    box.appendChild(text('p', data.reasons[r.reason]));
                }
                if (after && typeof layoutopt_decide !== 'undefined') {
                    box.appendChild(layoutopt_decide.form(r));
                }
                return box;
            }
            data.rows.forEach(function(values) {
                var r = {};
                data.keys.forEach(function(k, i) { r[k] = values[i]; });
                if (!after && r.size_register === 0 && r.register === 0) { return; }
                var action = data.actions[after ? r.action : data.keep];
                var dot = document.createElement('div');
                dot.className = 'layoutopt-school layoutopt-{{ this.mode }}';
                dot.style.background = action[1];
                dot.style.opacity = (r.open || !after) ? 1 : 0.55;
                var icon = L.divIcon({className: '', iconSize: [12, 12], iconAnchor: [6, 6],
                                      html: dot});
                var label = r.name + ' · ' + data.counties[r.county] + ' · ' + r.id;
                var marker = L.marker([r.lat, r.lon], {icon: icon, search: label});
                marker.bindTooltip(text('span', r.name));
                marker.bindPopup(function() { return popup(r, action); }, {maxWidth: 420});
                {{ this.get_name() }}.addLayer(marker);
            });
        })();
        {% endmacro %}
        """
    )
    default_js: ClassVar[list[tuple[str, str]]] = MarkerCluster.default_js
    default_css: ClassVar[list[tuple[str, str]]] = MarkerCluster.default_css

    def __init__(self, mode: str, *, name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "SchoolCluster"
        self.mode = mode
        self.after = "true" if mode == "after" else "false"


class SchoolSearch(JSCSSMixin, MacroElement):
    """Search schools by name, county or id in a marker cluster. Tips are text nodes
    (leaflet-search would otherwise write names as HTML)."""

    _template = JINJA.from_string(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = new L.Control.Search({
            layer: {{ this.layer.get_name() }}, propertyName: 'search', initial: false,
            marker: false, zoom: 13, collapsed: false, position: 'topright',
            textPlaceholder: '搜索学校 name, county or id',
            buildTip: function(text) {
                var tip = document.createElement('a');
                tip.textContent = text;
                return tip;
            }
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


class PaneControls(MacroElement):
    """A metric scale and the pane's title."""

    _template = JINJA.from_string(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        (function() {
            var title = L.control({position: 'topleft'});
            title.onAdd = function() {
                var div = L.DomUtil.create('div', 'layoutopt-pane-title');
                div.textContent = {{ this.title|safe }};
                return div;
            };
            title.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "PaneControls"
        self.title = script_json(title)


class OfflineBackground(MacroElement):
    """The data set's own background, drawn from ``background.js`` (beside the page, shared
    by every map): main roads, settlements, county and prefecture names. It lies between
    the tiles and the data, so the map reads the same with no network."""

    _template = JINJA.from_string(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            var bg = window.layoutopt_background;
            if (!bg) { return; }
            map.createPane('layoutopt-background').style.zIndex = 350;
            var pane = {pane: 'layoutopt-background', interactive: false};
            var group = L.layerGroup();
            var canvas = L.canvas({pane: 'layoutopt-background'});
            bg.settlements.forEach(function(s) {
                group.addLayer(L.circleMarker([s[1], s[0]], L.extend({renderer: canvas,
                    radius: bg.settlement_radius[s[2]], stroke: false, fillColor: '#9e9e9e',
                    fillOpacity: 0.7}, pane)));
            });
            bg.roads.forEach(function(r) {
                group.addLayer(L.polyline([[r[1], r[0]], [r[3], r[2]]], L.extend({
                    className: 'layoutopt-road', color: bg.road_colour[r[4]],
                    weight: bg.road_weight[r[4]], opacity: 0.8}, pane)));
            });
            [['county', bg.counties], ['prefecture', bg.prefectures]].forEach(function(pair) {
                pair[1].forEach(function(p) {
                    var name = document.createElement('span');
                    name.textContent = p[2];
                    group.addLayer(L.tooltip({permanent: true, direction: 'center',
                        className: 'layoutopt-label layoutopt-label-' + pair[0],
                        pane: 'layoutopt-background'}).setLatLng([p[1], p[0]])
                        .setContent(name));
                });
            });
            group.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "OfflineBackground"


class Overlay(folium.map.Layer):
    """Many simple shapes from one compact array (far lighter than a folium element each):
    ``lines`` as [lat1, lon1, lat2, lon2, tooltip] or ``circles`` as [lat, lon, metres,
    tooltip]; the tooltip is optional and set as text, never as HTML."""

    _template = JINJA.from_string(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup();
        {{ this.data|safe }}.forEach(function(d) {
            var shape = {{ this.shape|safe }};
            if (d.length > {{ this.tip }}) {
                var tip = document.createElement('span');
                tip.textContent = d[{{ this.tip }}];
                shape.bindTooltip(tip);
            }
            {{ this.get_name() }}.addLayer(shape);
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        kind: str,
        rows: list[list],
        *,
        name: str,
        colour: str,
        show: bool,
        weight: int | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "Overlay"
        self.data = script_json(rows)
        self.tip = 4 if kind == "lines" else 3
        weight = weight or (2 if kind == "lines" else 1)
        style = f"{{color: '{colour}', weight: {weight}"
        if kind == "lines":
            self.shape = f"L.polyline([[d[0], d[1]], [d[2], d[3]]], {style}}})"
        else:
            self.shape = (
                f"L.circle([d[0], d[1]], L.extend({{radius: d[2]}}, {style}, "
                "fill: true, fillOpacity: 0.08}))"
            )
