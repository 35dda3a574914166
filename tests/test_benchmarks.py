"""Published facility-location optima (OR-Library, Holmberg) reproduced by the engine.

The default run checks a fast subset; the whole sets run with ``pytest -m slow``. The
instances are read where they are shipped (``shared/benchmarks`` beside the project, or
$LAYOUTOPT_BENCHMARKS).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix

from layoutopt.engine.bench import BenchOptions, bench_instance
from layoutopt.engine.benchmarks import (
    BENCHMARKS_ENV,
    DEFAULT_FOLDERS,
    list_instances,
    nearest_on_graph,
    suite_folder,
)

# The published sets beside the project (shared/benchmarks), or where the variable says.
SHARED = Path(
    os.environ.get(BENCHMARKS_ENV) or Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
)
needs_benchmarks = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"published benchmark instances not found at {SHARED}"
)

FAST = {
    "pmed": ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5"],
    "cap": ["cap41"],
    "uncap": ["cap71"],
    "holmberg": ["p1", "p2", "p3", "p4", "p5"],
}


def instances(suite: str, names: list[str] | None = None):
    if not SHARED.is_dir():
        return [pytest.param(None, id="missing")]
    found = list_instances(suite, suite_folder(suite, SHARED / DEFAULT_FOLDERS[suite]))
    return [pytest.param(i, id=i.name) for i in found if names is None or i.name in names]


def check(suite: str, instance) -> None:
    row = bench_instance(suite, instance, BenchOptions(time_limit_s=3600))
    assert row["status"] == "optimal", row
    assert row["reproduced"], row


@needs_benchmarks
@pytest.mark.parametrize("suite", sorted(FAST))
def test_fast_subset(suite):
    for instance in [p.values[0] for p in instances(suite, FAST[suite])]:
        check(suite, instance)


@needs_benchmarks
def test_fast_subset_is_complete():
    for suite, names in FAST.items():
        assert [p.values[0].name for p in instances(suite, names)] == names


@needs_benchmarks
@pytest.mark.slow
@pytest.mark.parametrize(
    ("suite", "instance"),
    [
        pytest.param(suite, *p.values, id=f"{suite}-{p.id}")
        for suite in sorted(FAST)
        for p in instances(suite)
    ],
)
def test_whole_sets(suite, instance):
    check(suite, instance)


def test_nearest_on_graph_is_sorted_and_counts_paths():
    """A path 0 –1– 1 –2– 2 –4– 3: of the targets {0, 1, 3}, node 3 is nearest itself
    (0), then 1 (2 + 4 = 6), then 0 (1 + 2 + 4 = 7); indices are into the targets."""
    path = coo_matrix(([1.0, 2.0, 4.0], ([0, 1, 2], [1, 2, 3])), shape=(4, 4)).tocsr()
    distance, nearest = nearest_on_graph(path, 2, np.array([0, 1, 3]))
    assert nearest.tolist() == [[0, 1], [1, 0], [1, 0], [2, 1]]
    assert distance.tolist() == [[0, 1], [0, 1], [2, 3], [0, 6]]
