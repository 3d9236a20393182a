"""The study's stages, each idempotent: prepare data, fine-tune every run, evaluate every run.

The notebooks call these; each stage skips work whose outputs exist for the same resolved config, and
writes its outputs atomically, so an interrupted stage resumes where it stopped. Each holds the home's lock
(`storage.home_lock`) while it writes. What the notebooks display besides is in `inspection`; the time
estimates of `hybridlib plan` are at the end of this module.

Layout (`layout.Paths`; ``HYBRIDLIB_HOME`` moves it, e.g. to Google Drive on Colab; default: the repository):

    data/<profile>/train/                        training set (datasets Arrow)
    data/<profile>/eval/<dataset>/               queries.jsonl, candidates.jsonl
    data/<profile>/models/smoke/                 the smoke encoder (smoke profile only)
    results/<profile>/runs/<model>/<strategy>/seed<N>/   config.json, environment.json, base_model.json, model/, train_log.json
    results/<profile>/eval/<dataset>/<model>/<strategy>/seed<N>/   config.json, metrics.json, per_query.csv.gz
    results/<profile>/summary.csv, tables/*.md   built by `results` and `tables`
    figures/<profile>/*.png                      built by `figures`
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from hybridlib import provenance, records, storage
from hybridlib.config import REPO_ROOT, SMOKE_MODEL, Profile, RunSpec
from hybridlib.encoder import WEIGHT_FILES
from hybridlib.layout import Paths
from hybridlib.results import headline


def quiet_progress_bars() -> None:
    """Turn off library progress bars (weights loading, dataset saving): in papermill logs they become walls of
    carriage returns. The stages print one plain line per unit of work instead."""
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()


def _holding_home_lock(stage: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """A stage that holds its home's lock (`storage.home_lock`) while it runs: a second process writing under the
    same home stops at once, naming the first."""

    @functools.wraps(stage)
    def locked(profile: Profile, paths: Paths, *args: object, **kwargs: object) -> pd.DataFrame:
        with storage.home_lock(paths.root):
            return stage(profile, paths, *args, **kwargs)

    return locked


@_holding_home_lock
def prepare(profile: Profile, paths: Paths) -> pd.DataFrame:
    """Build the training set, the evaluation tasks and (smoke) the encoder; returns rows per split and language."""
    from hybridlib import synthetic

    quiet_progress_bars()
    _discard_stale_data(profile, paths)
    world = synthetic.World(synthetic.WorldSpec(**profile.synthetic))
    if profile.train_source == "synthetic" and not (paths.data / "train" / "dataset_info.json").exists():
        records.save_training_set([synthetic.training_rows(world, profile.train_languages)], paths.data / "train")
    if "synthetic" in profile.eval_datasets and not (paths.data / "eval" / "synthetic" / "task.json").exists():
        synthetic.evaluation_task(world, world.spec.languages).write(paths.data / "eval" / "synthetic")
    if profile.train_source != "synthetic" or set(profile.eval_datasets) - {"synthetic"}:
        from hybridlib import sources

        sources.prepare(profile, paths)
    if any(m.source == SMOKE_MODEL for m in profile.models):
        from hybridlib.encoder import build_smoke_encoder

        build_smoke_encoder(synthetic.pretraining_corpus(world), paths.data / "models" / SMOKE_MODEL, seed=world.spec.seed)
    return data_summary(profile, paths)


def data_config(profile: Profile) -> dict:
    """What decides the prepared data; a change to any of it rebuilds `data/<profile>/`."""
    return {
        "train_source": profile.train_source,
        "train_languages": list(profile.train_languages),
        "eval_datasets": list(profile.eval_datasets),
        "synthetic": profile.synthetic,
        "hard_negatives": profile.train.hard_negatives,
        **data_split(profile),
    }


def data_split(profile: Profile) -> dict:
    """The data choices beyond sources and languages that a profile may change from the defaults (none of the
    paper profile's): the XQuAD-R article split, sentence-only passages, the MTOP source and its size."""
    defaults = {"held_out_every": 0, "passage_context": True, "mtop_source": "release", "mtop_max_items": 0, "mlqa_every": 0}
    chosen = {k: getattr(profile, k) for k in defaults}
    return {k: v for k, v in chosen.items() if v != defaults[k]}


def _discard_stale_data(profile: Profile, paths: Paths) -> None:
    marker = paths.data / "prepared.json"
    if marker.exists() and storage.read_json(marker) != data_config(profile):
        print(f"{paths.data}: prepared for another data config; rebuilding it", flush=True)
        shutil.rmtree(paths.data)
    storage.write_json(marker, data_config(profile))


def data_summary(profile: Profile, paths: Paths) -> pd.DataFrame:
    """Counts per (split, language): training rows, evaluation queries and candidates."""
    rows = records.load_training_set(paths.data / "train").to_pandas()
    parts = [rows.groupby("lang").size().rename("count").reset_index().assign(split="train", item="pairs")]
    for dataset in profile.eval_datasets:
        task = records.RetrievalTask.read(paths.data / "eval" / dataset)
        for item, objs in (("queries", task.queries), ("candidates", task.candidates)):
            counts = pd.Series([o.lang for o in objs]).value_counts().rename("count").rename_axis("lang").reset_index()
            parts.append(counts.assign(split=dataset, item=item))
    table = pd.concat(parts).pivot_table(index=["split", "item"], columns="lang", values="count", fill_value=0)
    return table.astype(int)


def model_source(run: RunSpec, paths: Paths) -> str:
    """Where a run's base model loads from: the smoke encoder folder, a local folder given for it, or the hub id."""
    return str(paths.data / "models" / SMOKE_MODEL) if run.model.source == SMOKE_MODEL else run.model.load_from[0]


def run_config(profile: Profile, run: RunSpec) -> dict:
    """The resolved configuration of one training run (what decides its weights)."""
    return {
        "profile": profile.name,
        "model": {k: v for k, v in asdict(run.model).items() if k not in ("folder", "size", "steps")},  # a folder: named by its hash
        "strategy": run.strategy.label,
        "alpha": run.strategy.alpha,
        "seed": run.seed,
        "train": asdict(profile.settings(run)),
        "train_source": profile.train_source,
        "train_languages": list(profile.train_languages),
        "synthetic": profile.synthetic,
        **data_split(profile),
        # weights from a local folder are named by their hash: another folder of the same weights reuses the runs
        **({"weights": provenance.folder_weights(run.model.folder)} if run.model.folder else {}),
    }


def _is_done(out_dir: Path, config: dict, product: str) -> bool:
    """Whether `out_dir` holds `product` (``model`` or ``metrics.json``) made under `config`. A product that is
    damaged (a model folder without weights, a metrics.json that does not parse, a missing per_query.csv.gz) is
    not done: it is made again, and the line printed says why."""
    path = out_dir / "config.json"
    if not (out_dir / product).exists() or not path.exists() or storage.read_json(path) != config:
        return False
    damage = _damage(out_dir, product)
    if damage:
        print(f"{out_dir / product}: {damage}; making it again", flush=True)
    return not damage


def _damage(out_dir: Path, product: str) -> str | None:
    if product == "model":
        if not any((out_dir / "model" / name).is_file() for name in WEIGHT_FILES):
            return "no weights file"
        return None
    if not (out_dir / "per_query.csv.gz").is_file():
        return "per_query.csv.gz is missing"
    try:
        storage.read_json(out_dir / product)
    except ValueError:
        return "not valid JSON"
    return None


@_holding_home_lock
def train_all(profile: Profile, paths: Paths, runs: list[RunSpec] | None = None) -> pd.DataFrame:
    """Fine-tune every run that trains and is not done yet (a run trained under another config starts again);
    a base-size profile with runs to train stops at once on a machine without a GPU (`cpu_refusal`), and so does
    a second process writing under the same home (`storage.home_lock`).

    Args:
        profile: the profile (training settings and languages).
        paths: where the training set is read and the runs are written.
        runs: the runs to train; None: all of the profile's. Off-the-shelf runs are passed over.

    Returns:
        One status row per run: ``run``, ``status`` ('trained' or 'skipped') and ``seconds``.
    """
    from hybridlib.training import train_run

    quiet_progress_bars()
    runs = [r for r in (runs or profile.runs()) if r.strategy.trains]
    if not runs:
        print(f"profile {profile.name}: no run trains (off-the-shelf only); nothing to train", flush=True)
        return pd.DataFrame(columns=["run", "status", "seconds"])
    refusal = cpu_refusal(profile)
    if refusal and any(not _is_done(paths.run_dir(r), run_config(profile, r), "model") for r in runs):
        raise RuntimeError(refusal)  # e.g. notebook 02 opened on a Colab runtime without a GPU
    rows = records.load_training_set(paths.data / "train")
    status = []
    for i, run in enumerate(runs, start=1):
        out, config = paths.run_dir(run), run_config(profile, run)
        if _is_done(out, config, "model"):
            print(f"[{i}/{len(runs)}] {run.key}: done earlier, skipped", flush=True)
            status.append({"run": run.key, "status": "skipped", "seconds": 0.0})
            continue
        if (out / "config.json").exists() and storage.read_json(out / "config.json") != config:
            shutil.rmtree(out)  # trained under another config: its checkpoints cannot be resumed
        storage.write_json(out / "config.json", config)
        start = time.perf_counter()
        gpus = _visible_gpus()
        print(f"[{i}/{len(runs)}] {run.key}: training {profile.settings(run).steps} steps" + (f" on {gpus} GPUs (torchrun)" if gpus > 1 else ""), flush=True)
        if gpus > 1:
            _torchrun(profile, paths, run, gpus)
        else:
            train_run(model_source(run, paths), rows, profile.train_languages, run.strategy, run.seed, profile.settings(run), out, revision=run.model.load_from[1])
        storage.write_json(out / "environment.json", provenance.environment())
        seconds = time.perf_counter() - start
        print(f"[{i}/{len(runs)}] {run.key}: trained in {seconds:.1f} s", flush=True)
        status.append({"run": run.key, "status": "trained", "seconds": round(seconds, 1)})
    return pd.DataFrame(status)


def _visible_gpus() -> int:
    import torch

    distributed = "LOCAL_RANK" in os.environ  # already a torchrun worker: train in-process
    return torch.cuda.device_count() if torch.cuda.is_available() and not distributed else 0


def _torchrun(profile: Profile, paths: Paths, run: RunSpec, gpus: int) -> None:
    """Train one run on every visible GPU through torchrun and `hybridlib train` (the samplers keep ranks consistent)."""
    import subprocess
    import sys

    if not profile.path:
        raise ValueError("multi-GPU training needs a profile read from a YAML file (load_profile)")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}", "-m", "hybridlib.cli",
        "train", "--profile", profile.path, "--home", str(paths.root), "--model", run.model.name,
        "--strategy", run.strategy.label, "--seed", str(run.seed),
    ]
    subprocess.run(command, check=True)


