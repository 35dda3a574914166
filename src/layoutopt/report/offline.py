"""Make a folium page self-contained: inline the bundled scripts and styles it links to.

folium links its JavaScript and CSS from CDNs. A review map must open with no network,
so every ``<script src>`` and stylesheet ``<link>`` is replaced by the bundled file's
text (images the CSS needs become ``data:`` URIs), links to assets the maps do not use
are dropped, and any other external script or style is an error rather than a silent
dependency on the network. Map tiles are the one external part; the data shows without.
"""

from __future__ import annotations

import base64
import re
from importlib import resources

from layoutopt.errors import LayoutoptError

# Asset file name (the last part of folium's CDN address) -> bundled file, or None to drop.
BUNDLED: dict[str, str | None] = {
    "leaflet.js": "leaflet.js",
    "leaflet.css": "leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster.js",
    "MarkerCluster.css": "MarkerCluster.css",
    "MarkerCluster.Default.css": "MarkerCluster.Default.css",
    "leaflet-search.min.js": "leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search.min.css",
    # folium's DualMap links the Leaflet.Sync plugin; layoutopt's own small sync stands in.
    "L.Map.Sync.min.js": "leaflet-sync.js",
    # Not used by the review maps (no Bootstrap widgets, no icon fonts, no jQuery code).
    "jquery-3.7.1.min.js": None,
    "bootstrap.bundle.min.js": None,
    "bootstrap.min.css": None,
    "bootstrap-glyphicons.css": None,
    "all.min.css": None,
    "leaflet.awesome-markers.js": None,
    "leaflet.awesome-markers.css": None,
    "leaflet.awesome.rotate.min.css": None,
}
IMAGES = {".png": "image/png", ".gif": "image/gif"}

SCRIPT = re.compile(r'<script src="(https?://[^"]+)"></script>\s*')
STYLE = re.compile(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>\s*')
CSS_URL = re.compile(r"url\((?:\.\./)?(?:images/)?([\w.-]+\.(?:png|gif))\)")


def asset_text(name: str) -> str:
    return resources.files("layoutopt.report").joinpath("assets", name).read_text("utf-8")


def _data_uri(match: re.Match[str]) -> str:
    name = match.group(1)
    path = resources.files("layoutopt.report").joinpath("assets", name)
    if not path.is_file():
        return "url(data:,)"  # an image the maps never show (e.g. the default marker shadow)
    mime = IMAGES[name[name.rindex(".") :]]
    return f"url(data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')})"


def _bundled(url: str) -> str | None:
    name = url.rsplit("/", 1)[-1]
    if name not in BUNDLED:
        raise LayoutoptError(
            f"map asset {url} is not bundled (fix: add it to layoutopt/report/assets and "
            "to BUNDLED in layoutopt.report.offline)"
        )
    return BUNDLED[name]


def inline_assets(html: str) -> str:
    """The page with every external script and stylesheet inlined or dropped."""

    def script(match: re.Match[str]) -> str:
        name = _bundled(match.group(1))
        return "" if name is None else f"<script>{asset_text(name)}</script>\n"

    def style(match: re.Match[str]) -> str:
        name = _bundled(match.group(1))
        if name is None:
            return ""
        return f"<style>{CSS_URL.sub(_data_uri, asset_text(name))}</style>\n"

    return STYLE.sub(style, SCRIPT.sub(script, html))
