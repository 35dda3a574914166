"""Checks of a data set, one ``check_*`` function per rule; every problem is gathered.

Each check receives typed tables and returns problems that name the file, layer, row,
column and the fix. Thresholds come from the scenario's ``[validation]`` section.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from layoutopt.data.coerce import cell_problems, row_labels
from layoutopt.data.io import WGS84, TableSource
from layoutopt.data.schema import TABLES
from layoutopt.data.specialties import CATALOGUE, codes
from layoutopt.errors import Problem
from layoutopt.scenario import ValidationSettings

STREAM_LEVELS = ("senior_high", "complete_secondary", "vocational")
SECTION_LEVELS = ("teaching_point", "primary", "junior", "nine_year", *STREAM_LEVELS)


class TableCheck:
    """A typed table with what checks need to name places in it."""

    def __init__(self, frame: gpd.GeoDataFrame, source: TableSource) -> None:
        self.frame = frame
        self.source = source
        self.spec = TABLES[source.table]
        self.labels = row_labels(frame, self.spec, source)
        self.base = Problem(file=source.label, layer=source.layer or "")

    def flag(self, mask: pd.Series, column: str, message: str, fix: str) -> list[Problem]:
        """Problems for the flagged rows, each with its cell's value (a geometry as WKT)."""
        values = self.frame.get(column)
        return cell_problems(mask, self.labels, self.base, column, message, fix, values)

    def whole(self, column: str, message: str, fix: str) -> Problem:
        return Problem(self.base.file, self.base.layer, "", column, message, fix)

    def has(self, *columns: str) -> bool:
        return all(c in self.frame.columns for c in columns)


def check_crs(t: TableCheck) -> list[Problem]:
    """A layer needs a CRS; coordinates must then be plausible degrees after conversion."""
    if not t.spec.fields[-1].is_geometry or "geometry" not in t.frame.columns:
        return []
    if t.frame.crs is None:
        return [
            t.whole(
                "geometry",
                "layer has no coordinate reference system",
                "set the layer's CRS (EPSG:4326 for WGS-84 longitude/latitude)",
            )
        ]
    return []


def present(geoms: gpd.GeoSeries) -> pd.Series:
    """Rows with a geometry that is neither missing nor empty."""
    missing = shapely.is_missing(geoms.to_numpy())
    return pd.Series(~missing, index=geoms.index) & ~geoms.is_empty


def check_coordinates(t: TableCheck) -> list[Problem]:
    if "geometry" not in t.frame.columns or t.frame.crs is None:
        return []
    geoms = t.frame.geometry
    if not geoms.crs.is_geographic:  # a projected layer is converted (and noted) on loading
        geoms = geoms.to_crs(WGS84)
    empty = ~present(geoms)
    problems = t.flag(empty, "geometry", "no geometry", "give the feature a location")
    bounds = geoms.bounds
    bad = ~empty & (
        (bounds.minx < -180) | (bounds.maxx > 180) | (bounds.miny < -90) | (bounds.maxy > 90)
    )
    # Where x and y swapped would be plausible degrees, say so.
    swapped = bad & bounds.minx.between(-90, 90) & bounds.miny.between(-180, 180)
    problems += t.flag(
        bad & swapped,
        "geometry",
        "coordinates are not longitude/latitude degrees",
        "longitude and latitude look swapped: x is the longitude (e.g. 112.5), y the latitude "
        "(e.g. 37.8)",
    )
    problems += t.flag(
        bad & ~swapped,
        "geometry",
        f"coordinates are not longitude/latitude degrees in the layer's CRS "
        f"({t.frame.crs.to_string()})",
        "set the CRS the coordinates are really in",
    )
    return problems


def check_unique_ids(t: TableCheck) -> list[Problem]:
    """A row's id (or its key, e.g. school and subject) is its own."""
    key = list(t.spec.unique)
    if not t.has(*key):
        return []
    repeated = t.frame.duplicated(subset=key, keep="first") & (t.frame[key[0]] != "")
    if len(key) == 1:
        what, fix = "duplicate id (an earlier row has it too)", "give every row its own id"
    else:
        what = f"duplicate {' and '.join(key)} (an earlier row has them too)"
        fix = "add the rows of the same " + " and ".join(key) + " together"
    return t.flag(repeated, key[-1], what, fix)


def check_school_ids(t: TableCheck, school_ids: set[str]) -> list[Problem]:
    """Rows that belong to a school name one of the schools table."""
    if not t.has("school_id") or t.source.table == "schools":
        return []
    unknown = (t.frame["school_id"] != "") & ~t.frame["school_id"].isin(school_ids)
    return t.flag(
        unknown,
        "school_id",
        "school_id is not a school of the schools table",
        "use a school_id of the schools table, or remove the row",
    )


def check_non_negative(t: TableCheck) -> list[Problem]:
    problems: list[Problem] = []
    for field in t.spec.fields:
        if field.type in ("integer", "number") and t.has(field.name):
            problems += t.flag(
                t.frame[field.name] < 0,
                field.name,
                "negative value",
                f"enter {field.description_en.lower()} as 0 or more",
            )
    return problems


