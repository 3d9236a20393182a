"""Score any sentence-transformers model on your own parallel retrieval data under the LAReQA protocol.

    python examples/score_model.py MODEL

Your data: queries with a language and a relevance key; candidates with a language and the keys they answer
(none for a distractor); ids "<lang>-<item>", the item shared by an item's translations (the intervals resample
items). What comes out: per setting (mono: X→X, cross: X→Y, multi: X→all languages) the mAP, recall and rank
distance, macro means over languages with 95 % bootstrap CIs over items, and a row per (query, target language).
"""

from __future__ import annotations

import sys

from sentence_transformers import SentenceTransformer

from hybridlib.evaluation import evaluate_embeddings
from hybridlib.records import Candidate, Query, RetrievalTask

ITEMS = {  # item -> {lang: (question, answer sentence)}
    "faust": {"en": ("Who wrote Faust?", "Goethe wrote Faust."), "de": ("Wer schrieb Faust?", "Goethe schrieb Faust.")},
    "louvre": {"en": ("Where is the Louvre?", "The Louvre is in Paris."), "de": ("Wo ist der Louvre?", "Der Louvre ist in Paris.")},
    "honey": {"en": ("What do bees make?", "Bees make honey."), "de": ("Was machen Bienen?", "Bienen machen Honig.")},
}


def main(model_name: str, query_prefix: str = "", passage_prefix: str = "") -> dict:
    queries = [Query(f"{lang}-{item}", lang, q, key=item) for item, texts in ITEMS.items() for lang, (q, _) in texts.items()]
    candidates = [Candidate(f"{lang}-{item}", lang, p, context="", keys=(item,)) for item, texts in ITEMS.items()
                  for lang, (_, p) in texts.items()]
    candidates += [Candidate("en-distractor", "en", "The sky is blue.", context="", keys=())]
    task = RetrievalTask("my-task", queries, candidates)
    model = SentenceTransformer(model_name)
    # the prefixes your model was trained with (mE5: "query: " / "passage: "); none for a model trained without
    q_emb = model.encode([query_prefix + q.text for q in task.queries], normalize_embeddings=True)
    c_emb = model.encode([passage_prefix + c.text for c in task.candidates], normalize_embeddings=True)
    metrics, per_query = evaluate_embeddings(task, q_emb, c_emb, n_boot=200)
    for setting in ("mono", "cross", "multi"):
        entry = metrics[setting]["map"]
        print(f"{setting:5s} mAP {entry['mean']:.3f}  95 % CI {entry['ci95'][0]:.3f}–{entry['ci95'][1]:.3f}  per language {entry['per_lang']}")
    print(f"rank distance {metrics['multi']['rank_distance']['mean']:.2f}")
    return metrics


if __name__ == "__main__":
    main(*sys.argv[1:])
