"""MTOP (Li et al., EACL 2021) as two retrieval tasks. No retrieval results on MTOP were published; we define:

- **mtop-parallel** (parallel-utterance retrieval): every test utterance is a query and a candidate; a query
  in X is relevant to the utterances with the same id in the other languages (its translations). Cr: X -> Y;
  Mul: X -> the pool of every *other* language (the query's own language would only hold itself). No Mo.
- **mtop-intent** (same-intent retrieval): queries are test utterances, the pool is the eval split; relevant =
  same intent label. Mo, Cr and Mul as in LAReQA. (The eval split keeps the pool near XQuAD-R's size; the
  train split is six times larger and would only make the pool, not the question, bigger.)

Release format (``mtop.zip``): ``mtop/{en,de,es,fr,hi,th}/{train,eval,test}.txt``, tab-separated, 8 columns,
no header, no quoting: id, intent, slots, utterance, domain, locale, decoupled parse, tokens JSON. The id is
shared by the translations of one utterance. Column 8 can be invalid JSON and is not parsed.

XSemPLR's parallel subset (Zhang et al., ACL 2023; `XSemPLR`): ``dev.json`` and ``test.json``, each a JSON list
of items ``{"id", "question": {lang: utterance}, "mr": {"slot_intent": {lang: "[IN:INTENT [SL:...] ]"}}}``, 6-way
parallel over the same six languages (dev 859, test 1,237 items), the utterances as MTOP tokenized them. Its
dev split stands in for the release's eval split; the intent is the parse's top-level ``IN:`` label.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hybridlib.records import Candidate, Query, RetrievalTask

LANGUAGES = ("de", "en", "es", "fr", "hi", "th")
SPLITS = ("train", "eval", "test")
N_FIELDS = 8


@dataclass(frozen=True)
class Utterance:
    id: str
    intent: str
    text: str
    domain: str
    lang: str


def parse_lines(lines: list[str], where: str, lang: str) -> list[Utterance]:
    """Parse one split file's lines; a line without exactly 8 tab-separated fields raises ValueError naming it.

    Args:
        lines: the file's lines, line endings included.
        where: the file's name for error messages (``zip!member`` inside the zip).
        lang: the split's language.
    """
    out = []
    for n, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != N_FIELDS:
            raise ValueError(f"{where}:{n}: expected {N_FIELDS} tab-separated fields, found {len(fields)}; the file is not the MTOP release format (re-download mtop.zip)")
        out.append(Utterance(id=fields[0], intent=fields[1], text=fields[3], domain=fields[4], lang=lang))
    return out


class Release:
    """Reads split files from the release zip, a folder holding it, or the extracted ``mtop/`` folder."""

    def __init__(self, source: Path) -> None:
        source = Path(source)
        self.zip_path: Path | None = None
        self.root: Path | None = None
        if source.is_file() and zipfile.is_zipfile(source):
            self.zip_path = source
        elif (source / "mtop.zip").is_file():
            self.zip_path = source / "mtop.zip"
        elif (source / "mtop" / "en").is_dir():
            self.root = source / "mtop"
        elif (source / "en").is_dir():
            self.root = source
        else:
            raise FileNotFoundError(f"{source}: no mtop.zip and no mtop/<lang>/ folders; download https://dl.fbaipublicfiles.com/mtop/mtop.zip there")

    def split(self, lang: str, split: str) -> list[Utterance]:
        name = f"mtop/{lang}/{split}.txt"
        if self.zip_path is not None:
            with zipfile.ZipFile(self.zip_path) as z:
                try:
                    raw = z.read(name)
                except KeyError:
                    raise FileNotFoundError(f"{self.zip_path}: has no {name}; the zip is incomplete (re-download it)") from None
            where = f"{self.zip_path}!{name}"
        else:
            path = self.root / lang / f"{split}.txt"
            if not path.exists():
                raise FileNotFoundError(f"{path}: missing; extract the full mtop.zip")
            raw, where = path.read_bytes(), str(path)
        return parse_lines(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").readlines(), where, lang)


class XSemPLR:
    """Reads XSemPLR's parallel subset: a folder holding ``dev.json`` and ``test.json`` (the release's split
    names map: eval -> dev); `max_items` > 0 keeps the first that many items of each file (file order)."""

    FILES = {"eval": "dev.json", "test": "test.json"}

    def __init__(self, source: Path, max_items: int = 0) -> None:
        self.root, self.max_items = Path(source), max_items
        missing = [name for name in self.FILES.values() if not (self.root / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{self.root}: no {' or '.join(missing)}; expected XSemPLR's dataset/mtop/{{dev,test}}.json there")

    def split(self, lang: str, split: str) -> list[Utterance]:
        if split not in self.FILES:
            raise ValueError(f"XSemPLR's MTOP subset has no {split!r} split; it has {sorted(self.FILES)}")
        path = self.root / self.FILES[split]
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
            if self.max_items:
                items = items[: self.max_items]
            return [_xsemplr_utterance(item, lang) for item in items]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: not XSemPLR's MTOP format ({e!r}); download it again (hybridlib prepare)") from e


def _xsemplr_utterance(item: dict, lang: str) -> Utterance:
    parse = item["mr"]["slot_intent"][lang]
    if not parse.startswith("[IN:"):
        raise ValueError(f"item {item['id']}: parse {parse[:40]!r} does not start with an [IN: intent")
    intent = parse[1:].split(maxsplit=1)[0]  # "IN:GET_EVENT"
    return Utterance(id=item["id"], intent=intent, text=item["question"][lang], domain="", lang=lang)


def reader(source: Path, max_items: int = 0) -> Release | XSemPLR:
    """The release (zip or folder) or, for a folder holding ``test.json``, XSemPLR's subset."""
    source = Path(source)
    if source.is_dir() and (source / "test.json").exists():
        return XSemPLR(source, max_items)
    if max_items:
        raise ValueError("max_items applies to XSemPLR's subset only; the release is read whole")
    return Release(source)


