"""Reading and writing data-set tables: GeoPackage, GeoParquet, or CSV with lon/lat.

Readers return a *raw* frame plus any problems met while reading; typing and checks
happen in :mod:`layoutopt.data.validate`, so that every problem of every table is
gathered before anything is reported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from layoutopt.data.schema import TABLES, TableSpec
from layoutopt.errors import Problem

WGS84 = "EPSG:4326"
# GeoPackage stamps each layer with a "last change" time; a fixed stamp keeps files that
# were written from the same data byte-identical.
FIXED_GPKG_TIMESTAMP = "2020-11-01T00:00:00Z"


@dataclass(frozen=True)
class TableSource:
    """Where one table of a data set was found."""

    table: str
    path: Path
    layer: str | None
    format: str  # "gpkg" | "parquet" | "csv"

    @property
    def label(self) -> str:
        return self.path.name


def _candidates(folder: Path, spec: TableSpec) -> list[TableSource]:
    flat = spec.name  # CSV and Parquet use one file per table, e.g. road_edges.csv
    return [
        TableSource(spec.name, folder / f"{spec.file_stem}.gpkg", spec.layer, "gpkg"),
        TableSource(spec.name, folder / f"{flat}.parquet", None, "parquet"),
        TableSource(spec.name, folder / f"{flat}.csv", None, "csv"),
    ]


def locate(folder: Path, spec: TableSpec, override: str | None = None) -> TableSource | None:
    """The file that holds ``spec`` in ``folder`` (an override path wins), or None."""
    if override:
        path = Path(override)
        path = path if path.is_absolute() else folder / path
        fmt = {".gpkg": "gpkg", ".parquet": "parquet", ".csv": "csv"}.get(path.suffix.lower(), "")
        return TableSource(spec.name, path, spec.layer if fmt == "gpkg" else None, fmt)
    # A GeoPackage without the table's layer (empty, corrupt, or the layer misnamed) is
    # still returned when nothing else holds the table, so that reading it says why.
    unusable = None
    for source in _candidates(folder, spec):
        if not source.path.is_file():
            continue
        if source.format != "gpkg" or spec.layer in _layers(source.path):
            return source
        unusable = unusable or source
    return unusable


def _layers(path: Path) -> list[str]:
    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # an unreadable file is reported by read_raw
        return []


def read_raw(source: TableSource) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read a table as found, without typing it. CSV cells stay text."""
    where = Problem(file=source.label, layer=source.layer or "")
    if not source.path.is_file():
        return None, [replace(where, message="file not found", fix=f"create {source.path}")]
    try:
        if source.format == "gpkg":
            return _read_gpkg(source, where)
        if source.format == "parquet":
            return gpd.read_parquet(source.path), []
        if source.format == "csv":
            return _read_csv(source, where)
    except UnicodeDecodeError:
        return None, [
            replace(
                where,
                message="the text is not UTF-8 (GBK or another encoding?)",
                fix="save the file as UTF-8 (in Excel: Save As 'CSV UTF-8')",
            )
        ]
    except Exception as exc:  # a corrupt file: say which and why, without a traceback
        return None, [replace(where, message=f"cannot be read ({exc})", fix="re-export the file")]
    return None, [replace(where, message="unknown file type", fix="use .gpkg, .parquet or .csv")]


def _read_gpkg(
    source: TableSource, where: Problem
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    layers = _layers(source.path)
    if not layers:
        return None, [
            replace(
                where,
                message="the file holds no layers (empty, or not a GeoPackage)",
                fix=f"re-export the table as a GeoPackage with the layer '{source.layer}'",
            )
        ]
    if source.layer not in layers:
        fix = f"name the layer '{source.layer}' (layers found: {', '.join(layers)})"
        return None, [replace(where, message="layer not found", fix=fix)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a layer without CRS warns; we report it ourselves
        frame = pyogrio.read_dataframe(source.path, layer=source.layer, fid_as_index=False)
    return frame, []


def _read_csv(source: TableSource, where: Problem) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    frame = pd.read_csv(source.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    spec = TABLES[source.table]
    if {"lon", "lat"} <= set(frame.columns):
        lon = pd.to_numeric(frame["lon"], errors="coerce")
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        bad = frame.index[lon.isna() | lat.isna()]
        problems = [
            replace(
                where,
                row=_csv_row(i),
                column="lon/lat",
                message="not a number",
                fix="enter decimal degrees (WGS-84)",
            )
            for i in bad
        ]
        geometry = gpd.points_from_xy(lon.fillna(0.0), lat.fillna(0.0))
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84), problems
    if "geometry" in frame.columns:  # WKT, e.g. county polygons exported from a GIS
        geometry = shapely.from_wkt(frame.pop("geometry").replace("", None), on_invalid="ignore")
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84), []
    if spec.geometry_type == "point" and spec.field("geometry").required:
        fix = "add 'lon' and 'lat' columns in WGS-84 decimal degrees"
        return None, [replace(where, column="lon/lat", message="no coordinates", fix=fix)]
    return gpd.GeoDataFrame(frame), []


def _csv_row(index: int) -> str:
    return f"line {index + 2}"  # header is line 1


def write_layer(
    frame: gpd.GeoDataFrame,
    path: Path,
    layer: str,
    *,
    metadata: Mapping[str, str] | None = None,
    append: bool = False,
) -> None:
    """Write one GeoPackage layer reproducibly (fixed timestamp, stable column order)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_TIMESTAMP})
    pyogrio.write_dataframe(
        frame,
        path,
        layer=layer,
        driver="GPKG",
        append=append,
        layer_metadata=dict(metadata or {}),
    )


def read_layer_metadata(path: Path, layer: str) -> dict[str, str]:
    info = pyogrio.read_info(path, layer=layer)
    return dict(info.get("layer_metadata") or {})


def atomic_write_text(path: Path, text: str, *, bom: bool = False) -> None:
    """Write a text file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes private files; outputs are for sharing
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


OWNER = ".layoutopt-owner"  # the pid of the run filling a staging folder


def replace_folder(out: Path, fill: Callable[[Path], None]) -> Path:
    """Fill a staging folder beside ``out``, then swap it in: ``out`` is whole or untouched.

    Staging folders left by runs that were killed outright (their owner is no longer
    running) are swept first; an interrupted run removes its own on the way out."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_staging(out)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    staging.chmod(0o755)  # mkdtemp makes a private folder; outputs are for sharing
    try:
        (staging / OWNER).write_text(str(os.getpid()), encoding="utf-8")
        fill(staging)
        (staging / OWNER).unlink()
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def sweep_stale_staging(out: Path) -> list[Path]:
    """Remove staging folders of ``out`` whose owning run is gone; returns them."""
    swept = []
    for folder in out.parent.glob(f".{out.name}.*"):
        owner = folder / OWNER
        try:
            pid = int(owner.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pid = 0
        if folder.is_dir() and not _running(pid):
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(folder)
    return swept


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True
