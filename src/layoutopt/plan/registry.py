"""The programmes that exist, in the order they run. A new programme is one line here.

The registry feeds the scenario's programme sections (a test checks both name the same
programmes), the command line's ``--only``, the map legend and the manifest.
"""

from __future__ import annotations

from layoutopt.errors import LayoutoptError
from layoutopt.programmes.base import Programme
from layoutopt.programmes.boarding.programme import Boarding
from layoutopt.programmes.highschool.programme import HighSchool
from layoutopt.programmes.kindergarten.programme import Kindergarten
from layoutopt.programmes.staffing.programme import Staffing
from layoutopt.programmes.vocational.programme import Vocational
from layoutopt.scenario import Scenario

REGISTRY: dict[str, Programme] = {
    p.name: p for p in (HighSchool(), Kindergarten(), Vocational(), Boarding(), Staffing())
}


def selected(scenario: Scenario, only: list[str] | None = None) -> list[Programme]:
    """The programmes to run, in registry order: ``only`` (if given) or those enabled."""
    unknown = [name for name in only or [] if name not in REGISTRY]
    if unknown:
        raise LayoutoptError(
            f"programme(s) not available: {', '.join(unknown)} "
            f"(fix: choose from {', '.join(REGISTRY)})"
        )
    if only:
        return [p for name, p in REGISTRY.items() if name in only]
    return [p for p in REGISTRY.values() if p.section(scenario).enabled]
