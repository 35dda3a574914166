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
    """The page's DOM after its scripts ran, and the browser's log, with no network."""
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


def test_highschool_map_shows_every_school_the_legend_and_controls_offline(
    shanxi_run: Path, tmp_path: Path
):
    page = shanxi_run / "maps" / "highschool.html"
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=\"https?:", html)
    assert not re.search(r"<link[^>]+href=\"https?:", html)
    dom, log = render_offline(page, tmp_path / "profile")
    errors = [line for line in log.splitlines() if "Uncaught" in line]
    assert not errors, errors
    assert 'id="layoutopt-legend"' in dom
    assert "leaflet-control-search" in dom
    assert "leaflet-control-layers-overlays" in dom
    # Every school of the 'after' layer is on the map, alone or inside a cluster.
    clustered = re.findall(
        r"marker-cluster-(?:small|medium|large)[^>]*><div><span[^>]*>(\d+)<", dom
    )
    alone = dom.count('class="layoutopt-school" style="background:#')  # not the script's
    schools = pd.read_csv(shanxi_run / "schools_after.csv", encoding="utf-8-sig")
    assert sum(map(int, clustered)) + alone == len(schools)
    assert len(clustered) > 0


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
    assert "service areas of projects" in dom
    clustered = re.findall(
        r"marker-cluster-(?:small|medium|large)[^>]*><div><span[^>]*>(\d+)<", dom
    )
    alone = dom.count('class="layoutopt-school" style="background:#')
    schools = pd.read_csv(out / "schools_after.csv", encoding="utf-8-sig")
    assert sum(map(int, clustered)) + alone == len(schools)
