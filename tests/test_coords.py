"""GCJ-02 ↔ WGS-84 against published sample points (eviltransform and gcoord test suites)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layoutopt.geo.coords import gcj02_to_wgs84, wgs84_to_gcj02

# (wgs_lat, wgs_lon, gcj_lat, gcj_lon) from the eviltransform test suite (googollee/eviltransform).
PUBLISHED = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), PUBLISHED)
def test_forward_matches_published(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert lon == pytest.approx(gcj_lon, abs=1e-9)
    assert lat == pytest.approx(gcj_lat, abs=1e-9)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), PUBLISHED)
def test_inverse_matches_published(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    # 1e-7 degrees is about 1 cm.
    assert lon == pytest.approx(wgs_lon, abs=1e-7)
    assert lat == pytest.approx(wgs_lat, abs=1e-7)


def test_inverse_matches_gcoord_sample():
    # gcoord's test: GCJ02 (123, 45) -> WGS84 (122.99395597, 44.99804071), checked there to
    # 5 decimals because gcoord's inverse is a one-step approximation (ours iterates).
    lon, lat = gcj02_to_wgs84(123.0, 45.0)
    assert lon == pytest.approx(122.99395597, abs=5e-6)
    assert lat == pytest.approx(44.99804071, abs=5e-6)


def test_outside_china_unchanged():
    lon, lat = wgs84_to_gcj02([2.35, -70.0], [48.85, 40.0])
    np.testing.assert_array_equal(lon, [2.35, -70.0])
    np.testing.assert_array_equal(lat, [48.85, 40.0])


def test_offset_is_a_few_hundred_metres_in_shanxi():
    lon, lat = wgs84_to_gcj02(112.55, 37.87)  # Taiyuan
    metres = np.hypot((lon - 112.55) * 111_320 * np.cos(np.radians(37.87)), (lat - 37.87) * 110_540)
    assert 100 < metres < 1000


@given(st.floats(min_value=73.0, max_value=135.0), st.floats(min_value=18.0, max_value=53.0))
def test_round_trip(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert abs(back_lon - lon) < 1e-8
    assert abs(back_lat - lat) < 1e-8
