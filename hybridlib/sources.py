"""Real data for a profile: download (registry + download), parse, and store in the record schema.

`prepare` is idempotent: cached downloads are reused, and the training set and each evaluation task are
built only when their folder is missing. `load_task` turns a folder of published files into a task (used by
`hybridlib export-eval` / `evaluate`, so anyone can score an encoder on the published files directly).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hybridlib import download, lareqa, mtop, records, registry, squad, storage
from hybridlib.records import RetrievalTask

if TYPE_CHECKING:  # annotations only
    from hybridlib.config import Profile
    from hybridlib.layout import Paths


def cache_dir(root: Path) -> Path:
    """The download cache: ``$HYBRIDLIB_CACHE``, else ``<root>/cache``."""
    return Path(os.environ.get("HYBRIDLIB_CACHE") or root / "cache")


def mirror_for(profile: Profile) -> str | None:
    """``$HYBRIDLIB_MIRROR``, else the profile's ``mirror`` (None: the publishers' own URLs)."""
    return os.environ.get("HYBRIDLIB_MIRROR") or profile.mirror


def load_task(
    dataset: str, source: Path, *, held_out_every: int = 0, context: bool = True, mtop_max_items: int = 0,
    mlqa_every: int = 0,
) -> RetrievalTask:
    """A task from the dataset's files as published: LAReQA ``<lang>.json`` files, MTOP's zip / ``mtop/``, or
    XSemPLR's MTOP folder (``dev.json``, ``test.json``).

    Args:
        dataset: xquad-r, mlqa-r, mtop-parallel or mtop-intent.
        source: the folder (or MTOP zip) of the published files.
        held_out_every: XQuAD-R: > 0 keeps only the held-out articles of that split (`lareqa.is_held_out`).
        context: LAReQA candidates carry their paragraph; False: the sentence alone.
        mtop_max_items: XSemPLR's MTOP: the first N items of each split (0: all).
        mlqa_every: MLQA-R: > 0 keeps the questions of every N-th English article (`lareqa.subset_ids`); 0: all.
    """
    source = Path(source)
    if dataset == "xquad-r":
        return lareqa.load(source, "xquad-r", lareqa.XQUAD_R_LANGUAGES, held_out_every=held_out_every, context=context)
    if dataset == "mlqa-r":
        return lareqa.load(source, "mlqa-r", lareqa.MLQA_R_LANGUAGES, context=context, subset_every=mlqa_every)
    if dataset == "mtop-parallel":
        return mtop.parallel_task(source, max_items=mtop_max_items)
    if dataset == "mtop-intent":
        return mtop.intent_task(source, max_items=mtop_max_items)
    raise ValueError(f"unknown dataset {dataset!r}; choose xquad-r, mlqa-r, mtop-parallel or mtop-intent")


def remote_files(profile: Profile) -> list[registry.RemoteFile]:
    """The registry entries a profile downloads: its training source's and its real evaluation datasets' files."""
    real_eval = tuple(d for d in profile.eval_datasets if d != "synthetic")
    train_source = profile.train_source if profile.train_source != "synthetic" else ""
    return registry.files_for(train_source, real_eval, profile.train_languages, profile.mtop_source)


def prepare(profile: Profile, paths: Paths) -> None:
    """Download, verify and build a real profile's training set and evaluation tasks."""
    cache = cache_dir(paths.root)
    real_eval = tuple(d for d in profile.eval_datasets if d != "synthetic")
    train_source = profile.train_source if profile.train_source != "synthetic" else None
    entries = remote_files(profile)
    allow = os.environ.get("HYBRIDLIB_ALLOW_UNVERIFIED") == "1"
    files = download.fetch_all(entries, cache, mirror=mirror_for(profile), allow_unverified=allow)
    for name, path in files.items():
        print(f"  {name:24s} {path.stat().st_size / 1e6:9.1f} MB  {path}")
    if (cache / "unverified.json").exists():
        storage.write_json(paths.data / "unverified.json", storage.read_json(cache / "unverified.json"))
    for dataset in real_eval:
        out = paths.data / "eval" / dataset
        if not (out / "task.json").exists():
            source = cache_path_folder(dataset, files)
            try:
                task = load_task(dataset, source, held_out_every=profile.held_out_every, context=profile.passage_context,
                                 mtop_max_items=profile.mtop_max_items, mlqa_every=profile.mlqa_every)
            except ValueError as e:
                raise ValueError(f"{e}; to download it again, delete {source} from the cache and rerun") from e
            task.write(out)
            print(f"  {dataset}: {len(task.queries)} queries, {len(task.candidates)} candidates")
    if train_source == "squad-translate-train" and not (paths.data / "train" / "dataset_info.json").exists():
        by_lang = {"en": files["squad/train"], **{lang: files[f"translate-train/{lang}"] for lang in profile.train_languages if lang != "en"}}
        report = {}

        def chunks() -> Iterator[list[dict[str, str]]]:
            for lang, rows, info in squad.language_rows(by_lang, require_negative=profile.train.hard_negatives):
                report[lang] = info
                print(f"  train {lang}: {info['rows']} rows, coverage {info['coverage']:.1%}, dropped {info['dropped']}", flush=True)
                yield rows

        records.save_training_set(chunks(), paths.data / "train")
        storage.write_json(paths.data / "train_report.json", report)
    if train_source == "xquad-r-train" and not (paths.data / "train" / "dataset_info.json").exists():
        rows = lareqa.training_rows(files["xquad-r/en"].parent, profile.train_languages, held_out_every=profile.held_out_every,
                                    context=profile.passage_context, require_negative=profile.train.hard_negatives)
        print(f"  train: {len(rows)} rows from XQuAD-R's training articles (every article but 0, {profile.held_out_every}, "
              f"{2 * profile.held_out_every}, ...)", flush=True)
        records.save_training_set([rows], paths.data / "train")


def cache_path_folder(dataset: str, files: dict[str, Path]) -> Path:
    """The folder (LAReQA) or zip (MTOP) that `load_task` reads, inside the cache."""
    if dataset.startswith("mtop"):
        return files["mtop/zip"] if "mtop/zip" in files else files["mtop-xsemplr/test"].parent
    prefix = "xquad-r/" if dataset == "xquad-r" else "mlqa-r/"
    return next(path for name, path in files.items() if name.startswith(prefix)).parent


def print_download_plan(profile: Profile) -> None:
    """Print the files a profile downloads, with their sizes and URLs (``run_all.sh --dry-run``)."""
    entries = remote_files(profile)
    known = sum(e.size or 0 for e in entries)
    unpinned = [e.name for e in entries if e.size is None]
    print(f"downloads: {len(entries)} files, {known / 1e9:.2f} GB" + (f" + unpinned {unpinned}" if unpinned else ""))
    for e in entries:
        size = f"{e.size / 1e6:8.1f} MB" if e.size else "  unknown"
        print(f"  {e.name:24s} {size}  {e.url}")
