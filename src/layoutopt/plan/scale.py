"""How the plan scales with the number of counties: ``layoutopt bench scale``.

A size is drawn from a national data set in one of two ways:

- ``prefectures`` (the default): the same cross-section of the country at every size:
  whole prefectures spread evenly over the country's 342 in code order, as many as the
  size's share of the counties; each province is planned with only the counties of its
  drawn prefectures. Counties differ in size from province to province (the scaled
  provinces are more populous per county than Shanxi), so only a draw like this asks what
  the time does when the number of counties alone grows; whole prefectures, because the
  vocational programme's problems are prefectures (drawing counties one by one would
  shrink them at the small sizes).
- ``provinces``: whole provinces (those with a calibration of their own first, then the
  others in code order) until the counties reach the size: the runs a ministry would make.

Either way each province is planned as its own plan (its own targets), all on one
executor: the process pool, then a Dask ``LocalCluster``. Every run computes its travel
tables afresh (a cache of its own) and writes no outputs: the figures are the planning
itself. Peak memory is sampled from the worker processes four times a second.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyogrio

from layoutopt.errors import LayoutoptError
from layoutopt.plan import make_plan
from layoutopt.plan.executors import region_executor
from layoutopt.plan.memory import PhasePeaks
from layoutopt.scenario import scenario_from_dict

DRAWS = ("prefectures", "provinces")

COLUMNS = [
    "size",
    "draw",
    "executor",
    "provinces",
    "counties",
    "schools",
    "schools_per_county",
    "programme",
    "seconds",
    "seconds_per_county",
    "seconds_per_1000_schools",
    "peak_worker_mb",
    "peak_main_mb",
    "solves",
    "solves_by_status",
]


def provinces_for(index: pd.DataFrame, counties: int) -> pd.DataFrame:
    """The provinces built from a calibration of their own (the reference: Shanxi in the
    bundled national file), then the others in code order, until ``counties`` reached."""
    own = index["calibration"] == "own"
    ordered = pd.concat([index[own], index[~own]])
    reached = ordered["counties"].astype(int).cumsum()
    needed = int((reached < counties).sum()) + 1
    return ordered.head(needed)


def spread(ids: list[str], n: int) -> list[str]:
    """``n`` of ``ids`` (in code order) spread evenly: the middle one of each of n equal
    runs (of an even run, the upper of its two middle ones)."""
    ids = sorted(ids)
    return [ids[(2 * i + 1) * len(ids) // (2 * n)] for i in range(n)]


def national_counties(national: Path, index: pd.DataFrame) -> pd.DataFrame:
    """province_code, prefecture_id, region_id of every county of the national data set."""
    frames = []
    for entry in index.itertuples():
        regions = pyogrio.read_dataframe(
            national / str(entry.folder) / "regions.gpkg",
            columns=["region_id", "prefecture_id"],
            read_geometry=False,
        )
        frames.append(regions.astype(str).assign(province_code=str(entry.province_code)))
    return pd.concat(frames, ignore_index=True)[["province_code", "prefecture_id", "region_id"]]


def cross_section(counties: pd.DataFrame, size: int) -> dict[str, list[str]]:
    """A size's prefectures, whole, spread evenly over the country's in code order (as many
    as the size's share of the counties, at least one): province code → their counties."""
    prefectures = sorted(counties["prefecture_id"].unique())
    share = round(size * len(prefectures) / len(counties))
    chosen = spread(prefectures, min(max(share, 1), len(prefectures)))
    drawn = counties[counties["prefecture_id"].isin(chosen)]
    return {code: sorted(rows["region_id"]) for code, rows in drawn.groupby("province_code")}


def run_size(
    national: Path,
    provinces: pd.DataFrame,
    executor: str,
    programmes: list[str],
    workers: int,
    say: Callable[[str], None],
    drawn: dict[str, list[str]] | None = None,
) -> list[dict]:
    """One size on one executor: every province planned (only its ``drawn`` counties where
    given), rows by programme."""
    seconds: Counter = Counter()
    statuses: dict[str, Counter] = {p: Counter() for p in programmes}
    schools = counties = 0
    with tempfile.TemporaryDirectory(prefix="layoutopt-scale-") as cache, PhasePeaks() as peak:
        pool = region_executor(workers, executor)
        try:
            for entry in provinces.itertuples():
                only = None if drawn is None else drawn[str(entry.province_code)]
                n = int(entry.counties) if only is None else len(only)
                say(f"{executor}: {entry.province_code} {entry.province}, {n} counties")
                scenario = scenario_from_dict(
                    {
                        "name": f"scale-{entry.province_code}",
                        "data": str(national / entry.folder),
                        "travel": {"cache_dir": f"{cache}/{entry.province_code}"},
                    }
                )
                plan = make_plan(
                    scenario, only=programmes, workers=workers, shared=pool, counties=only
                )
                schools += len(plan.dataset.schools)
                counties += len(plan.dataset.regions)
                seconds.update(plan.execution["programme_seconds"])
                for result in plan.results:
                    statuses[result.programme].update(str(s.status) for s in result.solves)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [
        {
            "draw": "provinces" if drawn is None else "prefectures",
            "executor": "dask LocalCluster" if executor == "dask" else "process pool",
            "provinces": len(provinces),
            "counties": counties,
            "schools": schools,
            "schools_per_county": round(schools / counties, 1),
            "programme": name,
            "seconds": round(seconds[name], 1),
            "seconds_per_county": round(seconds[name] / counties, 3),
            "seconds_per_1000_schools": round(seconds[name] / schools * 1000, 2),
            "peak_worker_mb": round(peak.worker_peak_mb),
            "peak_main_mb": round(peak.main_peak_mb),
            "solves": sum(statuses[name].values()),
            "solves_by_status": ";".join(f"{k}:{v}" for k, v in sorted(statuses[name].items())),
        }
        for name in programmes
    ]


def run_scale(
    national: Path,
    sizes: list[int],
    executors: list[str],
    programmes: list[str],
    workers: int,
    say: Callable[[str], None],
    draw: str = "prefectures",
    on_rows: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """The scale table: every size on every executor, sizes drawn as ``draw`` says.
    ``on_rows`` is given the table so far after each run (a long benchmark keeps what it
    has measured if stopped)."""
    if draw not in DRAWS:
        raise LayoutoptError(f"unknown draw '{draw}' (fix: choose {' or '.join(DRAWS)})")
    index_path = national / "provinces.csv"
    if not index_path.is_file():
        raise LayoutoptError(
            f"{index_path}: not found (fix: build the national data set first, "
            "bash data/build-china.sh)"
        )
    index = pd.read_csv(index_path, dtype=str, encoding="utf-8-sig")
    rows = []
    counties = national_counties(national, index) if draw == "prefectures" else None
    for size in sizes:
        if counties is not None:
            drawn = cross_section(counties, size)
            chosen = index[index["province_code"].isin(drawn)]
        else:
            drawn, chosen = None, provinces_for(index, size)
        for executor in executors:
            began = time.perf_counter()
            found = run_size(national, chosen, executor, programmes, workers, say, drawn)
            rows += [{"size": size, **row} for row in found]
            say(f"size {size} on {executor}: {time.perf_counter() - began:.0f} s")
            if on_rows is not None:
                on_rows(pd.DataFrame(rows, columns=COLUMNS))
    return pd.DataFrame(rows, columns=COLUMNS)


def growth_lines(table: pd.DataFrame) -> list[str]:
    """Seconds per county at each size against the smallest, by draw, executor and programme:
    at most 1.0 means no worse than linear."""
    lines = []
    groups = table.groupby(["draw", "executor", "programme"], sort=False)
    for (draw, executor, programme), rows in groups:
        rows = rows.sort_values("counties")
        base = rows["seconds_per_county"].iloc[0]
        ratios = ", ".join(
            f"{r.counties} counties {r.seconds_per_county / base:.2f}" for r in rows.itertuples()
        )
        lines.append(
            f"{draw} · {executor} · {programme}: seconds per county against the smallest: {ratios}"
        )
    return lines
