"""A torchrun worker for test_ddp.py: real training steps under DDP (gloo, CPU), recording what each rank got.

    torchrun --nproc_per_node 2 tests/ddp_worker.py OUT_DIR ENCODER_DIR STRATEGY
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from datasets import Dataset
from transformers import TrainerCallback

from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings, train_run

LANGS = ("en", "de", "ru", "zh")
TEXT = re.compile(r"g(\d+) ([a-z]{2})$")


def rows() -> Dataset:
    return Dataset.from_list([
        {"pair_id": f"g{g}", "lang": lang, "query": f"q g{g} {lang}", "passage": f"p g{g} {lang}", "negative": f"n g{g} {lang}", "source": "ddp"}
        for g in range(64) for lang in LANGS
    ])


class Record(TrainerCallback):
    """Reads the first steps of the prepared (sharded) train dataloader before training runs them."""

    def __init__(self, out: Path, steps: int) -> None:
        self.out, self.steps = out, steps

    def on_train_begin(self, args, state, control, train_dataloader=None, processing_class=None, **kwargs):
        tok = kwargs["model"].tokenizer if processing_class is None else processing_class
        seen = []
        for i, batch in enumerate(train_dataloader):
            if i == self.steps:
                break
            pairs = []
            for q, p in zip(tok.batch_decode(batch["query_input_ids"], skip_special_tokens=True), tok.batch_decode(batch["positive_input_ids"], skip_special_tokens=True)):
                (gq, lq), (gp, lp) = TEXT.search(q.strip()).groups(), TEXT.search(p.strip()).groups()
                pairs.append({"group": int(gq), "passage_group": int(gp), "query_lang": lq, "passage_lang": lp})
            seen.append(pairs)
        rank = args.process_index
        (self.out / f"rank{rank}.json").write_text(json.dumps({"world": args.world_size, "steps": seen}))

    def on_train_end(self, args, state, control, **kwargs):
        (self.out / f"rank{args.process_index}.done").write_text(str(state.global_step))


def main() -> None:
    out, encoder, strategy = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    settings = TrainSettings(steps=3, batch_size=8, learning_rate=1e-3, max_seq_length=32, hard_negatives=False)
    train_run(encoder, rows(), LANGS, Strategy.parse(strategy), 5, settings, out / "run", callbacks=[Record(out, 6)])


if __name__ == "__main__":
    main()