def check_shares(t: TableCheck) -> list[Problem]:
    problems: list[Problem] = []
    for field in t.spec.fields:
        if field.unit.startswith("share") and t.has(field.name):
            problems += t.flag(
                t.frame[field.name] > 1,
                field.name,
                "share above 1",
                "enter a share between 0 and 1 (not a percentage)",
            )
    return problems


def check_region_ids(t: TableCheck, region_ids: set[str]) -> list[Problem]:
    if not t.has("region_id") or not region_ids:
        return []
    unknown = (t.frame["region_id"] != "") & ~t.frame["region_id"].isin(region_ids)
    return t.flag(
        unknown,
        "region_id",
        "region_id is not a county of regions",
        "use the 6-digit code of the county the row lies in",
    )


def check_polygons(t: TableCheck) -> list[Problem]:
    if "geometry" not in t.frame.columns:
        return []
    geoms = t.frame.geometry
    invalid = present(geoms) & ~geoms.is_valid
    return t.flag(
        invalid,
        "geometry",
        "invalid polygon (self-intersection or similar)",
        "repair it, e.g. with shapely.make_valid or QGIS 'Fix geometries'",
    )


def check_inside_county(
    t: TableCheck, regions: gpd.GeoDataFrame, tolerance_m: float
) -> list[Problem]:
    """Each point lies in the county its region_id names, within a tolerance."""
    if not t.has("region_id", "geometry") or t.frame.crs is None or regions.crs is None:
        return []
    points = t.frame.to_crs(WGS84) if t.frame.crs != regions.crs else t.frame
    points = points[usable_points(points)]
    # A repeated region_id is named by check_unique_ids; its first polygon is used here.
    polygons = regions.drop_duplicates("region_id").set_index("region_id").geometry
    outside = pd.Series(False, index=t.frame.index)
    for region_id, rows in points.groupby("region_id").groups.items():
        polygon = polygons.get(region_id)
        if polygon is None or polygon.is_empty:
            continue
        shapely.prepare(polygon)
        geoms = points.geometry.loc[rows]
        inside = shapely.contains_xy(polygon, geoms.x.to_numpy(), geoms.y.to_numpy())
        outside.loc[rows] = ~inside
    if outside.any() and tolerance_m > 0:
        far = _distance_m(points.loc[outside[outside].index], polygons) > tolerance_m
        outside.loc[far.index] = far
    return t.flag(
        outside,
        "geometry",
        f"point lies outside its county (by more than {tolerance_m:g} m)",
        "correct the coordinates or the region_id",
    )


def _distance_m(points: gpd.GeoDataFrame, polygons: gpd.GeoSeries) -> pd.Series:
    """Metres from each point to its own county polygon, in a local projection."""
    if points.empty:
        return pd.Series(dtype=float)
    local = points.estimate_utm_crs()
    projected = points.to_crs(local)
    own = gpd.GeoSeries(polygons.reindex(points["region_id"]).to_numpy(), crs=WGS84).to_crs(local)
    return pd.Series(projected.geometry.distance(own, align=False).to_numpy(), index=points.index)


def check_school_sizes(t: TableCheck, settings: ValidationSettings) -> list[Problem]:
    f = t.frame
    problems: list[Problem] = []
    if t.has("enrolment", "capacity"):
        over = f["enrolment"] > f["capacity"] * settings.max_enrolment_over_capacity
        problems += t.flag(
            over,
            "enrolment",
            f"enrolment is more than {settings.max_enrolment_over_capacity:g} × capacity",
            "check enrolment and capacity (capacity = classes × standard class size)",
        )
    if t.has("teachers", "enrolment"):
        problems += t.flag(
            (f["teachers"] == 0) & (f["enrolment"] > 0),
            "teachers",
            "open school with no teachers",
            "enter its full-time teachers",
        )
    if t.has("classes", "enrolment"):
        problems += t.flag(
            (f["classes"] == 0) & (f["enrolment"] > 0),
            "classes",
            "students but no classes",
            "enter its number of classes",
        )
    return problems + _check_streams(t, settings.senior_years) + _check_sections(t)


def _check_streams(t: TableCheck, years: int) -> list[Problem]:
    f = t.frame
    if not t.has("level", "streams", "classes"):
        return []
    with_streams = f["level"].isin(STREAM_LEVELS)
    problems = t.flag(
        ~with_streams & (f["streams"] != 0),
        "streams",
        "streams given for a level without a senior or vocational section",
        "set streams to 0",
    )
    # A stream is one class per grade: a senior school has about streams × years classes.
    whole = f["level"].isin(("senior_high", "vocational"))
    off = whole & ((f["streams"] * years - f["classes"]).abs() > years - 1)
    problems += t.flag(
        off,
        "streams",
        f"streams inconsistent with classes (streams × {years} "
        "should be about the number of classes)",
        "correct streams or classes",
    )
    complete = (f["level"] == "complete_secondary") & (f["streams"] * years > f["classes"])
    problems += t.flag(
        complete,
        "streams",
        "more senior classes than classes",
        "streams counts senior-section classes per grade only",
    )
    return problems


