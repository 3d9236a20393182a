"""A sentence-transformers evaluator for the LAReQA protocol: Mo / Cr / Mul mAP and rank distance on a held-out
parallel retrieval task, reported during training through the trainer's ``evaluator=`` argument, as
`InformationRetrievalEvaluator` reports nDCG and MRR.

`InformationRetrievalEvaluator` ranks one corpus for every query and knows nothing of languages: it cannot give
the monolingual, cross-lingual and multilingual settings, their macro means over languages, or rank distance,
which need each query's language and each candidate's. This evaluator scores the whole `RetrievalTask` with
`evaluation.per_query_scores`, the code behind every table of the study, without bootstrap intervals (it runs at
every evaluation step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentence_transformers.base.evaluation.evaluator import BaseEvaluator

from hybridlib.records import RetrievalTask, passage_input

if TYPE_CHECKING:  # heavy import, for annotations only
    from sentence_transformers import SentenceTransformer

# the metrics reported, as (name, setting, metric); macro means over (query language, target) cells
REPORTED = (("mono_map", "mono", "map"), ("cross_map", "cross", "map"), ("multi_map", "multi", "map"),
            ("rank_distance", "multi", "rank_distance"))


class LAReQAEvaluator(BaseEvaluator):
    """Mo / Cr / Mul mAP and rank distance of a model on a parallel retrieval task (LAReQA protocol).

    Args:
        task: the held-out queries and candidates (`records.RetrievalTask`; `records.RetrievalTask.read` reads a
            task folder, `sources.load_task` a published dataset).
        name: the prefix of the reported metrics, e.g. ``xquad-r_multi_map``.
        batch_size: texts per forward pass.
        prompts: {"query": ..., "passage": ...} prefixes; None: the model's own prompts named "query" and
            "passage" where it has them (mE5's ``query: `` / ``passage: ``), else none. A model trained without
            prefixes is scored without them.
    """

    def __init__(self, task: RetrievalTask, name: str = "lareqa", batch_size: int = 32, prompts: dict[str, str] | None = None) -> None:
        super().__init__()
        self.task, self.name, self.batch_size, self.prompts = task, name, batch_size, prompts
        self.primary_metric = "multi_map"

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        """Score `model` on the task; returns the metrics, prefixed by the evaluator's name.

        Args:
            model: the model being trained (or any sentence-transformers model).
            output_path: unused (the trainer's signature).
            epoch: the epoch, for the model card.
            steps: the step, for the model card.
        """
        from hybridlib.evaluation import per_query_scores

        q_emb = self._encode(model, [q.text for q in self.task.queries], "query")
        c_emb = self._encode(model, [passage_input(c.text, c.context) for c in self.task.candidates], "passage")
        rows = per_query_scores(self.task, q_emb, c_emb)
        rows = rows[rows["n_relevant"] > 0]
        metrics = {}
        for key, setting, metric in REPORTED:
            part = rows[rows["setting"] == setting]
            if len(part):
                metrics[key] = float(part.groupby(["lang", "target"])[metric].mean().mean())
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def _encode(self, model: SentenceTransformer, texts: list[str], kind: str):  # noqa: ANN202
        prompts = self.prompts if self.prompts is not None else getattr(model, "prompts", None) or {}
        prompt = prompts.get(kind) or None
        return model.encode(texts, prompt=prompt, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
