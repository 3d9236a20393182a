"""Train a bi-encoder with hybrid batches on your own parallel pairs, through the sentence-transformers trainer,
and watch the LAReQA metrics on a held-out parallel set while it trains.

    python examples/train_hybrid.py MODEL OUT_DIR

Your data: one row per (parallel group, language): `pair_id` (shared by the translations of one query-passage
pair), `lang`, `query`, `passage`. hybrid-0.5 draws each batch as xx-mono (one language, drawn uniformly among
those with a batch of groups) with probability 0.5, otherwise as xy (query and passage in different languages);
no batch holds two rows of one group. What comes out: the trained model in OUT_DIR and the evaluator's metrics.
"""

from __future__ import annotations

import functools
import sys

from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from hybridlib.evaluator import LAReQAEvaluator
from hybridlib.records import Candidate, Query, RetrievalTask
from hybridlib.samplers import StrategyBatchSampler
from hybridlib.training import pair_dataset, trainer_prompts

FACTS = [  # (group, {lang: (question, answer sentence)})
    ("faust", {"en": ("Who wrote Faust?", "Goethe wrote Faust."), "de": ("Wer schrieb Faust?", "Goethe schrieb Faust.")}),
    ("louvre", {"en": ("Where is the Louvre?", "The Louvre is in Paris."), "de": ("Wo ist der Louvre?", "Der Louvre ist in Paris.")}),
    ("honey", {"en": ("What do bees make?", "Bees make honey."), "de": ("Was machen Bienen?", "Bienen machen Honig.")}),
    ("rhine", {"en": ("Which river flows through Basel?", "The Rhine flows through Basel."),
               "de": ("Welcher Fluss fließt durch Basel?", "Der Rhein fließt durch Basel.")}),
]


def main(model_name: str, out_dir: str) -> dict[str, float]:
    rows = Dataset.from_list([{"pair_id": group, "lang": lang, "query": q, "passage": p}
                              for group, texts in FACTS for lang, (q, p) in texts.items()])
    pairs = pair_dataset(rows, ("en", "de"), hard_negatives=False)  # every (group, query lang, passage lang) pair

    # a held-out parallel set: queries carry a relevance key, candidates the keys they answer; ids "<lang>-<item>"
    held_out = [("gauss", {"en": ("Who proved the prime number theorem?", "Hadamard proved it."),
                           "de": ("Wer bewies den Primzahlsatz?", "Hadamard bewies ihn.")})]
    task = RetrievalTask("held-out",
                         [Query(f"{lang}-{g}", lang, q, key=g) for g, t in held_out + FACTS[:1] for lang, (q, _) in t.items()],
                         [Candidate(f"{lang}-{g}", lang, p, context="", keys=(g,)) for g, t in held_out + FACTS[:1] for lang, (_, p) in t.items()])

    model = SentenceTransformer(model_name)
    args = SentenceTransformerTrainingArguments(
        output_dir=out_dir, max_steps=4, per_device_train_batch_size=2, learning_rate=3e-5, seed=0,
        batch_sampler=functools.partial(StrategyBatchSampler, strategy="hybrid-0.5"),  # hybrid batches
        prompts=trainer_prompts(model),  # the prompts the evaluator and `hybridlib evaluate` encode this model with
        eval_strategy="steps", eval_steps=2, logging_steps=2, report_to="none", save_strategy="no", use_cpu=True,
        dataloader_drop_last=True,
    )
    evaluator = LAReQAEvaluator(task, name="held-out")
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs,
                                         loss=MultipleNegativesRankingLoss(model), evaluator=evaluator)
    trainer.train()
    model.save(out_dir)
    metrics = evaluator(model)
    print(metrics)
    return metrics


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
