"""LAReQA's XQuAD-R and MLQA-R (Roy et al., EMNLP 2020) as retrieval tasks.

File format (one JSON file per language, SQuAD-like): ``data -> [ {title, paragraphs -> [ {context,
sentences, sentence_breaks, qas -> [ {id, question, answers -> [{answer_start, text}]} ]} ]} ]``.

As in LAReQA's reference code: every sentence cut from ``context`` by ``sentence_breaks`` (``[start, end)``
character spans) is a candidate, encoded with its paragraph as context; a question's relevant candidate in a
language is the sentence whose span holds the answer's ``answer_start`` in that language's version;
questions are linked across languages by their ``id``. On XQuAD-R this gives 1,190 questions per language
and 13,014 candidates over the 11 languages.

**Article split** (the small profile, ours): XQuAD-R's 48 articles, in the published file order (the same in
every language), are split into held-out articles (index % `held_out_every` == 0: 0, 3, 6, ... for 3) and
training articles (the rest). The held-out articles are evaluated under the full protocol; `training_rows`
turns the training articles into training rows. No article is in both.

**MLQA-R subset** (ours, for a CPU's budget): MLQA-R's articles differ between languages (each language's file
has its own), but every question has its English version. `subset_ids` keeps the questions of the English
articles 0, k, 2k, ... (file order); `load` then keeps, in every language, those questions and the articles that
hold them, with all their sentences as candidates. At k = 8: 162 questions, 598 queries, 2,854 candidates.

**Articles** (`Query.article`): the questions of one article rank the same paragraphs' sentences, so they are not
independent draws; each query carries its English article's index (`article_ids`), which evaluation writes to the
per-query rows and the intervals resample whole (`stats.combined_test`).
"""

from __future__ import annotations

import json
from pathlib import Path

from hybridlib.records import Candidate, Query, RetrievalTask

XQUAD_R_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_R_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")


def _articles(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a LAReQA file ({e!r}); download it again (hybridlib prepare)") from e


def is_held_out(article_index: int, held_out_every: int) -> bool:
    """Whether an article (its index in the published file order) is held out for evaluation."""
    return article_index % held_out_every == 0


def subset_ids(source: str | Path, every: int) -> frozenset[str]:
    """The question ids of the English articles 0, `every`, 2 * `every`, ... of a LAReQA folder (MLQA-R's subset)."""
    path = Path(source) / "en.json"
    return frozenset(qa["id"] for a, article in enumerate(_articles(path)) if a % every == 0
                     for paragraph in article["paragraphs"] for qa in paragraph["qas"])


def article_ids(path: Path) -> dict[str, str]:
    """Each question id of a LAReQA language file -> the index of the article that holds it (as a string). Read
    from ``en.json``, it names every question's article in one numbering for all languages: XQuAD-R's articles are
    in the same order in every file, and MLQA-R's questions all have an English version (its articles differ
    between languages)."""
    return {qa["id"]: str(a) for a, article in enumerate(_articles(path)) for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]}


def read_language(
    path: Path, lang: str, *, held_out_every: int = 0, context: bool = True, keep_ids: frozenset[str] | None = None,
    articles: dict[str, str] | None = None,
) -> tuple[list[Query], list[Candidate]]:
    """Queries and candidates of one LAReQA language file; malformed content raises ValueError naming the file.

    Args:
        path: the language's ``<lang>.json``.
        lang: its language code.
        held_out_every: > 0: only the held-out articles (`is_held_out`); 0: every article.
        context: give each candidate its paragraph as context; False: the sentence alone.
        keep_ids: only these questions, and only the articles that hold one of them (`subset_ids`); None: all.
        articles: each question's article (`article_ids` of en.json), written in its `Query.article`; None: the
            index of the article that holds it in this file.
    """
    queries, candidates = [], []
    for a, article in enumerate(_articles(path)):
        if held_out_every and not is_held_out(a, held_out_every):
            continue
        if keep_ids is not None and not any(qa["id"] in keep_ids for p in article["paragraphs"] for qa in p["qas"]):
            continue
        for p, paragraph in enumerate(article["paragraphs"]):
            breaks = paragraph["sentence_breaks"]
            keys: list[list[str]] = [[] for _ in breaks]
            for qa in paragraph["qas"]:
                if keep_ids is not None and qa["id"] not in keep_ids:
                    continue
                keys[_sentence_of(paragraph, qa["answers"][0]["answer_start"], f"{path}: question {qa['id']}")].append(qa["id"])
                article_id = articles.get(qa["id"], str(a)) if articles else str(a)
                queries.append(Query(id=f"{lang}-{qa['id']}", lang=lang, text=qa["question"], key=qa["id"], article=article_id))
            for i, (b, e) in enumerate(breaks):
                candidates.append(Candidate(id=f"{lang}-{a}-{p}-{i}", lang=lang, text=paragraph["context"][b:e],
                                            context=paragraph["context"] if context else "", keys=tuple(keys[i])))
    return queries, candidates


