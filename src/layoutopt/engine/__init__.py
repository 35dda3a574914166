"""The location engine: a generic sparse facility-location model, its solve and result.

It knows nothing about schools: demand points with weights, sites with a status, a
capacity and costs, sparse assignment arcs, and counting constraints. Programmes turn
their policies into a :class:`LocationProblem` and read back a :class:`LocationSolution`.
"""

from layoutopt.engine.problem import LocationProblem
from layoutopt.engine.solver import LocationSolution, SolverOptions, solve

__all__ = ["LocationProblem", "LocationSolution", "SolverOptions", "solve"]
