"""`newsdesk eval timelines`: timelines of running stories scored against gold timelines.

Each case (evals/timelines/cases.jsonl) names a corpus, a topic and its gold events, oldest
first, each with the articles that report it (an original and its reprints, or two outlets'
reports of one event). The gold timelines were written from the articles before the
timeline code existed. A step matches the event whose articles include its cited article
or one of its wire copies; per case:

    coverage   gold events matched by some step / gold events
    tau        Kendall's tau-a between the steps' order and the gold order, over the matched
               events (1.0: same order; each event counted at its first step)
    cited      steps whose quote is exactly article_text[start:end] / steps
    copies     gold reprint pairs shown as one step (the reprint folded under the original)
    corrections  gold corrections shown as corrections of the report they correct
    extra      steps that match no gold event (features, analyses, neighbouring stories)
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from service.config import DEFAULT_EVALS_DIR, REPO_DIR, Settings
from service.errors import EvalError
from service.evals.jsonl import read_jsonl
from service.models import Timeline

DEFAULT_TIMELINE_CASES = DEFAULT_EVALS_DIR / "timelines" / "cases.jsonl"
TARGETS = {"tau": 0.9, "coverage": 0.8, "cited": 1.0}


@dataclass(frozen=True)
class GoldEvent:
    articles: tuple[str, ...]
    date: str
    event: str
    correction_of: str | None = None


@dataclass(frozen=True)
class TimelineCase:
    id: str
    corpus: str  # a folder, relative to the repository
    topic: str
    events: tuple[GoldEvent, ...]
    copies: tuple[tuple[str, str], ...] = ()


def load_timeline_cases(path: Path) -> list[TimelineCase]:
    cases = []
    for where, raw in read_jsonl(path):
        try:
            events = tuple(GoldEvent(tuple(e["articles"]), e["date"], e["event"], e.get("correction_of"))
                           for e in raw["events"])
            cases.append(TimelineCase(raw["id"], raw["corpus"], raw["topic"], events,
                                      tuple((a, b) for a, b in raw.get("copies", []))))
        except (KeyError, TypeError, ValueError) as exc:
            raise EvalError(f"{where}: not a timeline case: {exc}") from None
    return cases


@dataclass
class TimelineScore:
    case: str
    steps: int
    coverage: float
    tau: float
    cited: float
    copies: float | None
    corrections: float | None
    extra: int
    missed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def kendall_tau(order: list[int]) -> float:
    """Tau-a of a sequence of gold ranks against sorted order (1.0 with fewer than two)."""
    pairs = list(combinations(order, 2))
    if not pairs:
        return 1.0
    concordant = sum(a < b for a, b in pairs)
    return (2 * concordant - len(pairs)) / len(pairs)


def score_timeline(case: TimelineCase, timeline: Timeline, article_texts: dict[str, str]) -> TimelineScore:
    event_of = {a: i for i, e in enumerate(case.events) for a in e.articles}
    order: list[int] = []
    extra = 0
    step_event: list[int | None] = []
    for step in timeline.steps:
        ids = [step.citation.article_id, *(c.article_id for c in step.copies)]
        hit = next((event_of[a] for a in ids if a in event_of), None)
        step_event.append(hit)
        if hit is None:
            extra += 1
        elif hit not in order:
            order.append(hit)
    cited = sum(article_texts.get(s.citation.article_id, "")[s.citation.start:s.citation.end] == s.citation.quote
                for s in timeline.steps)
    return TimelineScore(
        case=case.id, steps=len(timeline.steps), coverage=len(order) / len(case.events), tau=kendall_tau(order),
        cited=cited / len(timeline.steps) if timeline.steps else 0.0, copies=_copies(case, timeline),
        corrections=_corrections(case, timeline), extra=extra,
        missed=[e.event for i, e in enumerate(case.events) if i not in order],
    )


def _copies(case: TimelineCase, timeline: Timeline) -> float | None:
    if not case.copies:
        return None
    shown = [s.citation.article_id for s in timeline.steps]
    folded = sum(not (a in shown and b in shown) and (a in shown or b in shown) for a, b in case.copies)
    return folded / len(case.copies)


def _corrections(case: TimelineCase, timeline: Timeline) -> float | None:
    wanted = [(a, e.correction_of) for e in case.events if e.correction_of for a in e.articles[:1]]
    if not wanted:
        return None
    corrected = {s.citation.article_id: s.corrects.article_id for s in timeline.steps if s.corrects}
    return sum(corrected.get(fix) == of for fix, of in wanted) / len(wanted)


def summarise(scores: list[TimelineScore]) -> dict[str, float | None]:
    """Means over the cases; copies and corrections over the cases that have any in their gold
    (None when none has: there was nothing to show, which is not a score of 0)."""
    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "cases": len(scores),
        "coverage": mean([s.coverage for s in scores]),
        "tau": mean([s.tau for s in scores]),
        "cited": mean([s.cited for s in scores]),
        "copies": mean([s.copies for s in scores if s.copies is not None]),
        "corrections": mean([s.corrections for s in scores if s.corrections is not None]),
        "extra_steps": sum(s.extra for s in scores),
        "steps": sum(s.steps for s in scores),
    }


def run_timeline_cases(settings: Settings, cases: list[TimelineCase], console=None) -> list[TimelineScore]:
    """Each case over an index of its corpus (one collection per corpus, reused)."""
    from service.answer.timelines import TimelineBuilder
    from service.components import Components
    from service.evals.cases import load_corpus
    from service.evals.runner import prepare_index

    built: dict[str, Components] = {}
    scores = []
    for case in cases:
        if case.corpus not in built:
            corpus = load_corpus(REPO_DIR / case.corpus)
            name = "eval-tl-" + "".join(c if c.isalnum() else "-" for c in case.corpus).strip("-")[-40:]
            shared = next(iter(built.values()), None)
            built[case.corpus] = (Components(settings, shared.embedder, shared.client, name) if shared
                                  else Components.build(settings, collection=name))
            prepare_index(built[case.corpus], corpus, console)
        components = built[case.corpus]
        timeline = TimelineBuilder(components.retriever, components.store.get_article_texts).build(case.topic)
        texts = components.store.get_article_texts([s.citation.article_id for s in timeline.steps])
        scores.append(score_timeline(case, timeline, texts))
    return scores


def cmd_eval_timelines(args, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cases = load_timeline_cases(Path(args.cases) if args.cases else DEFAULT_TIMELINE_CASES)
    scores = run_timeline_cases(settings, cases, console)
    table = Table(title="timelines against the gold timelines")
    for column in ("case", "steps", "coverage", "tau", "cited", "copies", "corrections", "extra"):
        table.add_column(column)
    for s in scores:
        table.add_row(s.case, str(s.steps), f"{s.coverage:.3f}", f"{s.tau:.3f}", f"{s.cited:.3f}",
                      "—" if s.copies is None else f"{s.copies:.2f}",
                      "—" if s.corrections is None else f"{s.corrections:.2f}", str(s.extra))
    console.print(table)
    summary = summarise(scores)
    console.print(" ".join(f"{k} {'—' if v is None else v}" for k, v in summary.items()))
    for s in scores:
        for missed in s.missed:
            console.print(f"[dim]{s.case}: missed {missed}[/dim]")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "cases": [s.to_dict() for s in scores]}, indent=2))
    met = all((summary[k] or 0.0) >= v for k, v in TARGETS.items())
    return 0 if met else 1


def register(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("timelines", help="timelines of running stories against gold timelines (tau, coverage, cited)")
    p.add_argument("--cases", help="case file (default evals/timelines/cases.jsonl)")
    p.add_argument("--json", help="also write the figures to this file")
    p.set_defaults(func=cmd_eval_timelines)
