"""The network as the programmes so far have left it, handed from one programme to the next.

It starts as the data set's register and takes each programme's ``schools_after`` rows in
turn: which schools are open, their streams or classes, capacity, boarding beds and
students at the horizon. A school the plan builds is added. Programmes read their schools
from here, never from the raw data set, so a school closed by one programme is closed for
the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset

# Columns a programme's schools_after row sets in the state (state column <- row column).
HANDED_ON = {
    "open": "open",
    "capacity": "capacity_after",
    "boarding_beds": "beds_after",
    "students_horizon": "students_after",
}


@dataclass(frozen=True)
class PlanState:
    """``schools``: every school of the data set (its register columns) plus ``open`` and
    ``students_horizon`` (nan until a programme places students at the horizon) and
    ``changed_by`` (the last programme that changed the row); ``order``: the programmes
    run so far."""

    dataset: Dataset
    schools: gpd.GeoDataFrame
    order: tuple[str, ...] = ()
    changes: tuple[pd.DataFrame, ...] = field(default=(), repr=False)

    @classmethod
    def start(cls, dataset: Dataset) -> PlanState:
        schools = dataset.schools.copy()
        schools["open"] = True
        schools["students_horizon"] = np.nan
        schools["changed_by"] = ""
        return cls(dataset, schools)

    def open_schools(self, levels: list[str] | tuple[str, ...]) -> gpd.GeoDataFrame:
        """Open schools of these levels, as the programmes before left them."""
        schools = self.schools
        return schools[schools["level"].isin(levels) & schools["open"].astype(bool)]

    def after(
        self,
        programme: str,
        schools_after: pd.DataFrame,
        *,
        size_column: str = "streams",
        changes: pd.DataFrame | None = None,
    ) -> PlanState:
        """A new state with ``schools_after``'s rows written in (``size_after`` goes to
        ``size_column``: streams or classes) and its new schools added."""
        schools = self.schools.set_index("school_id")
        rows = schools_after.set_index("school_id")
        known = rows.index.intersection(schools.index)
        for state_col, row_col in {**HANDED_ON, size_column: "size_after"}.items():
            values = rows.loc[known, row_col]
            if values.isna().any() or not pd.api.types.is_integer_dtype(values):
                schools[state_col] = schools[state_col].astype(
                    bool if state_col == "open" else float
                )
            schools.loc[known, state_col] = values.astype(schools[state_col].dtype).to_numpy()
        schools.loc[known, "changed_by"] = programme
        new = rows.loc[rows.index.difference(schools.index)]
        if len(new):
            added = pd.DataFrame(
                {
                    "name": new["name"],
                    "level": new["level"],
                    "ownership": new.get("ownership", "public"),
                    "region_id": new["region_id"],
                    size_column: new["size_after"],
                    "changed_by": programme,
                    **{state: new[row] for state, row in HANDED_ON.items()},
                    "geometry": new["geometry"],
                }
            )
            schools = pd.concat([schools, added])
        frame = gpd.GeoDataFrame(schools.reset_index(), geometry="geometry", crs=self.schools.crs)
        kept = self.changes + ((changes,) if changes is not None else ())
        return PlanState(self.dataset, frame, (*self.order, programme), kept)

    def with_column(
        self, programme: str, column: str, values: pd.Series, changes: pd.DataFrame
    ) -> PlanState:
        """A new state where a programme that plans no school (staffing) sets one column
        (``values`` by school_id), and its changes are kept."""
        schools = self.schools.copy()
        schools[column] = values.reindex(schools["school_id"]).to_numpy()
        return PlanState(self.dataset, schools, (*self.order, programme), (*self.changes, changes))
