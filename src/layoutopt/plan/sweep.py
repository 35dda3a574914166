"""Scenario sweeps: the product of a few settings' values, each variant a full plan with its
own output folder, and one ``sweep.csv`` that sets their province KPIs side by side.

Every variant is checked before the first one runs (a misspelt key or a value out of range
stops the sweep with all its problems), and all of them run on one executor, opened once.
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from layoutopt.errors import ScenarioError
from layoutopt.scenario import Scenario, scenario_from_dict

SETTING_HELP = "section.key=value1,value2,... (e.g. highschool.small_max_streams=3,4,5)"


@dataclass(frozen=True)
class Setting:
    """One swept scenario key and the values it takes, in the order given."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Variant:
    """One combination of the swept values, its scenario and its output folder's name."""

    number: int
    values: dict[str, Any]
    scenario: Scenario

    @property
    def folder(self) -> str:
        return f"{self.number:02d}-" + "-".join(
            f"{key.rsplit('.', 1)[-1]}={_text(v)}" for key, v in self.values.items()
        )


def parse_setting(text: str) -> Setting:
    """``section.key=v1,v2``: each value read as TOML (3, 0.95, true, [400, 500]), else as
    text."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ScenarioError(f"--set '{text}': expected {SETTING_HELP}")
    return Setting(key, tuple(_value(v) for v in _split(values)))


def _split(values: str) -> list[str]:
    """Split on commas outside brackets, so that a list value keeps its own commas."""
    parts, depth, current = [], 0, ""
    for char in values:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "_".join(_text(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def variants(path: Path, settings: list[Setting]) -> list[Variant]:
    """Every combination of the settings' values on the scenario at ``path``, each checked;
    all problems of all variants reported at once."""
    if not settings:
        raise ScenarioError(f"a sweep needs at least one --set {SETTING_HELP}")
    keys = [s.key for s in settings]
    if len(set(keys)) < len(keys):
        raise ScenarioError(f"--set names a key twice: {', '.join(keys)} (fix: one --set a key)")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    found, problems = [], []
    for number, combo in enumerate(itertools.product(*(s.values for s in settings)), 1):
        values = dict(zip(keys, combo, strict=True))
        try:
            scenario = scenario_from_dict(_with(raw, values), source=path)
        except ScenarioError as exc:
            problems.append(f"variant {number} ({_label(values)}): {exc}")
            continue
        found.append(Variant(number, values, scenario))
    if problems:
        raise ScenarioError("\n".join(problems))
    return found


def _with(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the scenario's TOML with the dotted keys set."""
    out = copy.deepcopy(raw)  # nested tables too: no variant's value leaks into the next
    for key, value in values.items():
        *sections, name = key.split(".")
        table = out
        for section in sections:
            table = table.setdefault(section, {})
            if not isinstance(table, dict):
                raise ScenarioError(f"--set {key}: '{section}' is not a section of the scenario")
        table[name] = value
    return out


def _label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_text(v)}" for k, v in values.items())


def sweep_table(runs: list[tuple[Variant, pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """Province KPIs and counts of recommended changes of every variant, one row a variant
    and figure, sorted so that a figure's variants sit together. ``runs``: each variant with
    its ``kpis`` and ``changes`` tables."""
    # Every action any variant recommends is counted in every variant (0 where it has none).
    actions = pd.concat([c[["programme", "action"]] for _, _, c in runs]).drop_duplicates()
    frames = []
    for variant, kpis, changes in runs:
        province = kpis[kpis["scope"] == "province"].drop(columns=["scope", "scope_id"])
        sizes = changes.groupby(["programme", "action"]).size()
        counts = actions.copy()
        counts["planned"] = [sizes.get((p, a), 0) for p, a in actions.itertuples(index=False)]
        counts["indicator"] = "changes_" + counts.pop("action")
        table = pd.concat([province, counts], ignore_index=True)
        table["order"] = range(len(table))
        for key, value in variant.values.items():
            table[key] = _text(value)
        table.insert(0, "folder", variant.folder)
        table.insert(0, "variant", variant.number)
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    order = table.groupby(["programme", "indicator"])["order"].transform("min")
    table = table.assign(order=order).sort_values(["order", "programme", "indicator", "variant"])
    keys = list(runs[0][0].values)
    columns = ["programme", "indicator", "variant", *keys, "baseline", "target", "planned", "met"]
    return table[[*columns, "folder"]].reset_index(drop=True)


Runner = Callable[[Variant, Path], tuple[pd.DataFrame, pd.DataFrame]]


def run_sweep(found: list[Variant], out: Path, run: Runner) -> pd.DataFrame:
    """Run each variant into ``out/<folder>`` with ``run`` (which plans and writes it and
    returns its kpis and changes); returns the sweep table."""
    runs = [(v, *run(v, out / v.folder)) for v in found]
    return sweep_table(runs)
