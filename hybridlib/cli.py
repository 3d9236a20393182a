"""The `hybridlib` command: the pipeline's stages and tools, for scripts, clusters and torchrun.

    hybridlib plan --profile NAME                 what a profile will run (runs, data, time)
    hybridlib plan --power FOLDER [--pairs N]     seeds and items each claim needs for 80 % power
    hybridlib prepare --profile NAME              build its data (downloads for real profiles)
    hybridlib train --profile NAME --model M --strategy S --seed N     one run (works under torchrun)
    hybridlib batches --strategy S --batch-size B --steps K --seed N --data smoke|PATH --out FILE.jsonl
    hybridlib mirror --profile NAME --files DIR --out DIR [--serve PORT]   a loopback mirror of local copies
    hybridlib export-eval --dataset D --source DIR --out DIR
    hybridlib evaluate (--dataset D --source DIR | --task DIR) (--model PATH_OR_ID | --embeddings DIR) --out metrics.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy import, for annotations only
    from datasets import Dataset


def _add_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="smoke", help="configs/NAME.yaml or a YAML path (default: smoke)")
    p.add_argument("--home", default=None, help="folder for data/, results/, figures/ (default: $HYBRIDLIB_HOME or the repo)")


def cmd_plan(args: argparse.Namespace) -> int:
    from hybridlib.config import load_profile

    if args.power:
        return _plan_power(args)
    profile = load_profile(args.profile)
    if args.check_device:
        from hybridlib.pipeline import cpu_refusal

        refusal = cpu_refusal(profile)
        if refusal:
            print(f"hybridlib: {refusal}", file=sys.stderr)
            return 2
    if args.quiet:
        return 0
    runs = profile.runs()
    trained = [r for r in runs if r.strategy.trains]
    print(f"profile {profile.name}: {profile.description}")
    print(f"data: train {profile.train_source} in {', '.join(profile.train_languages)}; evaluate on {', '.join(profile.eval_datasets)}")
    steps = " or ".join(str(s) for s in sorted({profile.settings(r).steps for r in trained})) or str(profile.train.steps)
    print(f"runs: {len(runs)} ({len(trained)} fine-tuned x {steps} steps of {profile.train.batch_size} pairs)")
    for run in runs:
        print(f"  {run.key}")
    if profile.train_source != "synthetic" or set(profile.eval_datasets) - {"synthetic"}:
        from hybridlib import sources

        sources.print_download_plan(profile)
    from hybridlib.pipeline import estimate_minutes

    print(estimate_minutes(profile))
    return 0


def _plan_power(args: argparse.Namespace) -> int:
    """`hybridlib plan --power FOLDER`: the seeds and items each claim needs for 80 % power (`power.plan`)."""
    from hybridlib import power

    rows = power.variances(args.power, args.languages)
    if args.dataset:
        rows = rows[rows["dataset"] == args.dataset]
    if args.pairs:
        rows = rows[rows["pairs"] == args.pairs]
    items = {}
    for entry in args.items or []:
        dataset, _, count = entry.partition("=")
        if not count.isdigit():
            raise ValueError(f"--items takes DATASET=COUNT, e.g. xquad-r=354; got {entry!r}")
        items[dataset] = int(count)
    if rows.empty:
        raise ValueError(f"{args.power}: no claim with a difference matches --dataset / --pairs")
    print(f"Seeds and evaluation items for {power.TARGET * 100:.0f} % power, each claim at Holm's worst case (its family's "
          "5 % over its claims, two-sided); effect: δ; noncentral t with seeds − 1 df (hybridlib.power)\n")
    print(power.plan_text(power.plan(rows, items=items, effect=args.effect)))
    return 0


def cmd_failed_cell(args: argparse.Namespace) -> int:
    """Name the first cell of an executed notebook that raised, e.g. 'cell 7 (`train_all(cfg, paths)`): ValueError: ...'."""
    import nbformat

    nb = nbformat.read(args.notebook, as_version=4)
    for i, cell in enumerate(nb.cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                print(f"cell {i} (`{first[:60]}`): {out.get('ename')}: {out.get('evalue', '')[:200]}")
                return 0
    print("no cell with an error (the kernel may have died)")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from hybridlib.config import load_profile
    from hybridlib.pipeline import Paths, prepare

    if args.allow_unverified:
        import os

        os.environ["HYBRIDLIB_ALLOW_UNVERIFIED"] = "1"
    profile = load_profile(args.profile)
    print(prepare(profile, Paths.for_profile(profile, args.home)).to_string())
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from hybridlib.config import RunSpec, load_profile
    from hybridlib.pipeline import Paths, train_all
    from hybridlib.samplers import Strategy

    profile = load_profile(args.profile)
    run = RunSpec(profile.model(args.model), Strategy.parse(args.strategy), args.seed)
    train_all(profile, Paths.for_profile(profile, args.home), runs=[run])
    return 0


def cmd_batches(args: argparse.Namespace) -> int:
    """Write the batches a strategy would draw: one JSON object per (step, rank)."""
    from hybridlib import storage
    from hybridlib.samplers import (
        BatchPlan,
        Strategy,
        batch_kinds,
        batch_mix,
        group_sources,
        index_from_pair_dataset,
        iter_steps,
    )

    rows = _training_rows(args.data)
    languages = args.languages
    if args.profile:  # the profile's languages in its order: the order decides the draws, as in training
        from hybridlib.config import load_profile

        languages = ",".join(load_profile(args.profile).train_languages)
    pairs = _pair_dataset(rows, languages)
    index = index_from_pair_dataset(pairs)
    strategy = Strategy.parse(args.strategy if args.alpha is None else f"hybrid-{args.alpha}")
    sources = group_sources(pairs, index) if args.mix_sources else None
    plan = BatchPlan(index, strategy, args.batch_size * args.world_size, args.seed, sources=sources)
    group_names = _group_names(rows)
    langs = index.languages
    lines = []
    for step, (epoch, batch) in enumerate(iter_steps(plan, args.steps)):
        for rank in range(args.world_size):
            part = slice(rank * args.batch_size, (rank + 1) * args.batch_size)
            rows_out = [
                {"pair_id": group_names[g], "query_lang": langs[q], "passage_lang": langs[p]}
                for g, q, p in zip(batch.groups[part], batch.query_lang[part], batch.passage_lang[part])
            ]
            lines.append({"step": step, "rank": rank, "epoch": epoch, "kind": batch.kind, "rows": rows_out})
    storage.write_jsonl(args.out, lines)
    print(plan.describe())
    mix = batch_mix(batch_kinds(plan, args.steps))
    print("batches drawn: " + ", ".join(f"{kind} {n / args.steps:.0%}" for kind, n in mix.items()))
    print(f"wrote {len(lines)} batches ({args.steps} steps x {args.world_size} ranks) to {args.out}")
    return 0


def _training_rows(data: str) -> Dataset:
    """One's own training rows (`records.read_training_rows`: a .jsonl file, a folder of them, a saved dataset, a
    prepared training set), or for 'smoke' the smoke profile's synthetic training split (same world, same languages)."""
    from hybridlib import records

    if data != "smoke":
        return records.read_training_rows(data)
    from datasets import Dataset

    from hybridlib import synthetic
    from hybridlib.config import load_profile

    profile = load_profile("smoke")
    world = synthetic.World(synthetic.WorldSpec(**profile.synthetic))
    return Dataset.from_list(synthetic.training_rows(world, profile.train_languages))