def parallel_task(source: Path, languages: tuple[str, ...] = LANGUAGES, split: str = "test", max_items: int = 0) -> RetrievalTask:
    """Parallel-utterance retrieval over one split (see module docstring).

    Args:
        source: the release (`Release`'s source: the zip, its folder or the extracted folder) or XSemPLR's folder.
        languages: the languages of queries and candidates.
        split: the split whose utterances are both queries and candidates.
        max_items: XSemPLR only: the first that many items per split (0: all).
    """
    release = reader(source, max_items)
    queries, candidates = [], []
    for lang in languages:
        for u in release.split(lang, split):
            queries.append(Query(id=f"{lang}-{u.id}", lang=lang, text=u.text, key=u.id))
            candidates.append(Candidate(id=f"{lang}-{u.id}", lang=lang, text=u.text, context="", keys=(u.id,)))
    return RetrievalTask("mtop-parallel", queries, candidates, settings=("cross", "multi"), multi_excludes_query_language=True)


def intent_task(
    source: Path, languages: tuple[str, ...] = LANGUAGES, query_split: str = "test", pool_split: str = "eval", max_items: int = 0
) -> RetrievalTask:
    """Same-intent retrieval: `query_split` utterances against the `pool_split` pool (see module docstring).

    Args:
        source: the release, as in `parallel_task`.
        languages: the languages of queries and candidates.
        query_split: the split whose utterances are the queries.
        pool_split: the split whose utterances are the candidates; relevant: those of the query's intent.
        max_items: as in `parallel_task`.
    """
    release = reader(source, max_items)
    queries, candidates = [], []
    for lang in languages:
        for u in release.split(lang, query_split):
            queries.append(Query(id=f"{lang}-{u.id}", lang=lang, text=u.text, key=u.intent))
        for u in release.split(lang, pool_split):
            candidates.append(Candidate(id=f"{lang}-{pool_split}-{u.id}", lang=lang, text=u.text, context="", keys=(u.intent,)))
    return RetrievalTask("mtop-intent", queries, candidates)
