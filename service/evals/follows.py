"""`newsdesk eval follows`: saved questions, then a write, then which were notified and what
their notices said.

Each case (evals/follows/cases.jsonl) names a corpus, the articles a write brings in
(`ingest`, held out of the index until then, with any `hold_back` that stays out), and
follows with what should happen: notified or not, the kinds of change, and words the
notice must say. The cases were written from the articles before they were run. Per corpus
the index holds the corpus without every case's held-out articles; a case makes its
follows, ingests its articles, lets the follower act, then deletes them and its follows.

    notified precision / recall   over the follows that should (not) be notified
    false notices                 follows notified that should not have been ("unchanged")
    kinds, says                   of the expected notices: a change of an expected kind;
                                  every expected word in the notice (summary and answer)
    re-answered                   follows re-answered / follows (the selection's reach)
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.config import DEFAULT_EVALS_DIR, REPO_DIR, Settings
from service.errors import EvalError
from service.evals.jsonl import read_jsonl

DEFAULT_FOLLOW_CASES = DEFAULT_EVALS_DIR / "follows" / "cases.jsonl"


@dataclass(frozen=True)
class FollowCase:
    id: str
    corpus: str
    ingest: tuple[str, ...]
    follows: tuple[dict[str, Any], ...]  # question, notified, kinds, says
    hold_back: tuple[str, ...] = ()


def load_follow_cases(path: Path) -> list[FollowCase]:
    cases = []
    for where, raw in read_jsonl(path):
        try:
            cases.append(FollowCase(raw["id"], raw["corpus"], tuple(raw["ingest"]), tuple(raw["follows"]),
                                    tuple(raw.get("hold_back", ()))))
        except (KeyError, TypeError, ValueError) as exc:
            raise EvalError(f"{where}: not a follow case: {exc}") from None
    return cases


@dataclass
class FollowOutcome:
    case: str
    question: str
    expected: bool
    notified: bool
    reanswered: bool
    kinds_ok: bool | None = None
    says_ok: bool | None = None
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Corpus:
    components: Any
    articles: dict[str, Any] = field(default_factory=dict)


def _prepare(settings: Settings, cases: list[FollowCase], console) -> dict[str, _Corpus]:
    from service.components import Components
    from service.evals.cases import Corpus, load_corpus
    from service.evals.runner import prepare_index

    out: dict[str, _Corpus] = {}
    shared = None
    for name in dict.fromkeys(c.corpus for c in cases):
        corpus = load_corpus(REPO_DIR / name)
        held = {a for c in cases if c.corpus == name for a in (*c.ingest, *c.hold_back)}
        collection = "eval-fw-" + "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")[-40:]
        components = (Components(settings, shared.embedder, shared.client, collection) if shared
                      else Components.build(settings, collection=collection))
        shared = shared or components
        prepare_index(components, Corpus([a for a in corpus.articles if a.article_id not in held]), console)
        out[name] = _Corpus(components, {a.article_id: a for a in corpus.articles})
    return out


def run_follow_case(case: FollowCase, corpus: _Corpus, settings: Settings) -> list[FollowOutcome]:
    from service.collections import Collections
    from service.follows.running import build_follows

    components = corpus.components
    # Notices go nowhere: the eval reads what was claimed, not what a channel received.
    service = build_follows(settings, Collections(components), notifiers={"slack": lambda *_: None})
    made = [service.desk.add(f["question"], {"slack_channel": "CEVAL"})[0] for f in case.follows]
    try:
        service.follower.poll()  # this replica's position: the head, before the write
        components.ingester.ingest([corpus.articles[a] for a in case.ingest])
        batches = service.follower.poll()
    finally:
        for article_id in case.ingest:
            components.store.delete_article(article_id)
        for follow in made:
            service.desk.remove(follow.follow_id)
    notices = {n.follow_id: n for b in batches for n in b.notices}
    selected = {f for b in batches for f in b.selected}
    out = []
    for follow, expected in zip(made, case.follows, strict=True):
        notice = notices.get(follow.follow_id)
        outcome = FollowOutcome(case.id, follow.question, bool(expected.get("notified")), notice is not None,
                                follow.follow_id in selected, summary=notice.summary if notice else "")
        if notice is not None and expected.get("notified"):
            said = notice.summary + " " + str(notice.answer.get("answer", ""))
            outcome.kinds_ok = bool({c["kind"] for c in notice.changes} & set(expected.get("kinds", ())))
            outcome.says_ok = all(word in said for word in expected.get("says", ()))
        out.append(outcome)
    return out


def summarise(outcomes: list[FollowOutcome]) -> dict[str, Any]:
    notified = [o for o in outcomes if o.notified]
    wanted = [o for o in outcomes if o.expected]
    hits = [o for o in wanted if o.notified]
    return {
        "follows": len(outcomes),
        "notified_precision": round(len([o for o in notified if o.expected]) / len(notified), 3) if notified else 1.0,
        "notified_recall": round(len(hits) / len(wanted), 3) if wanted else 1.0,
        "false_notices": len([o for o in notified if not o.expected]),
        "kinds": round(sum(bool(o.kinds_ok) for o in hits) / len(hits), 3) if hits else 0.0,
        "says": round(sum(bool(o.says_ok) for o in hits) / len(hits), 3) if hits else 0.0,
        "reanswered": round(sum(o.reanswered for o in outcomes) / len(outcomes), 3) if outcomes else 0.0,
    }


def cmd_eval_follows(args, settings: Settings) -> int:
    from rich.console import Console

    console = Console()
    cases = load_follow_cases(Path(args.cases) if args.cases else DEFAULT_FOLLOW_CASES)
    corpora = _prepare(settings, cases, console)
    outcomes = [o for case in cases for o in run_follow_case(case, corpora[case.corpus], settings)]
    for o in outcomes:
        mark = "ok " if o.notified == o.expected and o.kinds_ok is not False and o.says_ok is not False else "BAD"
        console.print(f"{mark} {o.case}: {o.question} — expected {'a notice' if o.expected else 'none'}, "
                      f"{'re-answered' if o.reanswered else 'not re-answered'}, "
                      f"{'notified: ' + o.summary if o.notified else 'not notified'}", highlight=False)
    summary = summarise(outcomes)
    console.print(" ".join(f"{k} {v}" for k, v in summary.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "follows": [o.to_dict() for o in outcomes]},
                                              indent=2, ensure_ascii=False))
    return 0 if summary["false_notices"] == 0 and summary["notified_recall"] == 1.0 else 1


def register(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("follows", help="saved questions, a write, and which were notified with what")
    p.add_argument("--cases", help="case file (default evals/follows/cases.jsonl)")
    p.add_argument("--json", help="also write the figures to this file")
    p.set_defaults(func=cmd_eval_follows)