@_holding_home_lock
def evaluate_all(profile: Profile, paths: Paths, runs: list[RunSpec] | None = None) -> pd.DataFrame:
    """Evaluate every run on every evaluation dataset of the profile; skips results that exist for the same config.

    Args:
        profile: the profile (datasets, evaluation batch size and precision, bootstrap draws).
        paths: where the prepared datasets and the trained runs are read and the results written.
        runs: the runs to evaluate; None: all of the profile's.

    Returns:
        One status row per run: ``run`` and ``datasets`` (how many were evaluated now).
    """
    from hybridlib.encoder import load_encoder
    from hybridlib.evaluation import REPORTED, encode_task, evaluate_embeddings

    quiet_progress_bars()
    registered = {}
    if profile.prereg:  # a confirmatory profile: evaluated only after its pre-registration was committed
        from hybridlib import prereg

        registered = {"prereg": prereg.check(REPO_ROOT / profile.prereg)}
        print(f"pre-registered in {registered['prereg']['file']} at commit {registered['prereg']['commit']} "
              f"({registered['prereg']['committed_at']}), before this evaluation", flush=True)
    tasks = {d: records.RetrievalTask.read(paths.data / "eval" / d) for d in profile.eval_datasets}
    tokenized = {}  # each dataset tokenized once per tokenizer, for all the runs of its base model
    status = []
    for i, run in enumerate(runs or profile.runs(), start=1):
        todo = {}
        for dataset in tasks:
            config = {**run_config(profile, run), "dataset": dataset, "eval_batch_size": profile.eval_batch_size,
                      "eval_precision": profile.eval_precision, "eval_chunk": profile.eval_chunk,
                      "eval_pad_multiple": profile.eval_pad_multiple, **registered,
                      "metrics": {setting: list(names) for setting, names in REPORTED.items()}}  # new metrics: evaluated again
            if not _is_done(paths.eval_dir(dataset, run), config, "metrics.json"):
                todo[dataset] = config
        if not todo:
            status.append({"run": run.key, "datasets": 0})
            continue
        weights = paths.run_dir(run) / "model" if run.strategy.trains else model_source(run, paths)
        if run.strategy.trains and not Path(weights).exists():
            raise FileNotFoundError(f"{weights}: run {run.key} has no trained model; run notebook 02 first")
        model = load_encoder(weights, max_seq_length=profile.train.max_seq_length, revision=None if run.strategy.trains else run.model.load_from[1])
        for dataset, config in todo.items():
            start = time.perf_counter()
            q_emb, c_emb = encode_task(model, tasks[dataset], batch_size=profile.eval_batch_size, precision=profile.eval_precision, chunk=profile.eval_chunk, multiple=profile.eval_pad_multiple, cache=tokenized)
            result, per_query = evaluate_embeddings(tasks[dataset], q_emb, c_emb, n_boot=profile.n_boot)
            write_eval(paths.eval_dir(dataset, run), config, result, per_query)
            warnings = "".join(f"; {line}" for line in result["warnings"])  # languages the macro means treat unevenly
            print(f"[{i}] {dataset} {run.key}: {headline(result)} ({time.perf_counter() - start:.1f} s){warnings}", flush=True)
        status.append({"run": run.key, "datasets": len(todo)})
    return pd.DataFrame(status)


