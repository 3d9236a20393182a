"""The small profiles' sequence length keeps sentences whole: at most 1 % of the candidate sentences and training
texts of every dataset they read is longer (with its prompt) than `max_seq_length`, on the real files where their
folder is given; `cut_shares` itself on texts of known length everywhere."""

from __future__ import annotations

import pytest
from conftest import shared

from hybridlib import lareqa, mtop
from hybridlib.config import load_profile
from hybridlib.encoder import PROMPTS, cut_shares

SMALL_PROFILES = ("small", "small-budgets", "small-pilot", "confirm")


class WordTokenizer:
    """One token per word, plus the two special tokens a transformer tokenizer adds."""

    def __call__(self, texts: list[str]) -> dict:
        return {"input_ids": [[0, *range(len(t.split())), 2] for t in texts]}


def test_cut_shares_counts_the_texts_longer_than_the_length_with_their_prompt():
    texts = ["one two", "one two three four", "a b c d e f"]
    shares = cut_shares(WordTokenizer(), texts, ["en", "de", "de"], prompt="passage: ", max_length=5)
    # with "passage:" and the specials: 2 + 1 + 2 = 5 (kept), 4 + 3 = 7 (cut), 6 + 3 = 9 (cut)
    assert shares == {"de": 1.0, "en": 0.0, "all": pytest.approx(2 / 3)}


@pytest.mark.parametrize("name", SMALL_PROFILES)
def test_the_small_profiles_share_one_length_and_cut_at_most_one_percent_of_any_dataset(name):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(shared("tokenizers", "xlm-roberta-base-reconstructed")))  # mE5-small's vocabulary
    profile = load_profile(name)
    length, languages = profile.train.max_seq_length, profile.train_languages
    xquad = shared("xquad-r")
    held_out = lareqa.load(xquad, "xquad-r", lareqa.XQUAD_R_LANGUAGES, held_out_every=profile.held_out_every, context=False)
    rows = lareqa.training_rows(xquad, languages, held_out_every=profile.held_out_every, context=False, require_negative=False)
    sets = {
        "xquad-r held-out candidates": ([c.text for c in held_out.candidates], [c.lang for c in held_out.candidates], "passage"),
        "training passages": ([r["passage"] for r in rows], [r["lang"] for r in rows], "passage"),
        "training queries": ([r["query"] for r in rows], [r["lang"] for r in rows], "query"),
    }
    if "mlqa-r" in profile.eval_datasets:
        mlqa = lareqa.load(shared("mlqa-r"), "mlqa-r", lareqa.MLQA_R_LANGUAGES, context=False)  # all of it, not the subset
        sets["mlqa-r candidates"] = ([c.text for c in mlqa.candidates], [c.lang for c in mlqa.candidates], "passage")
    for what, (texts, langs, kind) in sets.items():
        shares = cut_shares(tokenizer, texts, langs, prompt=PROMPTS[kind], max_length=length)
        assert shares["all"] <= 0.01, f"{name}: {shares['all']:.1%} of the {what} are longer than {length} tokens: {shares}"


def test_mtop_utterances_are_far_shorter_than_the_length(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(shared("tokenizers", "xlm-roberta-base-reconstructed")))
    folder = tmp_path / "xsemplr"
    folder.mkdir()
    for split in ("dev", "test"):  # XSemPLR's file names, as the download writes them
        (folder / f"{split}.json").write_bytes(shared("mtop", f"xsemplr_{split}.json").read_bytes())
    task = mtop.parallel_task(folder, mtop.LANGUAGES)
    length = min(load_profile(name).train.max_seq_length for name in SMALL_PROFILES)
    shares = cut_shares(tokenizer, [c.text for c in task.candidates], [c.lang for c in task.candidates], prompt=PROMPTS["passage"], max_length=length)
    assert shares["all"] == 0.0
