"""Loaders on self-authored files in the published formats, and on the real files where a folder of them is given."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest
from conftest import shared
from fixtures import write_lareqa, write_mtop_zip, write_xsemplr

from hybridlib import lareqa, mtop
from hybridlib.sentences import sentence_spans


def test_lareqa_fixture_candidates_and_relevance(tmp_path):
    task = lareqa.load(write_lareqa(tmp_path), "xquad-r", ("en", "de", "zh"))
    assert Counter(c.lang for c in task.candidates) == {"en": 5, "de": 5, "zh": 5}
    assert len(task.queries) == 9
    rel = task.relevance()
    assert (rel.sum(axis=1) == 3).all(), "one answer sentence per language"
    q2_en = next(i for i, q in enumerate(task.queries) if q.id == "en-q2")
    answers = [task.candidates[j].text for j in rel[q2_en].nonzero()[0]]
    assert answers == ["Fish live in it.", "Fische leben darin.", "鱼生活在里面。"]
    assert all(c.context.startswith(("The", "Der", "这")) for c in task.candidates)


def test_mlqa_style_missing_questions_are_skipped_and_counted(tmp_path):
    import numpy as np

    from hybridlib.evaluation import evaluate_embeddings  # here: it imports torch, which this module's other tests do not need

    task = lareqa.load(write_lareqa(tmp_path, drop={"de": ("q3",)}), "mlqa-r", ("en", "de", "zh"))
    assert len(task.queries) == 8
    rng = np.random.default_rng(0)
    q, c = rng.standard_normal((8, 8)).astype(np.float32), rng.standard_normal((15, 8)).astype(np.float32)
    result, per_query = evaluate_embeddings(task, q, c, n_boot=20)
    # en-q3 and zh-q3 have no relevant sentence in de: two skipped Cr settings
    assert result["skipped"]["cross"] == 2
    assert result["skipped"]["mono"] == 0


def test_lareqa_corrupt_file_names_the_file(tmp_path):
    (tmp_path / "en.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"en\.json: not a LAReQA file"):
        lareqa.load(tmp_path, "xquad-r", ("en",))
    with pytest.raises(FileNotFoundError, match=r"missing for \['de'\]"):
        lareqa.load(str(tmp_path), "xquad-r", ("en", "de"))  # a path given as a string, too


def test_real_xquad_r_counts():
    task = lareqa.load(shared("xquad-r"), "xquad-r", lareqa.XQUAD_R_LANGUAGES)
    counts = Counter(c.lang for c in task.candidates)
    assert counts == {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219, "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
    assert len(task.candidates) == 13014
    assert Counter(q.lang for q in task.queries) == dict.fromkeys(lareqa.XQUAD_R_LANGUAGES, 1190)
    rel = task.relevance(range(1190))  # English queries against the whole pool
    assert (rel.sum(axis=1) == 11).all(), "11 relevant candidates per question in the multilingual pool"


def test_real_xquad_r_own_language_first_at_chance_for_a_ranking_blind_to_language():
    """Random embeddings know no language: an own-language answer comes first about 1 time in 11."""
    import numpy as np

    from hybridlib.evaluation import evaluate_embeddings

    task = lareqa.load(shared("xquad-r"), "xquad-r", lareqa.XQUAD_R_LANGUAGES)
    rng = np.random.default_rng(0)
    q, c = (rng.standard_normal((n, 32)).astype(np.float32) for n in (len(task.queries), len(task.candidates)))
    result, _ = evaluate_embeddings(task, q / np.linalg.norm(q, axis=1, keepdims=True),
                                    c / np.linalg.norm(c, axis=1, keepdims=True), n_boot=200)
    own = result["multi"]["own_first"]
    assert result["multi"]["own_share"]["mean"] == pytest.approx(1 / 11)
    assert own["ci95"][0] < 1 / 11 < own["ci95"][1] and abs(own["mean"] - 1 / 11) < 0.01


def test_mtop_zip_parallel_and_intent_tasks(tmp_path):
    source = write_mtop_zip(tmp_path / "mtop.zip")
    par = mtop.parallel_task(source)
    assert par.settings == ("cross", "multi") and par.multi_excludes_query_language
    assert len(par.queries) == 4 * 6
    intent = mtop.intent_task(tmp_path)  # a folder holding mtop.zip works too
    assert {q.key for q in intent.queries} == {"IN:GET_WEATHER", "IN:CREATE_ALARM"}
    assert (intent.relevance().sum(axis=1) == 2 * 6).all(), "2 pool utterances per intent per language"


def test_mtop_extracted_folder(tmp_path):
    import zipfile

    with zipfile.ZipFile(write_mtop_zip(tmp_path / "mtop.zip")) as z:
        z.extractall(tmp_path / "x")
    assert len(mtop.parallel_task(tmp_path / "x").queries) == 24
    assert len(mtop.parallel_task(tmp_path / "x" / "mtop").queries) == 24


def test_mtop_malformed_line_names_file_and_line(tmp_path):
    source = write_mtop_zip(tmp_path / "mtop.zip", malformed="fr/test")
    with pytest.raises(ValueError, match=r"mtop\.zip!mtop/fr/test\.txt:5: expected 8 tab-separated fields, found 3"):
        mtop.parallel_task(source)
    with pytest.raises(FileNotFoundError, match="no mtop.zip"):
        mtop.Release(tmp_path / "nowhere")


def test_real_mtop_subset_utterances_are_parallel():
    # the XSemPLR repackaging is not the release format; check only that utterances align by id across languages
    items = json.loads(shared("mtop", "xsemplr_test.json").read_text(encoding="utf-8"))
    assert len(items) == 1237
    assert all(set(it["question"]) == set(mtop.LANGUAGES) for it in items)


def test_xsemplr_parallel_and_intent_tasks(tmp_path):
    source = write_xsemplr(tmp_path / "xsemplr")
    parallel = mtop.parallel_task(source)
    assert len(parallel.queries) == len(parallel.candidates) == 4 * 6
    first = parallel.queries[0]
    assert first.lang == "de" and first.text == "Wetter heute" and first.key == "100".encode().hex()
    relevant = parallel.relevance()[0]
    assert sorted(parallel.candidates[j].lang for j in relevant.nonzero()[0]) == sorted(mtop.LANGUAGES), "its 6 versions"
    intent = mtop.intent_task(source)
    assert {q.key for q in intent.queries} == {"IN:GET_WEATHER", "IN:CREATE_ALARM"}
    assert all(c.id.split("-")[1] == "eval" for c in intent.candidates), "the pool is the dev split"
    assert intent.relevance()[0].sum() == 2 * 6, "two weather utterances in each of 6 languages"
    small = mtop.intent_task(source, max_items=1)
    assert len(small.queries) == len(small.candidates) == 6


def test_xsemplr_malformed_names_the_file(tmp_path):
    source = write_xsemplr(tmp_path / "xsemplr")
    items = json.loads((source / "test.json").read_text())
    items[2]["mr"]["slot_intent"]["fr"] = "SL:WHAT x"
    (source / "test.json").write_text(json.dumps(items))
    with pytest.raises(ValueError, match=r"test\.json: not XSemPLR's MTOP format .*does not start with an \[IN: intent"):
        mtop.parallel_task(source)
    (source / "dev.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"no dev\.json"):
        mtop.XSemPLR(source)


def test_real_xsemplr_subset_as_tasks(tmp_path):
    folder = tmp_path / "xsemplr"
    folder.mkdir()
    for split in ("dev", "test"):
        shutil.copy(shared("mtop", f"xsemplr_{split}.json"), folder / f"{split}.json")
    parallel = mtop.parallel_task(folder)
    assert len(parallel.queries) == 1237 * 6
    intent = mtop.intent_task(folder)
    assert len(intent.candidates) == 859 * 6
    assert all(q.key.startswith("IN:") for q in intent.queries)


def test_article_split_holds_out_every_kth_article_and_trains_on_the_rest(tmp_path):
    source = write_lareqa(tmp_path / "src", langs=("en", "de"), articles=5)
    held = lareqa.load(source, "xquad-r", ("en", "de"), held_out_every=2, context=False)
    held_ids = {q.key for q in held.queries}
    assert held_ids == {f"{q}-{a}" for q in ("q1", "q2", "q3") for a in (0, 2, 4)}
    assert all(c.context == "" for c in held.candidates), "sentence alone"
    # each query names its article (the intervals' cluster), the same index in every language
    assert {(q.key, q.article) for q in held.queries} == {(f"{q}-{a}", str(a)) for q in ("q1", "q2", "q3") for a in (0, 2, 4)}
    from hybridlib.evaluation import per_query_scores

    rng = np.random.default_rng(0)
    rows = per_query_scores(held, rng.normal(size=(len(held.queries), 8)), rng.normal(size=(len(held.candidates), 8)))
    assert (rows["article"] == rows["key"].str.split("-").str[1]).all(), "per-query rows carry the article"
    rows = lareqa.training_rows(source, ("en", "de"), held_out_every=2, context=True, require_negative=True)
    train_ids = {r["pair_id"] for r in rows}
    assert train_ids == {f"{q}-{a}" for q in ("q1", "q2", "q3") for a in (1, 3)}
    assert not train_ids & held_ids, "no question is in both halves"
    en_q1 = next(r for r in rows if r["pair_id"] == "q1-1" and r["lang"] == "en")
    assert en_q1["passage"] == "It flows north. 1 || The river is long. 1 It flows north. 1 Fish live in it. 1"
    assert en_q1["negative"].startswith("Fish live in it. 1 ||"), "the next sentence of the paragraph"
    assert len(rows) == 2 * len(train_ids)


def test_real_xquad_r_article_split_sizes():
    held = lareqa.load(shared("xquad-r"), "xquad-r", lareqa.XQUAD_R_LANGUAGES, held_out_every=4, context=False)
    assert len(held.queries) == 11 * 354 and len(held.candidates) == 3379
    rows = lareqa.training_rows(shared("xquad-r"), ("en", "de"), held_out_every=4, context=False, require_negative=False)
    assert len(rows) == 2 * (1190 - 354)
    assert not {r["pair_id"] for r in rows} & {q.key for q in held.queries}


def test_export_eval_cli_writes_fixed_order_jsonl(tmp_path):
    from hybridlib.cli import main
    from hybridlib.storage import read_jsonl

    write_lareqa(tmp_path / "src", langs=lareqa.XQUAD_R_LANGUAGES)
    out = tmp_path / "out"
    assert main(["export-eval", "--dataset", "xquad-r", "--source", str(tmp_path / "src"), "--out", str(out)]) == 0
    queries, cands = read_jsonl(out / "queries.jsonl"), read_jsonl(out / "candidates.jsonl")
    assert len(queries) == 3 * 11 and len(cands) == 5 * 11
    assert {"id", "lang", "text"} <= set(queries[0]) and {"id", "lang", "text", "context"} <= set(cands[0])
    assert [q["lang"] for q in queries] == sorted(q["lang"] for q in queries), "language order, as exported"
    assert main(["export-eval", "--dataset", "xquad-r", "--source", str(tmp_path / "nowhere"), "--out", str(out)]) == 2


def test_sentence_splitter_spans_cover_answers():
    text = "Dr. Who came in 1963. He left! Then 北京是首都。上海很大！ नमस्ते। ठीक"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Dr. Who came in 1963.", "He left!", "Then 北京是首都。", "上海很大！", "नमस्ते।", "ठीक"]
