"""LAReQA's XQuAD-R and MLQA-R (Roy et al., EMNLP 2020) as retrieval tasks.

File format (one JSON file per language, SQuAD-like): ``data -> [ {title, paragraphs -> [ {context,
sentences, sentence_breaks, qas -> [ {id, question, answers -> [{answer_start, text}]} ]} ]} ]``.

As in LAReQA's reference code: every sentence cut from ``context`` by ``sentence_breaks`` (``[start, end)``
character spans) is a candidate, encoded with its paragraph as context; a question's relevant candidate in a
language is the sentence whose span holds the answer's ``answer_start`` in that language's version;
questions are linked across languages by their ``id``. On XQuAD-R this gives 1,190 questions per language
and 13,014 candidates over the 11 languages.
"""

from __future__ import annotations

import json
from pathlib import Path

from hybridlib.records import Candidate, Query, RetrievalTask

XQUAD_R_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_R_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")


def read_language(path: Path, lang: str) -> tuple[list[Query], list[Candidate]]:
    """Queries and candidates of one LAReQA language file; malformed content raises ValueError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a LAReQA file ({e!r}); download it again (hybridlib prepare)") from e
    queries, candidates = [], []
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            context, breaks = paragraph["context"], paragraph["sentence_breaks"]
            keys: list[list[str]] = [[] for _ in breaks]
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                hit = [i for i, (b, e) in enumerate(breaks) if b <= start < e]
                if len(hit) != 1:
                    raise ValueError(f"{path}: question {qa['id']}: answer_start {start} lies in {len(hit)} sentences; the file is corrupt")
                keys[hit[0]].append(qa["id"])
                queries.append(Query(id=f"{lang}-{qa['id']}", lang=lang, text=qa["question"], key=qa["id"]))
            for i, (b, e) in enumerate(breaks):
                candidates.append(Candidate(id=f"{lang}-{a}-{p}-{i}", lang=lang, text=context[b:e], context=context, keys=tuple(keys[i])))
    return queries, candidates


def load(source: str | Path, name: str, languages: tuple[str, ...]) -> RetrievalTask:
    """Read ``<source>/<lang>.json`` for every language into one task (queries and candidates in language order).

    Args:
        source: the folder holding LAReQA's per-language files.
        name: the task's name (``xquad-r`` or ``mlqa-r``).
        languages: the languages to read, in this order.
    """
    source = Path(source)
    missing = [lang for lang in languages if not (source / f"{lang}.json").exists()]
    if missing:
        raise FileNotFoundError(f"{source}: {name} files missing for {missing}; expected {source}/<lang>.json as published by LAReQA")
    queries, candidates = [], []
    for lang in languages:
        q, c = read_language(source / f"{lang}.json", lang)
        queries += q
        candidates += c
    return RetrievalTask(name=name, queries=queries, candidates=candidates)
