"""Regions an earlier run solved, taken again where nothing they read has changed.

A run keeps, beside its tables (``.regions/<programme>.pkl``), every region's solves and
outcome at the price its programme ended with, under a content key. The key is the
sha256 of what the region's solve depends on:

- the region's input as its programme split it: its data, the scenario keys it reads,
  the review's decisions on it and the state the programmes before it handed on (each
  programme puts all of these in the region, because a worker sees nothing else);
- the solver settings, the price, and the code and library versions.

``layoutopt plan --reuse RUN`` takes a region whose key it finds in RUN (and whose solves
were proven: one stopped by its time limit is solved again) and solves every other one;
its tables are byte for byte those of a full run started at the same prices
(``--prices-from RUN``), because every solve is deterministic and the runner assembles
regions in their own order. The province-wide couplings (the kindergarten project price,
the vocational school price) start from RUN's final prices, so a change that leaves a
count in its range needs one round.

The files are pickles: reuse only runs this machine wrote (a pickle can run code).
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel

import layoutopt
from layoutopt.engine import SolverOptions
from layoutopt.engine.report import SolveStatus
from layoutopt.errors import LayoutoptError
from layoutopt.programmes.base import RegionOutcome, RegionSolves
from layoutopt.versions import software_versions

STORE = ".regions"  # the folder, inside a run's folder
FORMAT = 1  # raised when what a store holds changes shape


@dataclass(frozen=True)
class Solved:
    """One region's solves and outcome, under the key of what they were solved from."""

    key: str
    solves: RegionSolves
    outcome: RegionOutcome


@dataclass
class Earlier:
    """What a run takes from an earlier one: each programme's final price, and (with
    ``--reuse``) its regions. ``taken`` and ``solved`` count, by programme, the regions
    this run took and those it solved (the manifest's ``reuse``)."""

    run: Path
    prices: dict[str, float]
    regions: bool  # False: the prices only (``--prices-from``)
    notes: list[str] = field(default_factory=list)
    taken: dict[str, set[str]] = field(default_factory=dict)
    solved: dict[str, set[str]] = field(default_factory=dict)
    _stores: dict[str, dict[str, Solved]] = field(default_factory=dict)

    def price(self, programme: str) -> float | None:
        return self.prices.get(programme)

    def find(self, programme: str, region_id: str, key: str) -> Solved | None:
        """The region as the earlier run solved it, if its key is the same and its solves
        were proven."""
        if not self.regions:
            return None
        if programme not in self._stores:
            self._stores[programme] = self._read(programme)
        found = self._stores[programme].get(region_id)
        if found is None or found.key != key:
            return None
        # A solve stopped by its time limit is not what a full run would repeat: solved again.
        finished = all(r.status == SolveStatus.OPTIMAL for r in found.solves.reports)
        return found if finished else None

    def count(self, programme: str, region_id: str, taken: bool) -> None:
        (self.taken if taken else self.solved).setdefault(programme, set()).add(region_id)

    def record(self) -> dict[str, Any]:
        """For the manifest: the earlier run, and the regions taken and solved."""
        names = sorted(set(self.taken) | set(self.solved))
        return {
            "from": str(self.run),
            "regions": self.regions,
            "start_prices": self.prices,
            "programmes": {
                n: {
                    "regions_taken": len(self.taken.get(n, set())),
                    "regions_solved": sorted(self.solved.get(n, set())),
                }
                for n in names
            },
            "notes": self.notes,
        }

    def _read(self, programme: str) -> dict[str, Solved]:
        path = self.run / STORE / f"{programme}.pkl"
        if not path.is_file():
            self.notes.append(f"{programme}: {path} not found; every region is solved")
            return {}
        try:
            with path.open("rb") as handle:
                kept = pickle.load(handle)
        except Exception as exc:  # a store from another version of the code
            self.notes.append(f"{programme}: {path} unreadable ({exc}); every region is solved")
            return {}
        if not isinstance(kept, dict) or kept.get("format") != FORMAT:
            self.notes.append(f"{programme}: {path} is of another format; every region is solved")
            return {}
        return kept["regions"]


def read_earlier(run: Path, regions: bool) -> Earlier:
    """The earlier run at ``run`` (its folder of tables): its final prices, and its solved
    regions if ``regions``. Refuses a folder that is not a run."""
    manifest = run / "manifest.json"
    option = "--reuse" if regions else "--prices-from"
    if not manifest.is_file():
        raise LayoutoptError(
            f"{option} {run}: not a run's folder, it has no manifest.json (fix: give the "
            "folder `layoutopt plan` wrote its tables to, e.g. out/<scenario>)"
        )
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LayoutoptError(
            f"{option} {manifest}: unreadable ({exc}) (fix: run that plan again)"
        ) from None
    prices = {
        name: float(price)
        for name, summary in record.get("programmes", {}).items()
        for key, price in summary.items()
        if key.startswith("price_") and key != "price_search" and price is not None
    }
    return Earlier(run=run.resolve(), prices=prices, regions=regions)


