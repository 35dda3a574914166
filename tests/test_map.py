"""The review map opens in a real browser with the network off and shows its data."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from layoutopt.errors import LayoutoptError
from layoutopt.report.offline import inline_assets

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (install Debian's 'chromium' package; .ci/run does)")


def render_offline(page: Path, profile: Path) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and the browser's log, with no network (the
    page's own folder, with background.js, is on disk)."""
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        # The network is off: no name resolves and every request goes to a dead proxy.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def markers(dom: str, pane: str) -> int:
    """Schools drawn in one pane (``today`` or ``after``), alone or inside a cluster."""
    clustered = re.findall(
        rf'layoutopt-cluster-{pane}[^>]*><div class="layoutopt-cluster">(\d+)<', dom
    )
    return sum(map(int, clustered)) + dom.count(f'class="layoutopt-school layoutopt-{pane}"')


def test_highschool_map_shows_every_school_the_legend_and_controls_offline(
    shanxi_run: Path, tmp_path: Path
):
    page = shanxi_run / "maps" / "highschool.html"
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=\"https?:", html)
    assert not re.search(r"<link[^>]+href=\"https?:", html)
    assert page.stat().st_size < 3_000_000
    dom, log = render_offline(page, tmp_path / "profile")
    errors = [line for line in log.splitlines() if "Uncaught" in line]
    assert not errors, errors
    assert 'id="layoutopt-legend"' in dom
    assert "leaflet-control-search" in dom
    assert "leaflet-control-layers-overlays" in dom
    assert "leaflet-control-scale-line" in dom and " mi<" not in dom  # metric only
    # Both panes: every school of the plan on the right, today's (no new school) on the left.
    schools = pd.read_csv(shanxi_run / "schools_after.csv", encoding="utf-8-sig", low_memory=False)
    mine = schools[schools["planned_by"] == "highschool"]
    assert markers(dom, "after") == mine["school_id"].nunique()
    assert markers(dom, "today") == int((mine["size_register"] > 0).sum())
    # The offline background: main roads of the data set in each pane, with no network.
    assert dom.count('class="layoutopt-road"') > 1000


def test_external_assets_are_inlined_or_refused():
    page = (
        '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>\n'
        '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"/>\n'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>\n'
    )
    out = inline_assets(page)
    assert "https://" not in out.split("<script>")[0]
    assert "L.Map" in out or "Leaflet" in out
    assert "url(data:image/png;base64," in out  # the layer-control icon
    assert "jquery" not in out.lower().split("<style>")[0]
    with pytest.raises(LayoutoptError, match="not bundled"):
        inline_assets('<script src="https://example.org/unknown.js"></script>')


def test_kindergarten_map_has_its_choropleths_and_service_areas_offline(
    tiny_dataset_dir: Path, tmp_path: Path
):
    from test_plan_kindergarten import tiny_run

    out = tiny_run(tmp_path, tiny_dataset_dir, "plan")
    page = out / "maps" / "kindergarten.html"
    dom, log = render_offline(page, tmp_path / "profile")
    assert not [line for line in log.splitlines() if "Uncaught" in line]
    assert 'id="layoutopt-legend"' in dom
    assert "children without a place, today" in dom
    assert "children without a place, after the plan" in dom
    legend = dom.split('id="layoutopt-legend"')[1]
    assert re.search(r"\d[\d,.]* – \d[\d,.]*", legend), "the legend has no class range"
    assert "service areas of projects" in dom
    schools = pd.read_csv(out / "schools_after.csv", encoding="utf-8-sig")
    assert markers(dom, "after") == schools["school_id"].nunique()
    assert (
        "classes 班" in html_text(page)
        and "streams" not in html_text(page).split("layoutopt_schools = ")[1].split("</script>")[0]
    )


def html_text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


# Opens every popup and tooltip and searches, so that names reach the page as the user sees
# them; an alert turns the title into ALERT.
PROBE = """<script>window.alert = function() { document.title = 'ALERT'; };
window.addEventListener('load', function() { setTimeout(function() {
  Object.values(window).forEach(function(v) {
    if (v instanceof L.MarkerClusterGroup) {
      v.eachLayer(function(m) {
        var p = m.getPopup().getContent(), t = m.getTooltip().getContent();
        document.body.appendChild(typeof p === 'function' ? p(m) : p);
        document.body.appendChild(t);
      });
    }
    if (L.Control.Search && v instanceof L.Control.Search) { v.searchText('<'); }
  });
}, 500); });</script>"""
HOSTILE = ["<img src=x onerror=alert(1)>", "<!--<script>", "</script><b>x</b>"]


def test_hostile_names_show_as_text_and_the_page_still_draws(tiny_copy: Path, tmp_path: Path):
    import geopandas as gpd
    from typer.testing import CliRunner

    from conftest import TINY, write_scenario
    from layoutopt.cli import app

    schools = gpd.read_file(tiny_copy / "schools.gpkg")
    for level in ("kindergarten", "senior_high"):
        rows = schools.index[schools["level"] == level][: len(HOSTILE)]
        schools.loc[rows, "name"] = HOSTILE
    schools.to_file(tiny_copy / "schools.gpkg", driver="GPKG")
    text = TINY.format(cache=(tmp_path / "cache").as_posix(), projects="[0, 1000]")
    scenario = write_scenario(tmp_path / "s.toml", tiny_copy, text)
    out = tmp_path / "out"
    programmes = ("highschool", "kindergarten")  # the maps read here, and no others
    args = ["plan", str(scenario), "--out", str(out), "--only", ",".join(programmes)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    schools_after = pd.read_csv(out / "schools_after.csv", encoding="utf-8-sig")
    for programme in programmes:
        page = out / "maps" / f"{programme}.html"
        probed = page.with_name(f"probed-{programme}.html")
        probed.write_text(html_text(page).replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        dom, log = render_offline(probed, tmp_path / f"profile-{programme}")
        assert not [line for line in log.splitlines() if "Uncaught" in line]
        assert "<title>ALERT</title>" not in dom and '<img src="x"' not in dom
        for name in HOSTILE:  # shown as text in popups, tooltips and search tips
            escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert dom.count(escaped) >= 2, (programme, name)
        mine = schools_after[schools_after["planned_by"] == programme]
        assert markers(dom, "after") == mine["school_id"].nunique()  # the page still draws
        assert dom.count('class="layoutopt-road"') > 0
