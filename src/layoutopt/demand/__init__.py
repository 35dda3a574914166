"""Demand at the horizon year: cohorts of the base-year census aged forward."""
