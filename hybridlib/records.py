"""The record schema every dataset is converted to: synthetic, XQuAD-R, MLQA-R and MTOP alike.

Two shapes:

- **Training set** (a `datasets.Dataset`, one row per (parallel group, language)): ``pair_id`` (the parallel
  group: translations of one question share it), ``lang``, ``query``, ``passage`` (the answer sentence with its
  paragraph as context, see `passage_input`), ``negative`` (another sentence of the same paragraph, same
  language, or "" when there is none) and ``source`` (the dataset the parallel group came from; the same
  for every language of a group).
- **Retrieval task** (`RetrievalTask`): queries and candidates. A query is relevant to a candidate when the
  query's ``key`` is one of the candidate's ``keys`` (XQuAD-R: the question id shared across languages;
  MTOP parallel: the utterance id; MTOP intent: the intent label).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hybridlib import storage

if TYPE_CHECKING:  # heavy imports, for annotations only
    import pandas as pd
    from datasets import Dataset

TRAIN_COLUMNS = ("pair_id", "lang", "query", "passage", "negative", "source")

# Separates the answer sentence from its paragraph in a passage. A plain marker rather than a model's
# [SEP] token, so the same text goes to every encoder (LAReQA feeds sentence and context together).
CONTEXT_SEPARATOR = " || "
# a language code: ISO 639-1 or -3 in lower case, optionally with a region or script ("en", "yue", "zh-cn", "pt_br")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}([-_][a-z0-9]{2,8})*")


def passage_input(sentence: str, context: str) -> str:
    """The text a passage encoder sees: the candidate sentence, then its paragraph as context."""
    return f"{sentence}{CONTEXT_SEPARATOR}{context}" if context else sentence


@dataclass(frozen=True)
class Query:
    id: str
    lang: str
    text: str
    key: str  # relevance key: relevant candidates carry it in `keys`
    article: str = ""  # the article whose sentences are its candidates (LAReQA; "" where none): the intervals' cluster

    def __post_init__(self) -> None:
        if not isinstance(self.key, str):  # a tuple or an int matches no candidate's string keys
            fix = f"key={self.key[0]!r}" if isinstance(self.key, tuple) and len(self.key) == 1 else f"key={str(self.key)!r}"
            raise ValueError(f"query {self.id}: key must be one string (a candidate's keys hold strings), got "
                             f"{type(self.key).__name__} {self.key!r}; write {fix}")


@dataclass(frozen=True)
class Candidate:
    id: str
    lang: str
    text: str  # the sentence (or utterance)
    context: str  # its paragraph; "" where there is none (MTOP)
    keys: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.keys, str):  # a string would be read character by character: no query would match
            raise ValueError(f"candidate {self.id}: keys must be a tuple of relevance keys, got the string {self.keys!r}; "
                             f"write keys=({self.keys!r},)")
        object.__setattr__(self, "keys", tuple(self.keys))
        if not all(isinstance(k, str) for k in self.keys):  # a query's key is a string: 1 never equals "1"
            raise ValueError(f"candidate {self.id}: keys must be strings, got {self.keys!r}; write keys={tuple(str(k) for k in self.keys)!r}")


@dataclass
class RetrievalTask:
    """Queries and candidates of one evaluation dataset, in a fixed order (the export order)."""

    name: str
    queries: list[Query]
    candidates: list[Candidate]
    # Settings the task defines. MTOP parallel retrieval has no Mo (a query's only same-language match is
    # itself) and its Mul pool leaves out the query's own language.
    settings: tuple[str, ...] = ("mono", "cross", "multi")
    multi_excludes_query_language: bool = False

    def __post_init__(self) -> None:
        for kind, items in (("query", self.queries), ("candidate", self.candidates)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"task {self.name}: {kind} id {item.id!r} appears twice; give every {kind} its own id")
                seen.add(item.id)
        check_languages({q.lang for q in self.queries}, {c.lang for c in self.candidates}, f"task {self.name}")

    @property
    def languages(self) -> list[str]:
        return sorted({q.lang for q in self.queries} | {c.lang for c in self.candidates})

    def relevance(self, query_idx: Sequence[int] | None = None, cand_idx: Sequence[int] | None = None) -> np.ndarray:
        """Boolean relevance matrix, shape (n_queries, n_candidates), for the given subsets (default all)."""
        queries = self.queries if query_idx is None else [self.queries[i] for i in query_idx]
        cands = self.candidates if cand_idx is None else [self.candidates[i] for i in cand_idx]
        key_ids: dict[str, int] = {}
        q_keys = np.array([key_ids.setdefault(q.key, len(key_ids)) for q in queries])
        rel = np.zeros((len(queries), len(cands)), dtype=bool)
        for j, c in enumerate(cands):
            for k in c.keys:
                if k in key_ids:
                    rel[:, j] |= q_keys == key_ids[k]
        return rel

    def write(self, out_dir: str | Path) -> None:
        """Write `queries.jsonl` and `candidates.jsonl` (the encoder-agnostic export format)."""
        out_dir = Path(out_dir)
        storage.write_jsonl(out_dir / "queries.jsonl", [asdict(q) for q in self.queries])
        storage.write_jsonl(
            out_dir / "candidates.jsonl", [{**asdict(c), "keys": list(c.keys)} for c in self.candidates]
        )
        storage.write_json(
            out_dir / "task.json",
            {"name": self.name, "languages": self.languages, "settings": list(self.settings),
             "multi_excludes_query_language": self.multi_excludes_query_language},
        )

    @classmethod
    def read(cls, in_dir: str | Path) -> RetrievalTask:
        """Read a task written by `write`."""
        in_dir = Path(in_dir)
        meta = storage.read_json(in_dir / "task.json")
        queries = [Query(**r) for r in storage.read_jsonl(in_dir / "queries.jsonl")]
        cands = [Candidate(**{**r, "keys": tuple(r["keys"])}) for r in storage.read_jsonl(in_dir / "candidates.jsonl")]
        return cls(
            name=meta["name"], queries=queries, candidates=cands, settings=tuple(meta.get("settings", cls.settings)),
            multi_excludes_query_language=meta.get("multi_excludes_query_language", False),
        )

    @classmethod
    def read_mteb(cls, in_dir: str | Path, split: str = "test") -> RetrievalTask:
        """Read an MTEB / BEIR retrieval folder: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
        (``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score``; a score > 0 is
        relevant), each corpus and query row with a ``lang`` field besides (the format has none of its own, and the
        three settings need one). A query's key is its id; a document's keys are the queries relevant to it; its
        text is ``title text`` as MTEB encodes it. Name query ids ``<lang>-<item>`` (the item shared by its
        translations): the intervals resample whole items, and other ids make each query an item of its own."""
        import csv

        in_dir = Path(in_dir)
        qrels = in_dir / "qrels" / f"{split}.tsv"
        if not qrels.is_file():
            raise FileNotFoundError(f"{qrels}: no qrels for split {split!r}; an MTEB folder has qrels/<split>.tsv")
        relevant: dict[str, list[str]] = {}
        with qrels.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t")
            if not {"query-id", "corpus-id", "score"} <= set(reader.fieldnames or ()):
                raise ValueError(f"{qrels}: the header must be query-id, corpus-id, score (tab-separated), got {reader.fieldnames}")
            for n, row in enumerate(reader, start=2):
                try:
                    score = float(row["score"])
                except (TypeError, ValueError):
                    raise ValueError(f"{qrels}:{n}: score {row['score']!r} is not a number; each line is query-id, "
                                     "corpus-id and a numeric score, tab-separated") from None
                if score > 0:
                    relevant.setdefault(row["corpus-id"], []).append(row["query-id"])

        def rows(name: str) -> list[dict]:
            found = storage.read_jsonl(in_dir / name)
            for i, r in enumerate(found):
                lacking = [k for k in ("_id", "text", "lang") if k not in r]
                if lacking:
                    raise ValueError(f"{in_dir / name}: row {i + 1} has no {lacking}; every row needs _id, text and "
                                     "lang (the language code, which MTEB keeps outside the rows: add it to each)")
            return found

        queries = [Query(str(r["_id"]), r["lang"], r["text"], key=str(r["_id"])) for r in rows("queries.jsonl")]
        cands = [Candidate(str(r["_id"]), r["lang"], f"{r.get('title') or ''} {r['text']}".strip(), "",
                           tuple(relevant.get(str(r["_id"]), ()))) for r in rows("corpus.jsonl")]
        unknown = sorted(set(relevant) - {c.id for c in cands})
        if unknown:
            raise ValueError(f"{qrels}: corpus ids {unknown[:3]} are not in corpus.jsonl; the qrels and corpus disagree")
        unknown = sorted({q for ids in relevant.values() for q in ids} - {q.id for q in queries})
        if unknown:
            raise ValueError(f"{qrels}: query ids {unknown[:3]} are not in queries.jsonl; the qrels and queries disagree")
        return cls(name=in_dir.name, queries=queries, candidates=cands)

    @classmethod
    def read_folder(cls, in_dir: str | Path) -> RetrievalTask:
        """A task folder of either format: hybridlib's (`write`) or MTEB's (`read_mteb`), told apart by its files."""
        in_dir = Path(in_dir)
        if (in_dir / "task.json").is_file() and (in_dir / "candidates.jsonl").is_file() and (in_dir / "queries.jsonl").is_file():
            return cls.read(in_dir)
        if (in_dir / "corpus.jsonl").is_file() and (in_dir / "queries.jsonl").is_file():
            return cls.read_mteb(in_dir)
        raise FileNotFoundError(f"{in_dir}: not a task folder (neither queries.jsonl, candidates.jsonl and task.json, nor MTEB's "
                                "queries.jsonl, corpus.jsonl and qrels/test.tsv); write one with RetrievalTask(...).write(folder) "
                                "or `hybridlib export-eval` (docs/library.md)")


def check_languages(query_langs: set[str], candidate_langs: set[str], where: str) -> None:
    """Raise ValueError, in one line, for a language that is not a lower-case code (``english``, ``EN``), naming the
    spelling to use; two spellings of one language (``EN`` and ``en``) are named together.

    Args:
        query_langs: the queries' (or training rows') languages.
        candidate_langs: the candidates' languages (empty for training rows).
        where: what the languages belong to, for the message.
    """
    def side(lang: str) -> str:
        return " and ".join(name for name, langs in (("queries", query_langs), ("candidates", candidate_langs)) if lang in langs)

    spellings: dict[str, set[str]] = {}
    for lang in query_langs | candidate_langs:
        spellings.setdefault(str(lang).lower().replace("_", "-"), set()).add(lang)
    for key, same in spellings.items():
        if len(same) > 1:
            named = " and ".join(f"{lang!r} ({side(lang)})" for lang in sorted(same))
            raise ValueError(f"{where}: one language is spelled {named}, which would count as two languages; write {key!r} everywhere")
    for lang in sorted(query_langs | candidate_langs, key=str):
        if not isinstance(lang, str) or not LANGUAGE_CODE.fullmatch(lang):
            hint = f"write {lang.lower()!r}" if isinstance(lang, str) and LANGUAGE_CODE.fullmatch(lang.lower()) else "write its ISO 639-1 code, e.g. 'en'"
            raise ValueError(f"{where}: language {lang!r} is not a lower-case language code; {hint}")


def check_pair_rows(rows: Dataset, cols: pd.DataFrame, languages: tuple[str, ...]) -> None:
    """Raise ValueError, in one line, for training rows a pair dataset would read wrongly: `languages` as a string,
    a language with no row (it would get no batch), or two rows of one (pair_id, lang) with different texts (one
    would be dropped).

    Args:
        rows: the training set.
        cols: its ``pair_id`` and ``lang`` columns, as a frame.
        languages: the training languages.
    """
    if isinstance(languages, str):
        raise ValueError(f"languages must be a tuple of language codes, got the string {languages!r}; write "
                         f"{tuple(languages.split(','))!r}")
    if not isinstance(languages, (tuple, list)):  # a set's order changes from process to process, and so would every batch
        raise ValueError(f"languages must be an ordered tuple (their order decides every batch), got a {type(languages).__name__}; "
                         f"write {tuple(sorted(languages))!r}")
    if len(set(languages)) != len(languages):
        raise ValueError(f"languages {tuple(languages)!r} name a language twice; name each once")
    check_languages(set(cols["lang"]), set(), "the training rows")  # 'EN' beside 'en' would drop rows; 'english' is no code
    found = set(cols["lang"])
    absent = [lang for lang in languages if lang not in found]
    if absent:
        raise ValueError(f"no training row is in {absent}, so they would get no batch; the rows' languages are "
                         f"{sorted(found)}: name only those, or add rows in {absent}")
    twice = cols.duplicated(["pair_id", "lang"], keep=False).to_numpy()
    if twice.any():
        dup = rows.select(np.flatnonzero(twice)).to_pandas()
        texts = [c for c in ("query", "passage", "negative") if c in dup.columns]
        conflict = dup.groupby(["pair_id", "lang"])[texts].nunique().max(axis=1) > 1
        if conflict.any():
            pair_id, lang = conflict[conflict].index[0]
            raise ValueError(f"{int(conflict.sum())} (pair_id, lang) have rows with different texts, e.g. pair_id "
                             f"{pair_id!r} in {lang!r}; one would be dropped: keep one row each, or give them their own pair_id")


def save_training_set(chunks: Iterable[list[dict[str, str]]], out_dir: str | Path) -> None:
    """Store training rows (dicts with `TRAIN_COLUMNS`) as a `datasets` Arrow folder, atomically.

    `chunks` are lists of rows (one per language for the paper data), turned into Arrow one at a time so the
    Python rows of only one chunk are alive at once.
    """
    from datasets import Dataset, concatenate_datasets

    parts = []
    for rows in chunks:
        missing = [c for c in TRAIN_COLUMNS if rows and c not in rows[0]]
        if missing:
            raise ValueError(f"training rows lack columns {missing}; every row needs {list(TRAIN_COLUMNS)}")
        parts.append(Dataset.from_dict({c: [r[c] for r in rows] for c in TRAIN_COLUMNS}))
    dataset = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    with storage.atomic_dir(out_dir) as tmp:
        dataset.save_to_disk(str(tmp))


def read_training_rows(path: str | Path) -> Dataset:
    """One's own training rows, as docs/library.md describes them: a ``.jsonl`` file, a folder of ``.jsonl`` files
    (read in name order) or a folder written by ``Dataset.save_to_disk``, with ``pair_id``, ``lang``, ``query`` and
    ``passage`` (``negative`` and ``source`` optional). Anything else raises, naming what it found.

    Args:
        path: the file or folder.
    """
    from datasets import Dataset, load_from_disk

    path = Path(path)
    if (path / "dataset_info.json").is_file():
        dataset = load_from_disk(str(path))
    elif path.is_file() or (path.is_dir() and any(path.glob("*.jsonl"))):
        files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
        dataset = Dataset.from_list([row for file in files for row in storage.read_jsonl(file)])
    else:
        raise FileNotFoundError(f"{path}: no training rows; give a .jsonl file, a folder of them or a saved dataset "
                                "(Dataset.save_to_disk), one row per (pair_id, lang) with query and passage")
    needed = [c for c in ("pair_id", "lang", "query", "passage") if c not in dataset.column_names]
    if needed:
        raise ValueError(f"{path}: the rows lack {needed}; each row needs pair_id, lang, query and passage (negative "
                         f"and source are optional), but has {dataset.column_names}")
    return dataset


def load_training_set(path: str | Path) -> Dataset:
    """Load a training set written by `save_training_set`; a missing folder names the step to run."""
    from datasets import load_from_disk

    path = Path(path)
    if not (path / "dataset_info.json").exists():
        raise FileNotFoundError(f"{path}: no prepared training set; run notebook 01 (or `hybridlib prepare`) first")
    try:
        dataset = load_from_disk(str(path))
        dataset.data.validate(full=True)  # a file cut short fails here, not in the middle of training
    except Exception as e:  # pyarrow, datasets and OS errors alike: all mean the folder is damaged
        raise ValueError(f"{path}: damaged training set ({type(e).__name__}: {str(e)[:120]}); delete the folder and "
                         "rerun notebook 01 (or `hybridlib prepare`)") from e
    missing = [c for c in TRAIN_COLUMNS if c not in dataset.column_names]
    if missing:
        raise ValueError(f"{path}: training set lacks columns {missing}; delete it and prepare it again")
    return dataset
