"""A data set: the typed tables of one province, loaded and checked together."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layoutopt.data import validate as v
from layoutopt.data.coerce import typed_table
from layoutopt.data.io import WGS84, TableSource, locate, read_raw
from layoutopt.data.schema import TABLES
from layoutopt.errors import InputError, LayoutoptError, Problem
from layoutopt.scenario import DataFiles, ValidationSettings


@dataclass
class Dataset:
    """Typed tables in WGS-84. Optional tables are None when the data set lacks them."""

    folder: Path
    regions: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame | None = None
    road_nodes: gpd.GeoDataFrame | None = None
    road_edges: gpd.GeoDataFrame | None = None
    teachers: pd.DataFrame | None = None  # school_id, subject, teachers
    sources: dict[str, TableSource] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def has_roads(self) -> bool:
        return self.road_nodes is not None and self.road_edges is not None

    def of_counties(self, region_ids: Collection[str]) -> Dataset:
        """The data set cut to some of its counties: their regions, settlements, schools,
        sites and teachers. The road graph stays whole, so that a county's trips are
        those the whole data set gives it."""
        ids = {str(r) for r in region_ids}
        unknown = sorted(ids - set(self.regions["region_id"].astype(str)))
        if unknown:
            raise LayoutoptError(
                f"{self.folder}: no county with region_id {', '.join(unknown)} "
                "(fix: use region_id values of the regions table)"
            )

        def kept(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["region_id"].astype(str).isin(ids)].reset_index(drop=True)

        schools = kept(self.schools)
        teachers = self.teachers
        if teachers is not None:
            teachers = teachers[teachers["school_id"].isin(schools["school_id"])]
            teachers = teachers.reset_index(drop=True)
        note = f"planned for {len(ids)} of the data set's {len(self.regions)} counties"
        return replace(
            self,
            regions=kept(self.regions),
            demand=kept(self.demand),
            schools=schools,
            sites=None if self.sites is None else kept(self.sites),
            teachers=teachers,
            notes=[*self.notes, note],
        )


def check_dataset(
    folder: Path,
    settings: ValidationSettings | None = None,
    files: DataFiles | None = None,
) -> tuple[Dataset | None, list[Problem]]:
    """Load every table of ``folder`` and run every check; return all problems found."""
    settings = settings or ValidationSettings()
    overrides = (files or DataFiles()).model_dump()
    if not folder.is_dir():
        return None, [
            Problem(
                str(folder),
                message="data folder not found",
                fix="set 'data' in the scenario to the data set folder",
            )
        ]
    tables: dict[str, v.TableCheck] = {}
    problems: list[Problem] = []
    for spec in TABLES.values():
        source = locate(folder, spec, overrides.get(spec.name))
        if source is None:
            if spec.required:
                problems.append(
                    Problem(
                        f"{spec.file_stem}.gpkg",
                        spec.layer,
                        message=f"{spec.title}: table not found",
                        fix=f"add {spec.file_stem}.gpkg (layer {spec.layer}), "
                        f"{spec.name}.parquet or {spec.name}.csv",
                    )
                )
            continue
        raw, found = read_raw(source)
        problems += found
        if raw is None:
            continue
        frame, found = typed_table(raw, spec, source)
        problems += found
        check = v.TableCheck(frame, source)
        problems += v.table_checks(check)
        tables[spec.name] = check
    problems += _cross_checks(tables, settings)
    if problems or not {"regions", "demand", "schools"} <= tables.keys():
        return None, problems
    return _assemble(folder, tables), []


def _cross_checks(tables: dict[str, v.TableCheck], settings: ValidationSettings) -> list[Problem]:
    regions = tables.get("regions")
    region_ids = set(regions.frame["region_id"]) if regions and regions.has("region_id") else set()
    problems: list[Problem] = []
    for name in ("demand", "schools", "sites"):
        t = tables.get(name)
        if t is None:
            continue
        problems += v.check_region_ids(t, region_ids)
        if regions is not None and regions.has("region_id", "geometry") and regions.frame.crs:
            problems += v.check_inside_county(t, regions.frame, settings.outside_county_tolerance_m)
    if "schools" in tables:
        problems += v.check_school_sizes(tables["schools"], settings)
    if "demand" in tables:
        problems += v.check_cohorts(tables["demand"])
    if "teachers" in tables and "schools" in tables and tables["schools"].has("school_id"):
        school_ids = set(tables["schools"].frame["school_id"])
        problems += v.check_school_ids(tables["teachers"], school_ids)
    if "road_edges" in tables:
        nodes = tables.get("road_nodes")
        node_ids = set(nodes.frame["node_id"]) if nodes and nodes.has("node_id") else set()
        problems += v.check_edges(tables["road_edges"], node_ids)
    return problems


def _assemble(folder: Path, tables: dict[str, v.TableCheck]) -> Dataset:
    frames = {}
    notes = []
    for name, t in tables.items():
        frame = t.frame
        if "geometry" in frame.columns and frame.crs is not None and frame.crs != WGS84:
            notes.append(f"{t.source.label}: converted from {frame.crs.to_string()} to WGS-84")
            frame = frame.to_crs(WGS84)
        frames[name] = frame
    sources = {name: t.source for name, t in tables.items()}
    return Dataset(folder=folder, sources=sources, notes=notes, **frames)


def load_dataset(
    folder: Path,
    settings: ValidationSettings | None = None,
    files: DataFiles | None = None,
) -> Dataset:
    """Load and check a data set; raise one :class:`InputError` listing every problem."""
    dataset, problems = check_dataset(folder, settings, files)
    if dataset is None:
        raise InputError(problems, context=str(folder))
    return dataset
