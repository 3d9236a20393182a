#!/usr/bin/env bash
# Regenerate the study: data prep -> fine-tuning -> zero-shot evaluation -> tables and figures.
#   ./run_all.sh                     the smoke profile (CPU, synthetic data, minutes)
#   ./run_all.sh --profile paper     configs/paper.yaml (GPU, downloads)
#   ./run_all.sh --dry-run           print the plan (runs, downloads, time) and stop
# Executes notebooks/0*.ipynb headlessly with papermill; executed copies land in results/<profile>/notebooks/.
# Idempotent: finished runs and results are skipped. Stops at the first failing notebook and names the cell.
set -euo pipefail
profile=smoke
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs a name}; shift 2 ;;
    --profile=*) profile=${1#--profile=}; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1' (use --profile NAME, --dry-run)" >&2; exit 2 ;;
  esac
done
# a profile given by path (with a / or ending in .yaml; a copy of a shipped one) runs like a named one: the notebooks
# run in notebooks/, so they get the absolute path, read from the caller's folder or else from the repository's;
# the results go under its `name:`
resolve_path() { [ -f "$1" ] && echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
case "$profile" in
  */*|*.yaml|*.yml) profile=$(resolve_path "$profile" || (cd "$(dirname "$0")" && resolve_path "$profile") || echo "$profile") ;;
esac
cd "$(dirname "$0")"

scripts/setup_env.sh
py=${HYBRIDLIB_VENV:-.venv}/bin/python  # scripts/setup_env.sh made it there
if [ "$dry_run" = 1 ]; then
  exec "$py" -m hybridlib.cli plan --profile "$profile"
fi
# validates the profile before any work, and stops a base-size profile on a machine without a GPU
"$py" -m hybridlib.cli plan --profile "$profile" --quiet --check-device

mkdir -p "${HYBRIDLIB_HOME:-.}"
home=$(cd "${HYBRIDLIB_HOME:-.}" && pwd)
# one run per home for this script's whole life: a second one stops here, naming the first; the lock goes with
# this process however it ends. The notebooks' kernels see HYBRIDLIB_HOME_LOCKED and do not lock again.
# (Without flock(1), e.g. on macOS, each stage still takes the lock while it writes.)
lock="$home/.hybridlib.lock"
if command -v flock >/dev/null; then
  exec 9>>"$lock"
  if ! flock -n 9; then
    echo "run_all.sh: $home: in use by $(cat "$lock" 2>/dev/null || echo 'another process'); wait for it to finish (or stop it), or set HYBRIDLIB_HOME to another folder" >&2
    exit 1
  fi
  printf 'pid %s (run_all.sh --profile %s)' "$$" "$profile" > "$lock"
  export HYBRIDLIB_HOME_LOCKED="$home"
fi
profile_name=$("$py" -c 'import sys; from hybridlib.config import load_profile; print(load_profile(sys.argv[1]).name)' "$profile")
out="$home/results/$profile_name/notebooks"
mkdir -p "$out"
export HYBRIDLIB_HOME="$home" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_DISABLE_PROGRESS_BARS=1
# library progress bars turn into walls of carriage returns in the logs (sentence-transformers' model-card
# "Computing widget examples" at every run's start); hybridlib prints a plain line per unit of work instead.
# With them off, tqdm's "IProgress not found" warning (no ipywidgets) says nothing useful either.
export TQDM_DISABLE=1 PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:IProgress not found"
start=$SECONDS
for notebook in notebooks/0*.ipynb; do
  name=$(basename "$notebook")
  echo "=== $name ($((SECONDS - start)) s)"
  log="$out/${name%.ipynb}.log"
  # the full cell output goes to the log; the terminal gets hybridlib's one-line progress messages
  if ! "$py" -m papermill "$notebook" "$out/$name" -p profile "$profile" \
       --kernel python3 --log-output --no-progress-bar --cwd notebooks 2>&1 | tee "$log" |
       { grep --line-buffered -E '^\[[0-9]+(/[0-9]+)?\] ' || true; } | sed -u 's/^/  /'; then
    tail -n 25 "$log" >&2
    echo "run_all.sh: FAILED in $name, $("$py" -m hybridlib.cli failed-cell "$out/$name"); executed copy: $out/$name, log: $out/${name%.ipynb}.log" >&2
    exit 1
  fi
done
echo "done in $((SECONDS - start)) s: $home/results/$profile_name/summary.csv, $home/results/$profile_name/tables/ (start with claims.md), $home/figures/$profile_name/"
