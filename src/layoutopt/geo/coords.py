"""GCJ-02 (the datum of AMap and other Chinese web maps) to and from WGS-84.

GCJ-02 is WGS-84 with a deliberate, smooth, position-dependent offset of a few
hundred metres inside China. The forward formula is public (Krasovsky ellipsoid
constants); the inverse has no closed form and is found by fixed-point
iteration, which converges to well under a millimetre in a few steps.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

# Constants of the published GCJ-02 formula: the Krasovsky 1940 ellipsoid.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

# The offset is applied only inside this box (outside China it is zero).
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


def _offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """GCJ-02 minus WGS-84, in degrees, at WGS-84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = 20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + (common + 20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + (common + 20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0

    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * pi)
    inside = (
        (lon >= _CHINA_LON[0])
        & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0])
        & (lat <= _CHINA_LAT[1])
    )
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert WGS-84 longitudes and latitudes (degrees) to GCJ-02."""
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-10, max_iterations: int = 30
) -> tuple[NDArray, NDArray]:
    """Convert GCJ-02 longitudes and latitudes (degrees) to WGS-84 by fixed-point iteration."""
    gcj_lon = np.asarray(lon, dtype=float)
    gcj_lat = np.asarray(lat, dtype=float)
    wgs_lon, wgs_lat = gcj_lon.copy(), gcj_lat.copy()
    for _ in range(max_iterations):
        fwd_lon, fwd_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        err_lon, err_lat = fwd_lon - gcj_lon, fwd_lat - gcj_lat
        wgs_lon, wgs_lat = wgs_lon - err_lon, wgs_lat - err_lat
        if (
            max(np.max(np.abs(err_lon), initial=0.0), np.max(np.abs(err_lat), initial=0.0))
            < tolerance_deg
        ):
            break
    return wgs_lon, wgs_lat


def geometry_gcj02_to_wgs84(geometries: ArrayLike) -> NDArray:
    """Convert shapely geometries (any type) from GCJ-02 to WGS-84, vertex by vertex."""

    def convert(coords: NDArray) -> NDArray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geometries), convert)
