"""Review outputs every programme shares: change lists, schools after, KPIs, maps, manifest."""
