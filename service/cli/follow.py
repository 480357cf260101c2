"""`newsdesk follow add/list/remove/notices` and `newsdesk timeline TOPIC`.

The CLI works on the store directly, as `newsdesk keys` does: whoever runs it administers
this deployment, so it sees every follow. Notices are sent by `newsdesk serve` (any replica),
which follows the change feed; the CLI only makes, lists and removes follows.
"""

from __future__ import annotations

import argparse
import json

from service.config import Settings
from service.errors import NewsdeskError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("follow", help="saved questions that notify when their answer changes (served by `serve`)")
    kinds = p.add_subparsers(dest="follow_command", required=True)

    a = kinds.add_parser("add", help="follow a question; prints its answer now and, for a webhook, its secret")
    a.add_argument("question")
    target = a.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook", help="POST notices here, signed (docs/follows.md)")
    target.add_argument("--slack-channel", help="post notices in this Slack channel (id)")
    a.add_argument("--thread", help="with --slack-channel: post in this thread (its ts)")
    a.add_argument("--secret", help="the webhook's signing secret (default: one is made and printed once)")
    a.add_argument("--collection")
    a.add_argument("--after", help="only articles published on/after this date")
    a.add_argument("--before", help="only articles published before this date")
    a.add_argument("--source", action="append", help="only this outlet (repeatable)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_follow_add)

    ls = kinds.add_parser("list", help="every follow")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_follow_list)

    rm = kinds.add_parser("remove", help="stop following")
    rm.add_argument("follow_id")
    rm.set_defaults(func=cmd_follow_remove)

    n = kinds.add_parser("notices", help="what a follow's notices said, and how their delivery went")
    n.add_argument("follow_id")
    n.add_argument("--json", action="store_true")
    n.set_defaults(func=cmd_follow_notices)

    t = sub.add_parser("timeline", help="how a story developed: dated steps, each a cited sentence")
    t.add_argument("topic")
    t.add_argument("--collection")
    t.add_argument("--after", help="only articles published on/after this date")
    t.add_argument("--before", help="only articles published before this date")
    t.add_argument("--source", action="append", help="only this outlet (repeatable)")
    t.add_argument("--max-steps", type=int, default=24)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_timeline)


def _filters(args) -> dict[str, object] | None:
    found = {"published_after": args.after, "published_before": args.before, "sources": args.source}
    return {k: v for k, v in found.items() if v} or None


def _desk(settings: Settings, collection: str | None = None):
    from service.collections import Collections
    from service.components import Components
    from service.follows.running import build_follows

    components = Components.build(settings, collection=collection)
    return build_follows(settings, Collections(components)).desk


def cmd_follow_add(args, settings: Settings) -> int:
    notify = ({"webhook": args.webhook, "secret": args.secret} if args.webhook
              else {"slack_channel": args.slack_channel, "slack_thread_ts": args.thread})
    follow, answer = _desk(settings, args.collection).add(
        args.question, {k: v for k, v in notify.items() if v}, filters=_filters(args), collection=args.collection)
    if args.json:
        print(json.dumps({**follow.public(), "secret": follow.notify.secret, "answer": answer.to_dict()},
                         indent=2, ensure_ascii=False))
        return 0
    print(f"following {follow.follow_id} in {follow.collection!r}: {follow.question}")
    if follow.notify.secret:
        print(f"webhook secret (shown once): {follow.notify.secret}")
    print(f"answer now: {answer.answer}")
    return 0


def cmd_follow_list(args, settings: Settings) -> int:
    follows = _desk(settings).list_follows()
    if args.json:
        print(json.dumps([f.public() for f in follows], indent=2, ensure_ascii=False))
        return 0
    for f in follows:
        where = f.notify.webhook or f"slack {f.notify.slack_channel}"
        print(f"{f.follow_id}  {f.collection}  {f.revision} notice(s)  {where}  {f.question}")
    if not follows:
        print("no follows")
    return 0


def cmd_follow_remove(args, settings: Settings) -> int:
    follow = _desk(settings).remove(args.follow_id)
    print(f"removed {follow.follow_id}: {follow.question}")
    return 0


def cmd_follow_notices(args, settings: Settings) -> int:
    notices = _desk(settings).notices_of(args.follow_id)
    if args.json:
        print(json.dumps([n.public() for n in notices], indent=2, ensure_ascii=False))
        return 0
    for n in notices:
        print(f"{n.created_at}  {n.status} after {n.attempts} attempt(s)  {n.summary}")
    if not notices:
        print("no notices yet")
    return 0


def cmd_timeline(args, settings: Settings) -> int:
    from service.answer.timeline import format_date
    from service.answer.timelines import TimelineBuilder
    from service.components import Components
    from service.models import Filters

    try:
        filters = Filters.from_mapping(_filters(args))
    except ValueError as exc:
        raise NewsdeskError(f"bad filter: {exc}") from None
    components = Components.build(settings, collection=args.collection)
    built = TimelineBuilder(components.retriever, components.store.get_article_texts,
                            max_steps=args.max_steps).build(args.topic, filters)
    if args.json:
        print(json.dumps(built.to_dict(), indent=2, ensure_ascii=False))
        return 0
    for n, step in enumerate(built.steps, start=1):
        c = step.citation
        label = "correction" if step.corrects else ("dated by the event" if step.dated_by == "event" else "article date")
        print(f"{format_date(step.date) or 'undated'} ({label})  [{n}] {c.quote}")
        copies = f"; also {', '.join(r.outlet or r.article_id for r in step.copies)}" if step.copies else ""
        print(f"    {c.title} ({', '.join(x for x in (c.outlet, (c.published_at or '')[:10]) if x)}{copies}), "
              f"chars {c.start}-{c.end} of {c.article_id}" + (f"; {step.note}" if step.note else ""))
    if not built.steps:
        print("no articles tell this story")
    return 0