def write_eval(out_dir: Path, config: dict, result: dict, per_query: pd.DataFrame) -> None:
    """Write config.json, environment.json, per_query.csv.gz, then metrics.json last (it marks completion).

    Args:
        out_dir: the run's evaluation folder (`Paths.eval_dir`).
        config: the resolved run config with the dataset and the evaluation settings.
        result: `evaluation.evaluate_embeddings`' metrics dict.
        per_query: its per-query frame.
    """
    (out_dir / "metrics.json").unlink(missing_ok=True)  # a stale result must not pass for this config's
    storage.write_json(out_dir / "config.json", config)
    storage.write_json(out_dir / "environment.json", provenance.environment())
    storage.write_csv_gz(out_dir / "per_query.csv.gz", per_query)
    storage.write_json(out_dir / "metrics.json", result)


# Seconds per optimizer step (docs/speed.md), at `_REFERENCE_BATCH` pairs: smoke BERT on a 2-core CPU at batch 32
# (measured, 250 steps in 11-21 s); multilingual-e5-small on a 2-core CPU at batch 16 with frozen word embeddings,
# 192 tokens, each side of a batch in length-sorted chunks of 8 rounded up to 16 tokens, fused AdamW, bf16 autocast
# (`benchmarks/cpu_study.py`, 2026-12-07, Intel Xeon with AMX: 1.24 s a step, every step of 30 counted; the 64-token
# padded step of the snapshot's run was 0.72 s on the same machine in the same benchmark), and 27 s a run for loading
# and saving (`_RUN_OVERHEAD_SECONDS`, measured in the small-budgets run); base-size encoders at batch 100 with a hard
# negative per pair: CPU from mBERT at batch 16
# on 2 cores (measured 23.5 s, scaled); H100/H200 measured on an H200 with `compile: true` (XLM-R 0.125 s, mBERT
# 0.128 s: the slower one); A100 derived from that step and the H200's compiled profile (matmul and attention
# kernels, 60 % of the GPU's busy time, scaled by the bf16 matmul rate, 990/312; the rest by the bandwidth, 4.8/2.0
# TB/s; the host's gaps, 21 % of the step, unchanged); T4 derived from the earlier eager H200 profile the same way,
# with fp16 and the cached loss (the colab profile's setting). A100 and T4 are not measured; neither is the small
# model on a GPU.
_SECONDS_PER_STEP = {("smoke", "cpu"): 0.08, ("small", "cpu"): 1.24, ("base", "cpu"): 147.0, ("base", "t4"): 2.4,
                     ("base", "a100"): 0.31, ("base", "h100"): 0.13}
