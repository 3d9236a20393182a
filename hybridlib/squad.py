"""The paper profile's training set: SQuAD v1.1 train (en) + XTREME translate-train (8 languages).

Translate-train files are SQuAD JSON whose question ids equal the English SQuAD train ids (no suffix); each
language covers a subset (~94 %), with a copy of the (translated) context per question. Rows are aligned
across languages by question id: one parallel group per SQuAD question.

A row's passage mirrors an evaluation candidate: the sentence holding the answer (`sentences.sentence_at`),
then its paragraph as context (`records.passage_input`). Its hard negative is the next sentence of the same
paragraph (the previous one for the last sentence). Dropped, and counted: answers with ``answer_start`` -1,
past the context, or empty text; paragraphs of a single sentence when hard negatives are required.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hybridlib.records import passage_input
from hybridlib.sentences import sentence_at, sentence_spans


@dataclass(frozen=True)
class QA:
    id: str
    question: str
    context: str
    answer_start: int


def read_squad(path: Path) -> tuple[list[QA], Counter]:
    """Every question of a SQuAD-format file with a usable first answer; and counts of what was dropped."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a SQuAD-format file ({e!r}); delete it from the cache and prepare again") from e
    out, dropped = [], Counter()
    for article in data:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = qa.get("answers") or []
                if not answers:
                    dropped["no answer"] += 1
                    continue
                start, text = int(answers[0]["answer_start"]), answers[0]["text"]
                if start < 0 or start >= len(context) or not text.strip():
                    dropped["bad answer span"] += 1
                    continue
                out.append(QA(qa["id"], qa["question"], context, start))
    return out, dropped


def language_rows(files: dict[str, Path], *, require_negative: bool) -> Iterator[tuple[str, list[dict[str, str]], dict]]:
    """Per language of {language: SQuAD-format file}: (language, rows in the `records.TRAIN_COLUMNS` schema, report).

    One language at a time, so only one translated file is in memory. Only questions present in English (SQuAD)
    form groups; a report gives the language's rows, its coverage of the English ids, and its drop counts.
    """
    if "en" not in files:
        raise ValueError("the English SQuAD train file is required: it defines the parallel groups")
    english, en_dropped = read_squad(files["en"])
    ids = {qa.id for qa in english}
    for lang, path in files.items():
        qas, dropped = (english, en_dropped) if lang == "en" else read_squad(path)
        rows = []
        for qa in qas:
            if qa.id not in ids:
                dropped["id not in SQuAD"] += 1
                continue
            row = _row(qa, lang, "squad")  # the group's source dataset, whatever the language's translation
            if require_negative and not row["negative"]:
                dropped["single-sentence paragraph"] += 1
                continue
            rows.append(row)
        yield lang, rows, {"rows": len(rows), "coverage": round(len(rows) / max(len(ids), 1), 4), "dropped": dict(dropped)}


def _row(qa: QA, lang: str, source: str) -> dict[str, str]:
    spans = sentence_spans(qa.context)
    s, e = sentence_at(qa.context, qa.answer_start)
    k = spans.index((s, e))
    negative = ""
    if len(spans) > 1:
        ns, ne = spans[k + 1] if k + 1 < len(spans) else spans[k - 1]
        negative = passage_input(qa.context[ns:ne], qa.context)
    return {
        "pair_id": qa.id,
        "lang": lang,
        "query": qa.question,
        "passage": passage_input(qa.context[s:e], qa.context),
        "negative": negative,
        "source": source,
    }
