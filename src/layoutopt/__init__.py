"""layoutopt: optimised, explainable plans for a province's school network and teaching staff."""

__version__ = "0.1.0"