_REFERENCE_BATCH = {"smoke": 32, "small": 16, "base": 100}
_RUN_OVERHEAD_SECONDS = {("small", "cpu"): 27.0}
# On the H200, both with hard negatives: eager layers against compiled (mBERT 164.7 / 128.4 ms; XLM-R 138.3 / 124.5),
# and the cached loss at mini-batch 32 against the plain loss, both eager (XLM-R 536.7 / 138.3 ms: the mini-batches'
# forward and backward passes are each issued by the host). Applied to the H100 and A100 figures, not to the T4's.
_EAGER_FACTOR = 1.28
_CACHED_FACTOR = 3.9
# The small profiles on a 2-core CPU: seconds to evaluate one run on each dataset (encoding in bf16 and the metrics),
# at 192 tokens in batches of 128 cut into chunks of 16: derived from the 64-token figures measured in the
# small-budgets run (2026-12-07, mean of 21 runs: XQuAD-R 25.9 s, MLQA-R's every-8th subset 13.0, MTOP 5.9 and 6.6)
# scaled by the candidates' encoding time at 192 against 64 tokens in `benchmarks/cpu_study.py` (18.9 s against
# 16.2 s for XQuAD-R's held-out candidates: × 1.17; not yet measured in a run). MLQA-R's figure is for its subset of
# every 8th English article and scales with the share of articles. A fallback per three datasets for others (the
# small profile's 2026-12-02 run), and the rest of a `run_all.sh` (kernels starting, data, model loading, the top-k
# browser, tables, figures).
_EVAL_DATASET_SECONDS = {("small", "cpu"): {"xquad-r": 30.3, "mtop-parallel": 6.9, "mtop-intent": 7.7, "mlqa-r": 15.2}}
_MLQA_MEASURED_EVERY = 8
_EVAL_SECONDS = {("small", "cpu"): 94.0}
_OTHER_SECONDS = {("small", "cpu"): 160.0}


