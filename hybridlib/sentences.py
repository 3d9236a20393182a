"""A small multilingual sentence splitter for training passages (the evaluation sets ship their own breaks).

Rule: a sentence ends after a run of sentence-final punctuation followed by whitespace, or right after a
full-width terminator (CJK text has no spaces). Terminators: ``. ! ?`` (Latin, Cyrillic, Greek, Turkish),
``؟ ۔`` (Arabic), ``। ॥`` (Devanagari), ``。 ！ ？`` (CJK). Closing quotes and brackets stay with their
sentence. No break before a lowercase letter, or after a short capitalised abbreviation (``Dr.``, ``St.``,
``U.``). Thai marks sentences with spaces only, which also separate phrases, so Thai paragraphs are split
at no point but the terminators above (passages are then whole paragraphs more often). Returns character
spans, like LAReQA's ``sentence_breaks``.
"""

from __future__ import annotations

import re

_BREAK = re.compile(r"""(?:[.!?؟۔।॥]+["'”’)\]]*\s+|[。！？]+["'”’」』)\]]*\s*)""")
_ABBREVIATION = re.compile(r"(?:^|\s)[A-Z][a-z]{0,2}\.$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of the sentences of `text`, trailing whitespace excluded; every character is covered."""
    spans, start = [], 0
    for m in _BREAK.finditer(text):
        end = m.end()
        if end >= len(text):
            break
        if text[end].islower() or _ABBREVIATION.search(text[start : m.start() + 1]):
            continue
        spans.append((start, len(text[:end].rstrip())))
        start = end
    if start < len(text):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s]


def sentence_at(text: str, offset: int) -> tuple[int, int]:
    """The span holding character `offset` (an answer start); the last span if `offset` is past the end."""
    spans = sentence_spans(text)
    for s, e in spans:
        if s <= offset < e or offset < s:
            return s, e
    return spans[-1]
