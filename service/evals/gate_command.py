"""`newsdesk eval train-gate`: retrain the answerability gate in one command.

    evals/gate/datasets.yaml -> each dataset indexed into its own collection, its questions
    assessed (service/evals/gate_data.py) -> out-of-fold figures, thresholds, the final fit
    (service/evals/gate_training.py) -> service/answer/gate_model.json and evals/gate/report.md
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from service.config import Settings
from service.errors import EvalError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "service" / "answer" / "gate_model.json"
DEFAULT_REPORT = ROOT / "evals" / "gate" / "report.md"


def _components_for(settings: Settings, data, console):
    """Components over a collection holding exactly `data.articles` (ingested when needed)."""
    from service.components import Components
    from service.evals.cases import Corpus
    from service.evals.runner import prepare_index

    components = Components.build(settings, collection=data.collection or f"gate-{data.name}")
    if data.collection and components.store.count_articles() >= len(data.articles):
        return components  # a BEIR collection `newsdesk eval beir` built
    prepare_index(components, Corpus(data.articles), console)
    return components


def build_examples(args, settings: Settings, console) -> list:
    from service.evals.gate_data import load_datasets
    from service.evals.progress import bar as _progress

    datasets, synthetic = load_datasets(ROOT / "evals" / "gate" / "datasets.yaml", ROOT, Path(args.shared),
                                        only=args.only or (), warn=lambda m: console.print(f"[yellow]{m}"))
    if not datasets:
        raise EvalError("no gate dataset found: check --shared and evals/gate/datasets.yaml")
    examples: list = []
    from service.evals.gate_data import examples_of

    for data in datasets:
        components = _components_for(settings, data, console)
        with _progress(console, f"assessing {data.name}", len(data.items)) as progress:
            task = progress.add_task(data.name, total=len(data.items))
            examples += examples_of(components, data, synthetic, progress=lambda t=task: progress.advance(t))
    return examples


def _summary(examples, p, thresholds, relevance, platt) -> dict[str, Any]:
    from service.evals import gate_training as gt

    y = np.array([e.label for e in examples])
    real = np.array(["synthetic" not in e.dataset for e in examples])
    info: dict[str, Any] = {
        "trained_on": {d: {"questions": sum(e.dataset == d for e in examples),
                           "answerable": sum(e.dataset == d and e.label == 1 for e in examples)}
                       for d in sorted({e.dataset for e in examples})},
        "thresholds": thresholds,
        "out_of_fold": gt.rates_by_dataset(examples, p, thresholds, relevance),
        # Real questions only: the perturbed copies are a training device, not a population.
        "reliability": gt.reliability(p[real], y[real]),
        "platt": platt,
    }
    for held in ("multihop-dev", "eval", "squad2-excerpt"):
        if any(e.dataset == held for e in examples):
            idx, q = gt.left_out(examples, held)
            q = gt.calibrate(q, platt)
            part = [examples[i] for i in idx]
            info.setdefault("left_out", {})[held] = gt.rates_by_dataset(part, q, thresholds, relevance)
    return info


def cmd_train_gate(args, settings: Settings, *, console=None) -> int:
    from rich.console import Console

    from service.evals import gate_training as gt
    from service.evals.gate_report import print_report, write_report

    console = console or Console()
    cache = Path(args.examples) if args.examples else None
    if cache and cache.is_file() and not args.refresh:
        examples = pickle.loads(cache.read_bytes())
        console.print(f"read {len(examples)} assessed questions from {cache}")
    else:
        examples = build_examples(args, settings, console)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(examples))
    relevance = settings.relevance_threshold
    raw = gt.out_of_fold(examples)
    platt = gt.calibration(raw, examples)
    p = gt.calibrate(raw, platt)
    thresholds = {mode: gt.choose_threshold(examples, p, relevance, limit)
                  for mode, limit in gt.MAX_FALSE_REFUSALS.items()}
    info = _summary(examples, p, thresholds, relevance, platt)
    models = gt.fit(examples)
    Path(args.out).write_text(gt.model_file({**models, "platt": platt}, thresholds, info), encoding="utf-8")
    write_report(Path(args.report), info)
    print_report(console, info)
    console.print(f"model written: {args.out}; report: {args.report}")
    return 0


def register(kinds) -> None:
    t = kinds.add_parser("train-gate", help="retrain the answerability gate (needs the dev extra: scikit-learn)")
    t.add_argument("--shared", default=str(ROOT.parent / "shared" / "benchmarks"),
                   help="folder holding the shared benchmarks (multihop-rag, scifact)")
    t.add_argument("--only", action="append", metavar="DATASET", help="train on this dataset only (repeatable)")
    t.add_argument("--examples", help="keep the assessed questions in this file and reuse them (a cache)")
    t.add_argument("--refresh", action="store_true", help="assess the questions again even when --examples exists")
    t.add_argument("--out", default=str(DEFAULT_MODEL), help="where to write the model")
    t.add_argument("--report", default=str(DEFAULT_REPORT), help="where to write the report")
    t.set_defaults(func=cmd_train_gate)
