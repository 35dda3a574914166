"""The review meeting's loop in a real browser, offline: three decisions marked in the
high-school map's popups, kept across a reload, downloaded as decisions.csv, the plan made
again with them, and the new map starting from them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import TINY, read_output, run_plan, write_scenario
from layoutopt.plan.reuse import read_earlier
from layoutopt.scenario import load_scenario
from test_map import browser

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

# Open a school's popup in the plan's pane as the search box does (zoom to it, open it).
OPEN_POPUP = """id => {
    for (const name of Object.keys(window)) {
        const layer = window[name];
        if (!name.startsWith('school_cluster_') || !layer || !layer.eachLayer) continue;
        let found = null;
        layer.eachLayer(m => {
            const html = m.options.icon && m.options.icon.options.html;
            if (m.options.search && m.options.search.endsWith(' · ' + id) && html &&
                html.className.includes('layoutopt-after')) found = m;
        });
        // Resolved once the map has zoomed there and the popup is open.
        if (found) return new Promise(done => layer.zoomToShowLayer(found, () => {
            found.openPopup();
            done(true);
        }));
    }
    return false;
}"""


def plan_tiny(
    folder: Path, data: Path, decisions: Path | None = None, reuse: Path | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = TINY.format(cache=(folder / "cache").as_posix(), projects="[0, 1000]")
    if decisions is not None:
        text = f'decisions = "{decisions.as_posix()}"\n' + text
    scenario = load_scenario(write_scenario(folder / "tiny.toml", data, text))
    earlier = read_earlier(reuse, regions=True) if reuse is not None else None
    run_plan(scenario, folder / "out", only=["highschool"], earlier=earlier)
    return folder / "out"


def offline_page(context, page_path: Path):
    """A page of the map with every request but the file's own refused (no network)."""
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.resolve().as_uri())
    page.wait_for_selector(".layoutopt-decision-panel")
    return page, errors


def decide(page, school_id: str, decision: str, reason: str, target: str = "") -> None:
    assert page.evaluate(OPEN_POPUP, school_id), school_id
    # The school's own popup (its id is in its table), once the map has zoomed to it.
    content = page.locator(".leaflet-popup-content").filter(has_text=f"({school_id})")
    popup = content.locator(".layoutopt-decide")
    popup.locator(".layoutopt-decision").select_option(decision)
    if target:
        popup.locator(".layoutopt-target").select_option(target)
    popup.locator(".layoutopt-reason").fill(reason)
    # Recorded, the popup closes. A click that lands while the map still pans to the
    # popup (a loaded machine) can miss: clicking again records the same mark again.
    for _ in range(3):
        popup.locator(".layoutopt-record").click()
        try:
            content.wait_for(state="detached", timeout=10_000)
            return
        except playwright.TimeoutError:
            continue
    raise AssertionError(f"the decision on {school_id} was not recorded")


def panel_lines(page) -> list[str]:
    return page.locator(".layoutopt-decisions li").all_inner_texts()


def test_decisions_marked_on_the_map_are_downloaded_and_planned(tiny_dataset_dir, tmp_path):
    first = plan_tiny(tmp_path / "first", tiny_dataset_dir)
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser(), args=["--no-sandbox"])
        context = chromium.new_context(accept_downloads=True)
        page, errors = offline_page(context, first / "maps" / "highschool.html")
        page.locator(".layoutopt-decided-by").fill("县教育局")
        page.locator(".layoutopt-decided-by").dispatch_event("change")
        decide(page, "990121-SH002", "keep", "county request")
        decide(page, "990121-CS001", "merge_into", "one campus, 合并", "990121-SH001")
        decide(page, "990102-SH004", "close", "building unsafe")
        assert len(panel_lines(page)) == 3
        page.reload()  # kept in the browser
        page.wait_for_selector(".layoutopt-decision-panel")
        assert len(panel_lines(page)) == 3
        with page.expect_download() as download:
            page.locator(".layoutopt-download").click()
        path = tmp_path / "decisions.csv"
        download.value.save_as(path)
        assert not errors, errors
        chromium.close()
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads it as UTF-8
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(zip(table["school_id"], table["decision"], table["target_id"], strict=True)) == {
        ("990121-SH002", "keep", ""),
        ("990121-CS001", "merge_into", "990121-SH001"),
        ("990102-SH004", "close", ""),
    }
    assert set(table["decided_by"]) == {"县教育局"} and set(table["programme"]) == {"highschool"}
    assert "one campus, 合并" in set(table["reason"])  # a comma, quoted

    # Re-planned as the meeting does: the counties the decisions touch, the others taken.
    second = plan_tiny(tmp_path / "second", tiny_dataset_dir, path, reuse=first)
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["reuse"]["programmes"]["highschool"]["regions_solved"] == ["990102", "990121"]
    changes = read_output(second, "changes.csv")
    kept = changes[changes["school_id"] == "990121-SH002"]
    assert "merge_into" not in set(kept["action"])
    assert kept["reason"].str.startswith("decided at review").all()
    merged = changes[(changes["school_id"] == "990121-CS001") & (changes["action"] == "merge_into")]
    assert merged["target_id"].tolist() == ["990121-SH001"]

    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser(), args=["--no-sandbox"])
        page, errors = offline_page(chromium.new_context(), second / "maps" / "highschool.html")
        lines = panel_lines(page)
        assert len(lines) == 3 and all("(in this plan)" in line for line in lines), lines
        assert page.evaluate(OPEN_POPUP, "990121-SH002")
        popup = page.locator(".leaflet-popup-content")
        assert "decided at review" in popup.inner_text()
        assert popup.locator(".layoutopt-decision").input_value() == "keep"
        assert not errors, errors
        chromium.close()


def test_a_private_school_offers_no_decision(tiny_dataset_dir, tmp_path):
    first = plan_tiny(tmp_path, tiny_dataset_dir)
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser(), args=["--no-sandbox"])
        page, errors = offline_page(chromium.new_context(), first / "maps" / "highschool.html")
        assert page.evaluate(OPEN_POPUP, "990201-SH003")  # 民办: private
        popup = page.locator(".leaflet-popup-content").filter(has_text="(990201-SH003)")
        assert "not the plan's to decide" in popup.inner_text()
        assert popup.locator(".layoutopt-decision").count() == 0
        # Nor is a private school offered as a receiver: 丙市's public ones only.
        assert page.evaluate(OPEN_POPUP, "990201-SH002")
        popup = page.locator(".leaflet-popup-content").filter(has_text="(990201-SH002)")
        offered = popup.locator(".layoutopt-target option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        assert offered and "990201-SH003" not in offered, offered
        assert not errors, errors
        chromium.close()


def test_the_panel_has_words_for_every_decision_kind():
    # A decision read back from a run (an expansion, say) is listed by its words, never as
    # "undefined", and the form offers it: the script's words and option lists name every
    # kind (build and do_not_build on a site, the others on a school).
    from layoutopt.decisions import KINDS
    from layoutopt.report import map_decisions

    script = Path(map_decisions.__file__).read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"{kind}: '" in script, kind  # its words
        assert f"'{kind}'" in script, kind  # offered in a form
