"""Copy one finished run of a profile into a dated, committed snapshot: its tables, summary.csv, the key figures and the
executed notebooks, each checked to be under 2 MB, with a MANIFEST.md that names what produced them.

    python scripts/snapshot.py --profile small [--home DIR] [--date 2026-12-02]

Writes snapshots/<profile>-<date>/ in the repository (replacing one of the same name).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 2_000_000
# the figures a reader needs first: the trade-offs, the claims, per query language, the loss curves and the batches
KEY_FIGURES = ("*__tradeoff.png", "*__budgets.png", "*__alpha_sweep.png", "*__comparisons.png", "claims_forest.png",
               "claims.png", "*__languages.png", "*__language_heatmap.png", "loss_curves.png", "batch_composition.png")


def snapshot(profile: str, home: Path, date: str, note: str = "") -> Path:
    results, figures = home / "results" / profile, home / "figures" / profile
    if not (results / "summary.csv").exists():
        raise SystemExit(f"{results}/summary.csv: missing; run ./run_all.sh --profile {profile} first")
    out = ROOT / "snapshots" / f"{profile}-{date}"
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    files = [(results / "summary.csv", "summary.csv")]
    files += [(p, f"tables/{p.name}") for p in sorted((results / "tables").iterdir())]
    files += [(p, f"figures/{p.name}") for pattern in KEY_FIGURES for p in sorted(figures.glob(pattern))]
    files += [(p, f"notebooks/{p.name}") for p in sorted((results / "notebooks").glob("*.ipynb"))]
    too_big = [f"{src} ({src.stat().st_size / 1e6:.1f} MB)" for src, _ in files if src.stat().st_size > MAX_BYTES]
    if too_big:
        raise SystemExit(f"over {MAX_BYTES / 1e6:.0f} MB, not snapshotted: {', '.join(too_big)}")
    for src, rel in files:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8") if src.suffix in (".md", ".csv", ".tex", ".ipynb") else None
        if text is not None:  # the run's own folder is nobody else's: name it by its role
            (tmp / rel).write_text(text.replace(str(home), "$HYBRIDLIB_HOME"), encoding="utf-8")
        else:
            shutil.copyfile(src, tmp / rel)
    (tmp / "MANIFEST.md").write_text(manifest(profile, results, tmp, date, note), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def manifest(profile: str, results: Path, folder: Path, date: str, note: str = "") -> str:
    """What produced the snapshot (from one run's environment.json) and the sha256 of every file in it."""
    import subprocess

    env = json.loads(next((results / "eval").rglob("environment.json")).read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=results.parent.parent, capture_output=True, text=True).stdout.strip()
    lines = [f"# Snapshot of `./run_all.sh --profile {profile}`, {date}", "",
             f"Training and evaluation: hybridlib {env['git']}, Python {env['python']}, device {env['device']}; "
             + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v) + ". "
             + (f"Tables, figures and executed notebooks: the last `run_all.sh` of that folder, at hybridlib {head}." if head else ""),
             *(["", note] if note else []),
             "", "Figures: the selection a reader needs first (" + ", ".join(f"`{p}`" for p in KEY_FIGURES) + "); "
             "`figures.write_all` draws the others from these tables' result files.",
             "", "| file | bytes | sha256 |", "|---|---|---|"]
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "MANIFEST.md"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"| `{path.relative_to(folder)}` | {path.stat().st_size} | `{digest[:16]}…` |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--home", default=os.environ.get("HYBRIDLIB_HOME") or str(ROOT))
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    parser.add_argument("--note", default="", help="a paragraph for MANIFEST.md: how the run went (resumed, passes)")
    args = parser.parse_args()
    out = snapshot(args.profile, Path(args.home).resolve(), args.date, args.note)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
