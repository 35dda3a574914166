"""Boarding places: beds for far pupils, left-behind children first (plan 5.(2), 5.(5))."""