def write_store(folder: Path, kept: dict[str, dict[str, Solved]]) -> None:
    """Each programme's solved regions, into ``folder/.regions``."""
    store = folder / STORE
    store.mkdir(parents=True, exist_ok=True)
    for programme, regions in kept.items():
        with (store / f"{programme}.pkl").open("wb") as handle:
            pickle.dump({"format": FORMAT, "regions": regions}, handle, pickle.HIGHEST_PROTOCOL)


def region_key(programme: str, region_id: str, region: Any, options: SolverOptions) -> str:
    """The content key of one region's input and solver settings (see the module's
    docstring); ``priced`` adds the price."""
    digest = hashlib.sha256()
    settings = {f.name: getattr(options, f.name) for f in fields(options) if f.name != "name"}
    head = [FORMAT, code_digest(), programme, region_id, settings]
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    _feed(digest, region)
    return digest.hexdigest()


def priced(key: str, price: float | None) -> str:
    """The key of a region's solve at ``price``."""
    return hashlib.sha256(f"{key}@{price!r}".encode()).hexdigest()


@cache
def code_digest() -> str:
    """The layoutopt source and the libraries' versions: a region solved by other code is
    never taken again."""
    digest = hashlib.sha256(json.dumps(software_versions(), sort_keys=True).encode())
    package = Path(layoutopt.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    """Add ``value``'s content to ``digest``: tables by their values, dtypes and labels,
    models and dataclasses field by field, so two equal inputs give one key however their
    objects were built."""
    digest.update(type(value).__name__.encode())
    if isinstance(value, pd.DataFrame | pd.Series) and value.empty:
        # No rows: the same whatever dtypes or index an empty selection happened to keep.
        columns = value.columns if isinstance(value, pd.DataFrame) else [value.name]
        _feed(digest, [str(c) for c in columns])
    elif isinstance(value, pd.DataFrame):
        digest.update(repr([(str(c), str(t)) for c, t in value.dtypes.items()]).encode())
        _feed_index(digest, value.index)
        _feed_values(digest, value)
    elif isinstance(value, pd.Series):
        _feed_index(digest, value.index)
        _feed_series(digest, value)
    elif isinstance(value, np.ndarray):
        _feed_series(digest, pd.Series(value.ravel()))
        digest.update(repr(value.shape).encode())
    elif isinstance(value, BaseModel):
        digest.update(value.model_dump_json().encode())
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            digest.update(f.name.encode())
            _feed(digest, getattr(value, f.name))
    elif isinstance(value, dict):
        for k, v in value.items():
            _feed(digest, k)
            _feed(digest, v)
    elif isinstance(value, list | tuple):
        digest.update(str(len(value)).encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, set | frozenset):
        _feed(digest, sorted(repr(v) for v in value))
    elif isinstance(value, str | int | float | bool | np.generic) or value is None:
        digest.update(repr(value).encode())
    else:
        digest.update(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def _feed_index(digest: Any, index: pd.Index) -> None:
    digest.update(repr((index.name, str(index.dtype), len(index))).encode())
    if not isinstance(index, pd.RangeIndex) or index.start or index.step != 1:
        _feed_series(digest, pd.Series(index))


def _feed_series(digest: Any, series: pd.Series) -> None:
    digest.update(repr((series.name, str(series.dtype))).encode())
    _feed_values(digest, series.to_frame())


def _feed_values(digest: Any, frame: pd.DataFrame) -> None:
    """A table's cells: one hash per row over its columns (pandas' own, in C), points by
    their WKB; cells pandas cannot hash (lists) by their pickle."""
    points = [c for c, t in frame.dtypes.items() if str(t) == "geometry"]
    if points:
        frame = pd.DataFrame(frame)  # a plain table: its points become WKB text
        for c in points:
            frame[c] = shapely.to_wkb(np.asarray(frame[c].array), hex=True)
    try:
        hashed = pd.util.hash_pandas_object(frame, index=False)
    except TypeError:
        digest.update(pickle.dumps(frame.to_numpy().tolist(), pickle.HIGHEST_PROTOCOL))
        return
    digest.update(hashed.to_numpy().tobytes())