def _sentence_of(paragraph: dict, start: int, where: str) -> int:
    hit = [i for i, (b, e) in enumerate(paragraph["sentence_breaks"]) if b <= start < e]
    if len(hit) != 1:
        raise ValueError(f"{where}: answer_start {start} lies in {len(hit)} sentences; the file is corrupt")
    return hit[0]


def _check_files(source: Path, name: str, languages: tuple[str, ...]) -> None:
    missing = [lang for lang in languages if not (source / f"{lang}.json").exists()]
    if missing:
        raise FileNotFoundError(f"{source}: {name} files missing for {missing}; expected {source}/<lang>.json as published by LAReQA")


def load(
    source: str | Path, name: str, languages: tuple[str, ...], *, held_out_every: int = 0, context: bool = True,
    subset_every: int = 0,
) -> RetrievalTask:
    """Read ``<source>/<lang>.json`` for every language into one task (queries and candidates in language order).

    Args:
        source: the folder holding LAReQA's per-language files.
        name: the task's name (``xquad-r`` or ``mlqa-r``).
        languages: the languages to read, in this order.
        held_out_every: > 0: only the held-out articles of the article split; 0: all of them.
        context: candidates carry their paragraph as context (LAReQA); False: the sentence alone.
        subset_every: > 0: only the questions of every `subset_every`-th English article (`subset_ids`); 0: all.
    """
    source = Path(source)
    _check_files(source, name, languages)
    keep_ids = subset_ids(source, subset_every) if subset_every else None
    articles = article_ids(source / "en.json") if (source / "en.json").exists() else None
    queries, candidates = [], []
    for lang in languages:
        q, c = read_language(source / f"{lang}.json", lang, held_out_every=held_out_every, context=context,
                             keep_ids=keep_ids, articles=articles)
        queries += q
        candidates += c
    return RetrievalTask(name=name, queries=queries, candidates=candidates)


def training_rows(
    source: str | Path, languages: tuple[str, ...], *, held_out_every: int, context: bool, require_negative: bool
) -> list[dict[str, str]]:
    """Training rows (`records.TRAIN_COLUMNS`) from the training articles of the article split: per question and
    language, the question and its answer sentence (with its paragraph when `context`); the hard negative is
    the paragraph's next sentence (the previous one for the last). A question's translations share ``pair_id``
    (its id), so they form one parallel group.

    Args:
        source: the folder holding ``<lang>.json`` (XQuAD-R as published).
        languages: the training languages.
        held_out_every: the split (`is_held_out`); its held-out articles are left out.
        context: passages carry their paragraph as context.
        require_negative: leave out questions whose paragraph has a single sentence (none here: counted anyway).
    """
    from hybridlib.records import passage_input

    source = Path(source)
    _check_files(source, "xquad-r", languages)
    rows = []
    for lang in languages:
        path = source / f"{lang}.json"
        for a, article in enumerate(_articles(path)):
            if is_held_out(a, held_out_every):
                continue
            for paragraph in article["paragraphs"]:
                text, breaks = paragraph["context"], paragraph["sentence_breaks"]

                def passage(i: int) -> str:
                    b, e = breaks[i]
                    return passage_input(text[b:e], text if context else "")

                for qa in paragraph["qas"]:
                    k = _sentence_of(paragraph, qa["answers"][0]["answer_start"], f"{path}: question {qa['id']}")
                    negative = passage(k + 1 if k + 1 < len(breaks) else k - 1) if len(breaks) > 1 else ""
                    if require_negative and not negative:
                        continue
                    rows.append({"pair_id": qa["id"], "lang": lang, "query": qa["question"], "passage": passage(k),
                                 "negative": negative, "source": "xquad-r"})
    return rows