def _check_sections(t: TableCheck) -> list[Problem]:
    sections = ["primary_enrolment", "junior_enrolment", "senior_enrolment"]
    if not t.has("enrolment", "level", *sections):
        return []
    total = t.frame[sections].sum(axis=1)
    # Kindergartens and special schools have no stage sections.
    sectioned = t.frame["level"].isin(SECTION_LEVELS)
    return t.flag(
        sectioned & (total != t.frame["enrolment"]),
        "enrolment",
        "section enrolments do not add up to enrolment",
        "make primary + junior + senior enrolment equal enrolment",
    )


def check_cohorts(t: TableCheck) -> list[Problem]:
    ages = [f"age_{a}" for a in range(18)]
    if not t.has("population", *ages):
        return []
    over = t.frame[ages].sum(axis=1) > t.frame["population"]
    return t.flag(
        over,
        "population",
        "more residents aged 0-17 than residents",
        "check population and the age_* columns",
    )


def check_edges(t: TableCheck, node_ids: set[str]) -> list[Problem]:
    f = t.frame
    problems: list[Problem] = []
    for end in ("from_node", "to_node"):
        if t.has(end) and node_ids:
            problems += t.flag(
                ~f[end].isin(node_ids),
                end,
                "node not in the nodes layer",
                "refer to a node_id of the nodes layer",
            )
    for column in ("length_m", "speed_kmh"):
        if t.has(column):
            problems += t.flag(f[column] <= 0, column, "must be above 0", "enter a positive value")
    return problems


def check_not_empty(t: TableCheck) -> list[Problem]:
    """A table the plan needs must have rows."""
    if len(t.frame) or t.source.table not in REQUIRED_ROWS:
        return []
    return [t.whole("", "the table has no rows", f"add the {t.spec.title.lower()} rows")]


REQUIRED_ROWS = ("regions", "demand", "schools")


def check_geometry_type(t: TableCheck) -> list[Problem]:
    """Points where points are expected, polygons where polygons are."""
    if "geometry" not in t.frame.columns or t.spec.geometry_type == "linestring":
        return []
    geoms = t.frame.geometry
    kinds = {"point": ("Point",), "polygon": ("Polygon", "MultiPolygon")}[t.spec.geometry_type]
    wrong = present(geoms) & ~geoms.geom_type.isin(kinds)
    return t.flag(
        wrong,
        "geometry",
        f"a {t.spec.geometry_type} is expected here",
        f"give each row a {t.spec.geometry_type} (e.g. the centroid of a polygon for a point)",
    )


def usable_points(frame: gpd.GeoDataFrame) -> pd.Series:
    """Rows whose geometry is a non-empty point with plausible degrees (checks that
    measure run on these; the others are named by check_coordinates and
    check_geometry_type)."""
    geoms = frame.geometry
    ok = present(geoms) & (geoms.geom_type == "Point")
    points = geoms[ok]
    ok.loc[ok] = points.x.between(-180, 180) & points.y.between(-80, 84)
    return ok


def check_site_sizes(t: TableCheck) -> list[Problem]:
    """A candidate site must hold at least one class."""
    if t.source.table != "sites" or not t.has("max_classes"):
        return []
    return t.flag(
        t.frame["max_classes"] < 1,
        "max_classes",
        "a site for no class",
        "enter the classes the site can hold (1 or more), or remove the row",
    )


def check_specialties(t: TableCheck) -> list[Problem]:
    """Specialty categories: known codes, and only on vocational schools."""
    if not t.has("specialties", "level"):
        return []
    cells = t.frame["specialties"].map(codes)
    problems = t.flag(
        (t.frame["level"] != "vocational") & (cells.str.len() > 0),
        "specialties",
        "specialty categories given for a school that is not vocational",
        "leave specialties empty for other levels",
    )
    unknown = cells.map(lambda found: sorted(set(found) - set(CATALOGUE)))
    for code in sorted({c for found in unknown for c in found}):
        problems += t.flag(
            unknown.map(lambda found, c=code: c in found),
            "specialties",
            f"unknown specialty category '{code}'",
            "use the 2021 catalogue's codes 61-79 separated by ';' (e.g. 66;71;73)",
        )
    return problems


def table_checks(t: TableCheck) -> list[Problem]:
    """The checks that need only the table itself."""
    problems = check_not_empty(t) + check_crs(t) + check_coordinates(t)
    problems += check_geometry_type(t) + check_unique_ids(t)
    problems += check_non_negative(t) + check_shares(t) + check_site_sizes(t)
    problems += check_specialties(t)
    if t.spec.geometry_type == "polygon":
        problems += check_polygons(t)
    return problems