def training_seconds(profile: Profile, device: str) -> float | None:
    """Rough training wall-clock of the profile's runs on one device class (``_SECONDS_PER_STEP``); None where
    the profile's model size has no figure for that device.

    Args:
        profile: the profile whose fine-tuned runs are counted.
        device: ``"cpu"``, ``"t4"``, ``"a100"`` or ``"h100"`` (H100 and H200).
    """
    total = 0.0
    for run in profile.runs():
        if not run.strategy.trains:
            continue
        size = run.model.size
        per_step = _SECONDS_PER_STEP.get((size, device))
        if per_step is None and size == "smoke":  # the smoke model on a GPU: no faster than on a CPU in practice
            per_step = _SECONDS_PER_STEP[("smoke", "cpu")]
        elif per_step is None:
            return None
        elif size == "base" and device in ("a100", "h100"):
            per_step *= (1 if profile.train.compile else _EAGER_FACTOR) * (_CACHED_FACTOR if profile.train.cached_minibatch else 1)
        total += per_step * profile.train.batch_size / _REFERENCE_BATCH[size] * profile.settings(run).steps
        total += _RUN_OVERHEAD_SECONDS.get((size, device), 0.0)
    return total


def whole_profile_seconds(profile: Profile, device: str) -> float | None:
    """Training, evaluation and the rest of a `run_all.sh` where all three are measured (the small profile on a
    CPU); None elsewhere."""
    sizes = {run.model.size for run in profile.runs()}
    if len(sizes) != 1:
        return None
    key = (sizes.pop(), device)
    train = training_seconds(profile, device)
    if train is None or key not in _EVAL_SECONDS:
        return None
    per_dataset = _EVAL_DATASET_SECONDS.get(key, {})
    if all(d in per_dataset for d in profile.eval_datasets):
        share = {"mlqa-r": _MLQA_MEASURED_EVERY / profile.mlqa_every if profile.mlqa_every else _MLQA_MEASURED_EVERY}
        evaluation = sum(per_dataset[d] * share.get(d, 1.0) for d in profile.eval_datasets)
    else:
        evaluation = _EVAL_SECONDS[key] * len(profile.eval_datasets) / 3  # the figure is for three datasets
    return train + evaluation * len(profile.runs()) + _OTHER_SECONDS[key]


