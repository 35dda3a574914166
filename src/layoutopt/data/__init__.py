"""Input data: table schemas (the data dictionary), readers, writers and validation."""
