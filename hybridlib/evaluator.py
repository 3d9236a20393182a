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
        prompts: {"query": ..., "passage": ...} prompts (the passage one may be named "positive" or "document",
            as the trainer's ``prompts`` name it); None: the model's own, else mE5's (`encoder.prompts_for`, the
            ``evaluate`` command's rule).
        prefixes: False: no prompts, for a model trained without them (the command's ``--no-prefixes``).
    """

    def __init__(
        self, task: RetrievalTask, name: str = "lareqa", batch_size: int = 32, prompts: dict[str, str] | None = None, prefixes: bool = True
    ) -> None:
        from hybridlib.encoder import prompts_for

        super().__init__()
        prompts_for(None, prefixes, prompts)  # unknown prompt names fail here, not at the first evaluation
        self.task, self.name, self.batch_size, self.prompts, self.prefixes = task, name, batch_size, prompts, prefixes
        self.primary_metric = "multi_map"
        self.warned = False

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        """Score `model` on the task; returns the metrics, prefixed by the evaluator's name.

        Args:
            model: the model being trained (or any sentence-transformers model).
            output_path: unused (the trainer's signature).
            epoch: the epoch, for the model card.
            steps: the step, for the model card.
        """
        from hybridlib.evaluation import language_warnings, per_query_scores

        q_emb = self._encode(model, [q.text for q in self.task.queries], "query")
        c_emb = self._encode(model, [passage_input(c.text, c.context) for c in self.task.candidates], "passage")
        rows = per_query_scores(self.task, q_emb, c_emb)
        if not self.warned:  # the languages the macro means treat unevenly, said once per training
            for line in language_warnings(self.task, rows):
                print(f"{self.name}: {line}", flush=True)
            self.warned = True
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
        from hybridlib.encoder import prompts_for

        prompt = prompts_for(model, self.prefixes, self.prompts)[kind] or None
        return model.encode(texts, prompt=prompt, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