def detected_device() -> str:
    """The device class `training_seconds` knows that this machine has: its first GPU's, else ``"cpu"``."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    name = torch.cuda.get_device_name(0).lower()
    return next((d for d in ("t4", "a100", "h100") if d in name), "h100" if "h200" in name else "a100")


def duration_text(seconds: float) -> str:
    """A rough duration as `estimate_minutes` (and docs/speed.md) prints it: ~N min, ~N.N h, or ~N days."""
    if seconds < 3600:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h" if seconds < 3 * 86400 else f"~{seconds / 86400:.0f} days"


def estimate_minutes(profile: Profile) -> str:
    """Rough training wall-clock of the profile on each device class (and which one is detected here)."""
    detected = detected_device()
    trained = [r for r in profile.runs() if r.strategy.trains]
    steps = sorted({profile.settings(r).steps for r in trained}) or [profile.train.steps]
    lines = [f"estimated training time for {len(trained)} runs x {' or '.join(map(str, steps))} steps (rough, docs/speed.md):"]
    for device in ("cpu", "t4", "a100", "h100"):
        mark = "  <- detected here" if device == detected else ""
        label = "h100/h200" if device == "h100" else device
        seconds = training_seconds(profile, device)
        lines.append(f"  {label:9s} {duration_text(seconds) if seconds is not None else 'not measured'}{mark}")
    whole = whole_profile_seconds(profile, "cpu")
    if whole is not None:
        lines.append(f"whole profile on a 2-core CPU (training, {len(profile.runs())} evaluations, data, tables, "
                     f"figures): {duration_text(whole)}")
    return "\n".join(lines)


def cpu_refusal(profile: Profile) -> str | None:
    """Why not to run `profile` here: it fine-tunes base-size encoders and this machine has no GPU (None when it
    has one, when the profile trains only the smoke model, or when ``HYBRIDLIB_ALLOW_CPU=1``)."""
    base = any(r.strategy.trains and r.model.size == "base" for r in profile.runs())
    if not base or os.environ.get("HYBRIDLIB_ALLOW_CPU") == "1" or detected_device() != "cpu":
        return None
    days = training_seconds(profile, "cpu") / 86400
    return (f"profile {profile.name}: fine-tunes base-size encoders, ~{days:.0f} days of training on this machine, "
            "which has no GPU (docs/speed.md); run it on a GPU machine (on Colab: Runtime > Change runtime type > "
            "GPU, profile colab), or set HYBRIDLIB_ALLOW_CPU=1 to run it here anyway")
