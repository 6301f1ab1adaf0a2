#!/usr/bin/env bash
# Set up assay with everything its tests need in ./.venv, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[local,anthropic,test]'
exec .venv/bin/python -m pytest "$@"
