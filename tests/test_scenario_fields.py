"""Every field of the scenario has an effect: the code reads it somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from layoutopt.scenario import Scenario

SRC = Path(__file__).resolve().parents[1] / "src" / "layoutopt"
# Read by the loader itself (not as an attribute elsewhere).
LOADER = {"name", "title", "data", "files", "source"}


def fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += fields(kind, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", name))
    return out


# Modules that never see a scenario (the data set builder reads its calibration file,
# whose fields share some names with the scenario's).
NO_SCENARIO = ("scenario.py", "data/build/", "data/calibration.py")


def code_outside_the_schema() -> str:
    return "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted(SRC.rglob("*.py"))
        if not any(part in p.as_posix() for part in NO_SCENARIO)
    )


def test_every_scenario_field_is_read_somewhere():
    code = code_outside_the_schema()
    unread = [
        path
        for path, name in fields(Scenario)
        if name not in LOADER and not re.search(rf"\.{name}\b|[\"']{name}[\"']", code)
    ]
    assert not unread, f"scenario fields read nowhere (remove them or use them): {unread}"


def test_the_check_would_see_an_unread_field():
    assert not re.search(r"\.never_read_anywhere\b", code_outside_the_schema())
