"""The calibration file of a data build: provincial totals and every named assumption.

Nothing in the generator is specific to one province: the figures it is calibrated to,
and the assumptions it makes where no figure was found, are read from this file.
Each value in the file carries a comment with its source or says "assumption".
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from layoutopt.errors import LayoutoptError


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Province(Part):
    name: str
    name_en: str
    base_year: int
    population: int = Field(description="Census resident population (target of the sum).")
    urban_share: float = Field(gt=0, lt=1, description="Census urban share of residents.")
    children_0_14: int = Field(description="Census residents aged 0-14.")
    child_share_range: tuple[float, float] = Field(description="County range of the 0-14 share.")


class Settlements(Part):
    unit_kind_by_suffix: dict[str, str] = Field(
        description="Name suffix to unit kind (district, city, county)."
    )
    urban_share_by_kind: dict[str, float] = Field(
        description="Relative urban shares by unit kind, scaled to the provincial share."
    )
    town_share_of_urban: dict[str, float] = Field(
        description="Share of a unit's urban residents living in town centres, by unit kind."
    )
    urban_unit_population: int = Field(description="Residents per urban unit (city district).")
    min_urban_units: int
    town_population: int = Field(description="Residents per town centre, on average.")
    min_towns: int
    village_cluster_population: int = Field(description="Residents per village cluster.")
    size_sigma: float = Field(description="Log-normal spread of settlement sizes.")
    urban_radius_km_per_sqrt_unit: float = Field(description="How far urban units spread.")
    growing_urban_share: float = Field(description="Share of urban units that are growing.")
    migrant_share: dict[str, float] = Field(description="Migrant share by settlement kind.")
    migrant_share_district_bonus: float
    left_behind_share: dict[str, float] = Field(description="Left-behind share of children.")
    child_share_by_kind: dict[str, float] = Field(description="Relative child share by kind.")


class Cohorts(Part):
    births: dict[str, int] = Field(description="Births by year (sources in the file).")
    survival_to_base_year: float = Field(description="Share of a birth cohort still resident.")


class Stage(Part):
    """One stage of schooling, served by sections of one or more school levels."""

    students: int = Field(description="Students enrolled in the stage (target).")
    classes: int = Field(0, description="Classes in the stage (target; 0 = not calibrated).")
    ages: tuple[int, int] = Field(description="Single-year ages served, first and last.")
    min_per_county: int = Field(0, description="Sections every eligible county has at least.")
    min_county_population: int = Field(0, description="Counties below this have none.")
    host_kinds: dict[str, float] = Field(description="Weight of each settlement kind as a host.")
    count_exponent: float = Field(description="Sections per county grow as pupils ** this.")
    class_size: int = Field(description="Standard class size (capacity = classes × this).")
    actual_class_size: tuple[float, float] = Field(description="Range of real class sizes.")
    students_per_teacher: float = Field(0.0, description="Staffing norm (0: per class).")
    teachers_per_class: float = Field(0.0, description="Staffing norm per class.")
    boarding_share: dict[str, float] = Field(
        default_factory=dict, description="Share of students boarding, by host kind."
    )


class Level(Part):
    schools: int = Field(description="Number of schools of this level (target).")
    private_share: float = Field(0.0, description="Share of schools that are private.")
    host_kinds: dict[str, float] = Field(
        default_factory=dict, description="For combined schools: preferred host kinds."
    )


class Specialties(Part):
    """Specialty categories (专业大类) of vocational schools; the codes are those of
    ``layoutopt.data.specialties``."""

    weights: dict[str, float] = Field(description="Relative frequency of each category code.")
    per_school: tuple[int, int] = Field(description="Fewest and most categories of a school.")
    students_per_category: int = Field(
        description="A school offers about enrolment / this categories (bigger, more)."
    )


class TeachingPoints(Part):
    """Teaching points (教学点): the first primary grades in a village far from a primary
    school. FACTS.md does not count them as primary schools; no Shanxi count was found."""

    count: int = Field(description="Teaching points to place (assumption).")
    min_road_km: float = Field(
        description="A village hosts one only this far (straight line × circuity) from the "
        "nearest primary or nine-year school of its county."
    )
    circuity: float = Field(description="Road km per straight km for that distance.")
    ages: tuple[int, int] = Field(description="Ages taught (grades 1-3: 6-8).")
    min_pupils: int = Field(description="Fewest pupils of those ages in the village.")
    class_size: int = Field(description="Standard size of its mixed-grade class.")
    teachers_per_class: float = Field(description="Teachers per class (assumption).")


class Schools(Part):
    stages: dict[str, Stage]
    levels: dict[str, Level]
    kindergarten_public_share_of_children: float
    kindergarten_inclusive_coverage: float
    teacher_factor_small: float = Field(description="Staffing of small rural schools / norm.")
    teacher_factor_large: float = Field(description="Staffing of large urban schools / norm.")
    teacher_factor_urban: float = Field(description="Extra factor for urban schools.")
    teacher_factor_sigma: float
    senior_years: int = Field(description="Grades in a senior or vocational section.")
    small_school_students: int = Field(description="A school below this size counts as small.")
    large_school_students: int = Field(description="A school above this size counts as large.")
    beds_per_boarder: tuple[float, float]
    provincial_model_share: float = Field(description="Share of general HS of that tier.")
    municipal_model_share: float
    specialties: Specialties | None = Field(
        None, description="Vocational schools' categories (none: the column is left empty)."
    )
    teaching_points: TeachingPoints | None = Field(
        None, description="Teaching points of village pupils (none: the data set has none)."
    )


class Teachers(Part):
    """How a school's teachers are shared among subject groups (synthetic)."""

    mix: dict[str, dict[str, float]] = Field(
        description="Subject shares of a school's teachers, by level (assumption)."
    )
    rural_share: dict[str, float] = Field(
        description="Share of the mix's PE, arts and mental-health teachers that rural "
        "schools have (assumption: the plan's gaps, 9.(3))."
    )


class Sites(Part):
    new_housing_per_growing_unit: float
    vacant_school_per_villages: int
    max_classes: dict[str, tuple[int, int]]


class Road(Part):
    speed_kmh: dict[str, float]
    circuity: dict[str, float]


class Calibration(Part):
    province: Province
    settlements: Settlements
    cohorts: Cohorts
    schools: Schools
    sites: Sites
    roads: Road
    teachers: Teachers | None = None
    figures: str = Field(
        "FACTS",
        description="The key of `sources` that names where the province's published figures "
        "(school counts, enrolments) come from; 'scaled' for another province's figures "
        "scaled by population.",
    )
    sources: dict[str, str] = Field(default_factory=dict)


def load_calibration(path: Path) -> Calibration:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return Calibration.model_validate(raw)
    except FileNotFoundError:
        raise LayoutoptError(f"{path}: calibration file not found") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise LayoutoptError(f"{path}: {exc}") from None
