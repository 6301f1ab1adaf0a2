#!/usr/bin/env bash
# Set up assay with everything its tests need in ./.venv, check src/ with ruff and mypy (any finding fails),
# then run the whole test suite (arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[local,anthropic,test]'
.venv/bin/python -m ruff check src
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
