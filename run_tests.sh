#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (created and filled on first use; CPU torch).
#   ./run_tests.sh               everything (3–5 minutes on 2 CPU cores)
#   ./run_tests.sh -m "not slow" the fast tests only (no training, no notebooks)
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
