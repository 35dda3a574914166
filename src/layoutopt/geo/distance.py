"""Distances on the earth: great-circle metres and a local flat projection in km."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def great_circle_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> NDArray:
    """Haversine distance in metres between WGS-84 points (degrees)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def local_xy_km(lon: ArrayLike, lat: ArrayLike) -> NDArray:
    """Equirectangular x, y in km about the points' mean latitude (for neighbour searches)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    k = np.pi / 180 * EARTH_RADIUS_M / 1000
    mean_lat = np.radians(lat.mean()) if len(lat) else 0.0
    return np.column_stack([lon * k * np.cos(mean_lat), lat * k])


def unit_vectors(lon: ArrayLike, lat: ArrayLike) -> NDArray:
    """Points on the unit sphere: chord length orders pairs as great-circle distance does."""
    lon = np.radians(np.asarray(lon, dtype=float))
    lat = np.radians(np.asarray(lat, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def chord_to_m(chord: ArrayLike) -> NDArray:
    """Great-circle metres for a chord length on the unit sphere."""
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord) / 2, 0.0, 1.0))