def _pair_dataset(rows: Dataset, languages: str | None) -> Dataset:
    from hybridlib.training import pair_dataset

    langs = tuple(languages.split(",")) if languages else tuple(sorted(set(rows["lang"])))
    return pair_dataset(rows, langs, hard_negatives=False)


def _group_names(rows: Dataset) -> list[str]:
    import pandas as pd

    _, names = pd.factorize(pd.Series(rows["pair_id"]))
    return [str(n) for n in names]


def cmd_mirror(args: argparse.Namespace) -> int:
    """Lay out local copies of a profile's files as a mirror (matched by sha256) and optionally serve it on 127.0.0.1."""
    from hybridlib import download, sources
    from hybridlib.config import load_profile

    profile = load_profile(args.profile)
    entries = sources.remote_files(profile)
    missing = download.lay_out_mirror(entries, [Path(f) for f in args.files], Path(args.out))
    print(f"mirror {args.out}: {len(entries) - len(missing)} of {len(entries)} files of profile {profile.name}")
    for entry in missing:
        print(f"  missing {entry.name}: no file of {entry.size} bytes with sha256 {entry.sha256} under {', '.join(args.files)}")
    if missing:
        return 2
    if args.serve is not None:
        import functools
        import http.server

        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=args.out)
        with http.server.ThreadingHTTPServer(("127.0.0.1", args.serve), handler) as server:
            print(f"serving; set HYBRIDLIB_MIRROR=http://127.0.0.1:{server.server_address[1]} (Ctrl-C stops)", flush=True)
            server.serve_forever()
    return 0


