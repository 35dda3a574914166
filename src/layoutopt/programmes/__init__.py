"""Programmes: each turns a Dataset and a Scenario into engine problems, then changes and KPIs."""
