"""Score one run's embeddings again, independently of hybridlib's metrics, and compare with its metrics.json.

Re-encodes the off-the-shelf model of a profile on a prepared LAReQA-style task (same precision and batch size as
the profile's evaluation), then computes Mo / Cr / Mul mAP with sklearn's `average_precision_score`, one query and
one pool at a time, and the rank distance with a plain stable sort; prints both beside hybridlib's numbers.

    python scripts/check_sklearn.py --profile small [--dataset xquad-r] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from sklearn.metrics import average_precision_score

from hybridlib import records
from hybridlib.config import load_profile
from hybridlib.encoder import load_encoder
from hybridlib.evaluation import encode_task
from hybridlib.layout import Paths
from hybridlib.pipeline import model_source


def independent(task: records.RetrievalTask, q_emb: np.ndarray, c_emb: np.ndarray) -> dict[str, float]:
    """Macro means as LAReQA defines them: Mo over languages, Cr over ordered pairs X != Y, Mul over languages."""
    q_lang = np.array([q.lang for q in task.queries])
    c_lang = np.array([c.lang for c in task.candidates])
    relevant = task.relevance()
    scores = q_emb @ c_emb.T
    mono, cross, multi, distance = [], [], [], []
    for x in task.languages:
        rows = np.flatnonzero(q_lang == x)
        for y in task.languages:
            cols = np.flatnonzero(c_lang == y)
            aps = [average_precision_score(relevant[i, cols], scores[i, cols]) for i in rows if relevant[i, cols].any()]
            (mono if x == y else cross).append(np.mean(aps))
        multi.append(np.mean([average_precision_score(relevant[i], scores[i]) for i in rows]))
        ranks = [np.flatnonzero(relevant[i][np.argsort(-scores[i], kind="stable")]) for i in rows]
        distance.append(np.mean([r.max() - r.min() for r in ranks]))
    return {"mono_map": float(np.mean(mono)), "cross_map": float(np.mean(cross)), "multi_map": float(np.mean(multi)),
            "rank_distance": float(np.mean(distance))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--dataset", default="xquad-r")
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    paths = Paths.for_profile(profile, args.home)
    run = next(r for r in profile.runs() if not r.strategy.trains)
    task = records.RetrievalTask.read(paths.data / "eval" / args.dataset)
    model = load_encoder(model_source(run, paths), max_seq_length=profile.train.max_seq_length)
    q_emb, c_emb = encode_task(model, task, batch_size=profile.eval_batch_size, precision=profile.eval_precision)
    ours = json.loads((paths.eval_dir(args.dataset, run) / "metrics.json").read_text())
    theirs = independent(task, q_emb, c_emb)
    keys = {"mono_map": ("mono", "map"), "cross_map": ("cross", "map"), "multi_map": ("multi", "map"),
            "rank_distance": ("multi", "rank_distance")}
    print(f"{run.key} on {args.dataset} ({len(task.queries)} queries, {len(task.candidates)} candidates), profile {profile.name}")
    print(f"{'metric':14s} {'hybridlib':>12s} {'independent':>12s} {'difference':>12s}")
    worst = 0.0
    for name, (setting, metric) in keys.items():
        a, b = ours[setting][metric]["mean"], theirs[name]
        worst = max(worst, abs(a - b) / (1 if "map" in name else max(abs(b), 1)))
        print(f"{name:14s} {a:12.6f} {b:12.6f} {a - b:12.2e}")
    print("agree" if worst < 1e-6 else "DISAGREE")
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