def _task(args: argparse.Namespace):  # noqa: ANN202
    """The task to score: a task folder (``--task``: hybridlib's or MTEB's format) or a published dataset."""
    from hybridlib import records, sources

    if getattr(args, "task", None):
        return records.RetrievalTask.read_folder(Path(args.task))
    if not args.dataset or not args.source:
        raise ValueError("name the data: --task DIR, or --dataset D with --source DIR")
    return sources.load_task(args.dataset, Path(args.source))


def cmd_export_eval(args: argparse.Namespace) -> int:
    task = _task(args)
    task.write(args.out)
    print(f"wrote {len(task.queries)} queries and {len(task.candidates)} candidates ({', '.join(task.languages)}) to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from hybridlib import provenance, storage
    from hybridlib.encoder import prompts_for
    from hybridlib.evaluation import check_embeddings, encode_task, evaluate_embeddings, load_embeddings

    task = _task(args)
    prompts = max_length = None  # the prompts and length the texts were encoded with (unknown for embeddings)
    if args.embeddings:
        q_emb, c_emb = load_embeddings(args.embeddings)
    else:
        from hybridlib.encoder import load_encoder

        model = load_encoder(args.model, max_seq_length=args.max_seq_length)
        # the prompts by encoder.prompts_for's rule; none for a model trained without them
        prompts = prompts_for(model, not args.no_prefixes)
        max_length = model.max_seq_length
        q_emb, c_emb = encode_task(model, task, batch_size=args.batch_size, prefixes=not args.no_prefixes)
    try:  # before anything is written
        check_embeddings(task, q_emb, c_emb)
    except ValueError as e:
        raise ValueError(f"{args.embeddings or args.model}: {e}") from e
    result, per_query = evaluate_embeddings(task, q_emb, c_emb, n_boot=args.n_boot)
    result["source"] = {"model": args.model, "embeddings": args.embeddings, "dataset_dir": str(args.task or args.source),
                        "prefixes": not args.no_prefixes if args.model else None,
                        "prompts": prompts, "max_seq_length": max_length}
    result["environment"] = provenance.environment()
    out = Path(args.out)
    storage.write_json(out, result)
    storage.write_csv_gz(out.with_name(out.stem + "_per_query.csv.gz"), per_query)
    line = {s: round(result[s]["map"]["mean"], 4) for s in ("mono", "cross", "multi") if result[s]}
    print(json.dumps({**line, **({"warnings": result["warnings"]} if result["warnings"] else {})}, ensure_ascii=False))
    return 0


def _add_task(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=["xquad-r", "mlqa-r", "mtop-parallel", "mtop-intent"], help="a published dataset (with --source)")
    p.add_argument("--source", help="folder with the dataset's files as published (MTOP: the zip or mtop/)")
    p.add_argument("--task", help="instead: a task folder of your own (queries.jsonl, candidates.jsonl, task.json; or MTEB's queries.jsonl, corpus.jsonl, qrels/test.tsv with a lang field; docs/library.md)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybridlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plan", help="print what a profile will run")
    _add_profile(p)
    p.add_argument("--quiet", action="store_true", help="only validate the profile")
    p.add_argument("--check-device", action="store_true",
                   help="exit 2 if the profile fine-tunes base-size encoders and no GPU is visible (HYBRIDLIB_ALLOW_CPU=1: go ahead)")
    p.add_argument("--power", metavar="FOLDER", help="instead: the seeds and items each claim needs for 80 %% power, from "
                   "FOLDER's summary.csv and tables/comparisons.csv (a results folder after its tables, or a snapshot)")
    p.add_argument("--dataset", help="with --power: this dataset's claims only")
    p.add_argument("--pairs", type=int, help="with --power: the claims at this training budget only (pairs, summary.csv)")
    p.add_argument("--items", action="append", metavar="DATASET=COUNT",
                   help="with --power: the current evaluation items of a dataset, where comparisons.csv does not say (repeatable)")
    p.add_argument("--languages", default="all", choices=["all", "unseen"], help="with --power: which query languages' claims")
    p.add_argument("--effect", default="margin", choices=["margin", "observed"],
                   help="with --power: plan for δ (default) or for the observed distance from each null's boundary")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("failed-cell", help="name the failing cell of an executed notebook")
    p.add_argument("notebook")
    p.set_defaults(func=cmd_failed_cell)

    p = sub.add_parser("prepare", help="download, verify and build a profile's data")
    _add_profile(p)
    p.add_argument("--allow-unverified", action="store_true", help="accept files whose sha256 differs from the registry (recorded)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="fine-tune one run of a profile (use under torchrun for several GPUs)")
    _add_profile(p)
    p.add_argument("--model", required=True)
    p.add_argument("--strategy", required=True, help="en, xx-mixed, xx-mono, xy, hybrid-ALPHA")
    p.add_argument("--seed", type=int, required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("batches", help="write the batches a strategy draws, one JSON line per (step, rank)")
    p.add_argument("--strategy", required=True)
    p.add_argument("--alpha", type=float, default=None, help="hybrid's xx-mono probability (implies --strategy hybrid)")
    p.add_argument("--batch-size", type=int, required=True, help="pairs per rank")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--world-size", type=int, default=1)
    p.add_argument("--data", default="smoke", help="'smoke' (synthetic training split), or training rows: a .jsonl file, a folder of them or a saved dataset (docs/library.md)")
    p.add_argument("--languages", default=None, help="comma-separated training languages, in the training's order (default: all in the data, sorted)")
    p.add_argument("--profile", default=None, help="take the languages, in order, from this profile (what its runs draw)")
    p.add_argument("--mix-sources", action="store_true", help="each batch from one source dataset, drawn in proportion to its size")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_batches)

    p = sub.add_parser("mirror", help="lay out local copies of a profile's files as a download mirror, and serve it")
    _add_profile(p)
    p.add_argument("--files", action="append", required=True, help="a folder holding copies of the files (repeatable)")
    p.add_argument("--out", required=True, help="the mirror folder to write")
    p.add_argument("--serve", type=int, default=None, metavar="PORT", help="then serve it on 127.0.0.1:PORT (0: any free port)")
    p.set_defaults(func=cmd_mirror)

    p = sub.add_parser("export-eval", help="write queries.jsonl / candidates.jsonl of an evaluation dataset")
    _add_task(p)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export_eval)

    p = sub.add_parser("evaluate", help="score a model or precomputed embeddings under the LAReQA protocol")
    _add_task(p)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--model", help="a local folder or hub id (mean pooling, query:/passage: prefixes)")
    group.add_argument("--embeddings", help="folder with queries.npy and candidates.npy (float32, export order)")
    p.add_argument("--no-prefixes", action="store_true", help="encode without prompts (a model trained without them); by default the model's own, else mE5's query: / passage: (docs/library.md)")
    p.add_argument("--max-seq-length", type=int, default=None,
                   help="cut texts at this many tokens (default: the model's own limit, as the evaluator and the trainer read it); metrics.json records it")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hybridlib.download import DownloadError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, DownloadError) as e:
        print(f"hybridlib {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
