"""Block Kit messages, as pure functions of an `Answer` (no Slack client here).

Slack limits that shape this module: a section's text is at most 3000 characters, a
message at most 50 blocks, a button's `value` at most 2000 characters. Text that would
pass a limit is cut with an ellipsis rather than rejected by Slack (`invalid_blocks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.models import Answer, Citation

SECTION_LIMIT = 3000
FALLBACK_LIMIT = 3000  # the notification text; Slack allows more, but nobody reads it
MAX_SOURCES = 20  # with the answer, context and buttons this stays under 50 blocks
ELLIPSIS = "…"

EXTRACTIVE_NOTE = (
    "Extractive answer: no language model configured — the sentences below are quoted from the sources"
)
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
FOLLOW = "follow_question"

Block = dict[str, Any]


def truncate(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def escape(text: str) -> str:
    """Slack's mrkdwn control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """`<url|label>` for http(s) urls, the escaped label otherwise. `|` would end the url
    and `>` the link, so neither may appear unescaped inside."""
    label = escape(label).replace("|", "¦")
    if url and url.startswith(("http://", "https://")) and not any(c in url for c in "<>| \n"):
        return f"<{url}|{label}>"
    return label


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def context(text: str) -> Block:
    # Context elements share the section limit.
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text)}]}


def mode_note(answer: Answer) -> str | None:
    """What the reader must know about how the answer was made, said plainly."""
    if answer.degraded:
        reason = answer.degraded_reason or "no reason given"
        return f"Degraded: the language model was unavailable ({reason}); answered extractively"
    if answer.mode == "extractive":
        return EXTRACTIVE_NOTE
    return None


def quote_block(text: str) -> str:
    return "> " + escape(" ".join(text.split()))


def group_citations(citations: Sequence[Citation]) -> list[list[Citation]]:
    """One group per cited source number, in order of first citation: the core gives a
    citation per (claim, source), and the reader wants each source listed once."""
    groups: dict[int, list[Citation]] = {}
    for citation in citations:
        groups.setdefault(citation.n, []).append(citation)
    return list(groups.values())


def source_text(group: Sequence[Citation]) -> str:
    """`*[n]* <url|title>`, outlet and date, then each distinct quote from that source."""
    first = group[0]
    meta = " · ".join(x for x in (first.outlet, (first.published_at or "")[:10] or "undated") if x)
    title = truncate(first.title or first.article_id, 300)
    head = f"*[{first.n}]* {link(first.url, title)}\n{escape(meta)}"
    quotes = list(dict.fromkeys(c.quote for c in group if c.quote.strip()))
    # The quotes share what is left of the section once the heading is in.
    budget = max((SECTION_LIMIT - len(head) - 4 * len(quotes)) // max(len(quotes), 1), 80)
    lines = [quote_block(truncate(q, budget)) for q in quotes]
    return truncate("\n".join([head, *lines]))


def feedback_buttons(request_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": "newsdesk_feedback",
        "elements": [
            {
                "type": "button",
                "action_id": FEEDBACK_UP,
                "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True},
                "value": request_id,
            },
            {
                "type": "button",
                "action_id": FEEDBACK_DOWN,
                "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True},
                "value": request_id,
            },
        ],
    }


def follow_block(request_id: str) -> Block:
    """🔔 Follow: notices in this thread when the answer changes (service/slack/stories.py)."""
    return {"type": "section", "block_id": "newsdesk_follow",
            "text": {"type": "mrkdwn", "text": "Want to know when this answer changes?"},
            "accessory": {"type": "button", "action_id": FOLLOW, "value": request_id,
                          "text": {"type": "plain_text", "text": "🔔 Follow", "emoji": True}}}


def answer_blocks(answer: Answer) -> list[Block]:
    blocks: list[Block] = [section(escape(answer.answer))]
    note = mode_note(answer)
    if note:
        blocks.append(context(":information_source: " + escape(note)))
    if answer.conflicts:  # where the cited sources disagree, as the reading page marks it
        blocks.append(context(":warning: *Sources disagree.* " + escape(" ".join(answer.conflicts))))
    groups = group_citations(answer.citations)[:MAX_SOURCES]
    if groups:
        blocks.append({"type": "divider"})
        blocks.append(section("*Sources*"))
        blocks.extend(section(source_text(g)) for g in groups)
    blocks.append(follow_block(answer.request_id))
    blocks.append(context(f"request `{answer.request_id}`"))
    blocks.append(feedback_buttons(answer.request_id))
    return blocks


def answer_text(answer: Answer) -> str:
    """The plain `text` Slack shows in notifications and where blocks cannot render."""
    note = mode_note(answer)
    return truncate(answer.answer + (f"\n({note})" if note else ""), FALLBACK_LIMIT)


def placeholder_blocks(question: str) -> list[Block]:
    return [context(f":mag: Looking through the articles for: _{escape(truncate(question, 500))}_")]


def placeholder_text(question: str) -> str:
    return truncate(f"Looking through the articles for: {question}", FALLBACK_LIMIT)


def error_text(request_id: str) -> str:
    return f"Sorry, I couldn't answer that (request {request_id}). Please try again in a moment."


def error_blocks(request_id: str) -> list[Block]:
    return [section(":warning: " + escape(error_text(request_id)))]


def question_blocks(question: str, user: str) -> list[Block]:
    """The slash command's question, shown above the answer so the channel sees what was asked."""
    return [context(f"<@{user}> asked: _{escape(truncate(question, 500))}_")]
