"""Geography: datums, projections and travel costs."""
