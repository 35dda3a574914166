"""High-school consolidation (Shanxi 14th Five-Year Plan 5.(3)): merge small schools, hold
schools above the stream cap, expand or build where seats run short, county by county."""
