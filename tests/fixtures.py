"""Self-authored files in the exact published formats (LAReQA JSON, SQuAD JSON, MTOP zip), and a loopback
HTTP server with Range support and fault injection, so every loader and the download path run offline."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading
import zipfile
from pathlib import Path

# Three parallel "articles" in three languages; each paragraph has sentence breaks like LAReQA's.
_SENTENCES = {
    "en": [["The river is long.", "It flows north.", "Fish live in it."], ["The tower is old.", "Kings built it."]],
    "de": [["Der Fluss ist lang.", "Er fließt nach Norden.", "Fische leben darin."], ["Der Turm ist alt.", "Könige bauten ihn."]],
    "zh": [["这条河很长。", "它向北流。", "鱼生活在里面。"], ["这座塔很古老。", "国王建造了它。"]],
}
# (paragraph, sentence holding the answer, answer text index within the sentence, question per language)
_QUESTIONS = [
    ("q1", 0, 1, {"en": "Which way does the river flow?", "de": "Wohin fließt der Fluss?", "zh": "河流向哪里？"}),
    ("q2", 0, 2, {"en": "What lives in the river?", "de": "Was lebt im Fluss?", "zh": "河里有什么？"}),
    ("q3", 1, 1, {"en": "Who built the tower?", "de": "Wer baute den Turm?", "zh": "谁建造了塔？"}),
]


def lareqa_json(lang: str, drop: tuple[str, ...] = (), articles: int = 1) -> dict:
    """One LAReQA language file: data -> paragraphs -> {context, sentences, sentence_breaks, qas}; with
    `articles` > 1, that many articles ``fixture-<a>``, each sentence ending in `` <a>`` (no two candidates share a
    text, so no scores tie) and each question id in ``-<a>``."""
    return {"data": [_lareqa_article(lang, drop, a if articles > 1 else None) for a in range(articles)], "version": "1.0"}


def _lareqa_article(lang: str, drop: tuple[str, ...], a: int | None) -> dict:
    paragraphs = []
    base = lang if lang in _SENTENCES else "en"  # other languages: English text tagged with the code
    texts = [[s if base == lang else f"{s[:-1]} {lang}." for s in para] for para in _SENTENCES[base]]
    if a is not None:
        texts = [[f"{s} {a}" for s in para] for para in texts]
    for p, sentences in enumerate(texts):
        sep = "" if base == "zh" else " "
        context, breaks = "", []
        for s in sentences:
            start = len(context) + (len(sep) if context else 0)
            context = f"{context}{sep}{s}" if context else s
            breaks.append([start, start + len(s)])
        qas = []
        for qid, para, sent, texts_q in _QUESTIONS:
            if para != p or qid in drop:
                continue
            start = breaks[sent][0] + 1  # an answer inside the sentence
            question = texts_q[lang] if lang in texts_q else f"{texts_q['en']} {lang}"
            qid = qid if a is None else f"{qid}-{a}"
            qas.append({"answers": [{"answer_start": start, "text": context[start : start + 2]}], "id": qid, "question": question})
        paragraphs.append({"context": context, "qas": qas, "sentence_breaks": breaks, "sentences": sentences})
    return {"paragraphs": paragraphs, "title": "fixture" if a is None else f"fixture-{a}"}


def write_lareqa(folder: Path, langs=("en", "de", "zh"), drop: dict[str, tuple[str, ...]] | None = None, articles: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        data = lareqa_json(lang, (drop or {}).get(lang, ()), articles)
        (folder / f"{lang}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def squad_json(lang: str, skip_ids: tuple[str, ...] = (), bad_answer: str | None = None) -> dict:
    """A SQuAD v1.1-format file; translate-train style when lang != 'en' (same ids, a context copy per question)."""
    data = lareqa_json(lang)
    for article in data["data"]:
        for p in article["paragraphs"]:
            del p["sentences"], p["sentence_breaks"]
            p["qas"] = [q for q in p["qas"] if q["id"] not in skip_ids]
            for q in p["qas"]:
                if q["id"] == bad_answer:
                    q["answers"][0]["answer_start"] = -1
    return data


# MTOP: id, intent, slots, utterance, domain, locale, decoupled parse, tokens JSON (column 8 may be invalid JSON)
_MTOP = [
    ("100", "IN:GET_WEATHER", {"en": "weather today", "de": "Wetter heute", "fr": "météo aujourd'hui"}),
    ("101", "IN:GET_WEATHER", {"en": "will it rain", "de": "wird es regnen", "fr": "va-t-il pleuvoir"}),
    ("102", "IN:CREATE_ALARM", {"en": "wake me at six", "de": "weck mich um sechs", "fr": "réveille-moi à six heures"}),
    ("103", "IN:CREATE_ALARM", {"en": "set an alarm", "de": "stell einen Wecker", "fr": "mets une alarme"}),
]
MTOP_LANGS = ("de", "en", "es", "fr", "hi", "th")


def mtop_line(uid: str, intent: str, text: str, lang: str) -> str:
    domain = "weather" if "WEATHER" in intent else "alarm"
    return "\t".join([uid, intent, "", text, domain, f"{lang}_XX", f"[{intent} ]", '{"tokens": [oops'])


def write_mtop_zip(path: Path, malformed: str | None = None) -> Path:
    """mtop.zip with mtop/<lang>/{train,eval,test}.txt for all six languages (es/hi/th reuse the en text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for lang in MTOP_LANGS:
            for split in ("train", "eval", "test"):
                rows = _MTOP if split == "test" else _MTOP[::-1]
                lines = [mtop_line(uid if split == "test" else f"{split}{uid}", intent, texts.get(lang, texts["en"]), lang) for uid, intent, texts in rows]
                if malformed == f"{lang}/{split}":
                    lines.append("only\tthree\tfields")
                z.writestr(f"mtop/{lang}/{split}.txt", "\n".join(lines) + "\n")
    return path


def xsemplr_json(split: str, langs=MTOP_LANGS) -> list[dict]:
    """XSemPLR's dataset/mtop/<split>.json: a list of {id (hex of the MTOP id), question: {lang: utterance},
    mr: {slot_intent: {lang: parse}}}; es/hi/th reuse the en text. dev holds the test items in reverse order,
    with other ids."""
    rows = _MTOP if split == "test" else _MTOP[::-1]
    items = []
    for uid, intent, texts in rows:
        uid = uid if split == "test" else f"{split}{uid}"
        question = {lang: texts.get(lang, texts["en"]) for lang in langs}
        parse = {lang: f"[{intent} [SL:WHAT {question[lang].split()[0]} ] ]" for lang in langs}
        items.append({"id": uid.encode().hex(), "mr": {"slot_intent": parse}, "question": question})
    return items


def write_xsemplr(folder: Path) -> Path:
    """``dev.json`` and ``test.json`` in XSemPLR's MTOP format (`xsemplr_json`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("dev", "test"):
        (folder / f"{split}.json").write_text(json.dumps(xsemplr_json(split), ensure_ascii=False, indent=4), encoding="utf-8")
    return folder


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LoopbackServer:
    """Serves `root` on 127.0.0.1 with HTTP Range support; `truncate[path] = n` sends only n bytes of a file
    while announcing its full length (a dropped connection)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.truncate: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                file = server.root / self.path.lstrip("/")
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.truncate.get(self.path)
                self.wfile.write(body[:cut] if cut is not None else body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_pinned(root: Path, payloads: dict[str, str], tmp_path: Path, monkeypatch) -> LoopbackServer:  # noqa: ANN001
    """Write each registry entry's payload (JSON text) at its mirror path under `root`, pin the registry to their
    sizes and hashes, point HYBRIDLIB_MIRROR and HYBRIDLIB_CACHE at the mirror and a fresh cache, and return the
    server (not started: use it as a context manager)."""
    from hybridlib import download, registry

    for name, text in payloads.items():
        data = text.encode()
        path = download.cache_path(registry.FILES[name], root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entry = registry.FILES[name]
        monkeypatch.setitem(registry.FILES, name, entry.__class__(**{**entry.__dict__, "size": len(data), "sha256": sha256(data)}))
    server = LoopbackServer(root)
    monkeypatch.setenv("HYBRIDLIB_MIRROR", server.url)
    monkeypatch.setenv("HYBRIDLIB_CACHE", str(tmp_path / "cache"))
    return server


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def training_batch(model, n: int = 8, words: list[str] | None = None):
    """A collated (query, positive, negative) batch of `n` rows, as the trainer hands it to a loss, and its labels;
    with `words` (at least 3 n), each row's texts are made of its own words."""
    import torch
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    if words:
        rows = [{"query": f"query: {words[i]} {words[i + n]}", "positive": f"passage: {words[i]} {words[i + 2 * n]}",
                 "negative": f"passage: {words[(i + 1) % n]} {words[i + n]}"} for i in range(n)]
    else:
        rows = [{"query": f"query: frage {i} wer", "positive": f"passage: antwort {i} satz || kontext {i}", "negative": f"passage: anderer {i}"} for i in range(n)]
    collate = SentenceTransformerDataCollator(preprocess_fn=model.preprocess)
    features = collate(rows)
    inputs = [{k.removeprefix(f"{c}_"): v for k, v in features.items() if k.startswith(f"{c}_")} for c in ("query", "positive", "negative")]
    return inputs, torch.zeros(n)


# A profile of a few seconds on the synthetic world: three strategies, one seed, a tiny smoke encoder
TINY_PROFILE = {
    "name": "tiny",
    "description": "test profile: tiny world, 2 strategies, 1 seed",
    "data": {"train": "synthetic", "train_languages": ["en", "de", "ru"], "eval": ["synthetic"]},
    "synthetic": {"n_entities": 20, "eval_paragraphs": 4, "languages": ["en", "de", "ru", "el", "zh"]},
    "models": {"smoke-bert": {"source": "smoke"}},
    "strategies": ["off-the-shelf", "xy", "hybrid-0.5"],
    "seeds": [0],
    "train": {"steps": 3, "batch_size": 8, "learning_rate": 1e-3, "max_seq_length": 48, "hard_negatives": False},
    "eval": {"batch_size": 64, "n_boot": 50},
}
