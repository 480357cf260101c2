"""Small running stories for the follow tests: a report, later a correction of it, a new
report on another story, and a story nobody follows."""

from __future__ import annotations

from datetime import UTC, datetime

from service.models import Article

BRIDGE_Q = "How much will the Elm Street Bridge repair cost?"
MANAGER_Q = "Who will manage the Riverton Athletic youth academy?"
FERRY_Q = "When will the Gullhaven ferry resume service?"


def article(article_id: str, title: str, text: str, day: int, outlet: str = "The Riverton Gazette") -> Article:
    return Article(article_id=article_id, title=title, text=text, outlet=outlet,
                   published_at=datetime(2025, 3, day, 9, tzinfo=UTC))


BRIDGE = article(
    "gazette-bridge-cost", "Elm Street Bridge repair to cost $12 million",
    "RIVERTON — Repairing the Elm Street Bridge will cost $12 million, the city's public works department said on "
    "Monday, and the bridge will stay closed to trucks until the work is finished next year.\n\n"
    "Engineers found corroded steel in two of the bridge's five spans during an inspection in January. "
    "The council will vote on the contract next month.", 3)
BRIDGE_FIX = article(
    "gazette-bridge-correction", "Correction: Elm Street Bridge repair will cost $21 million, not $12 million",
    "An article published by The Riverton Gazette on Monday, March 3, misstated the cost of repairing the Elm "
    "Street Bridge. The repair will cost $21 million, not $12 million as reported. The Gazette regrets the error.", 6)
ACADEMY = article(
    "gazette-academy", "Riverton Athletic youth academy gets new head",
    "RIVERTON — Riverton Athletic named former captain Maria Oduya to manage its youth academy on Tuesday, "
    "replacing Tom Fenner, who left for a coaching job abroad.\n\nOduya will start in April.", 4)
FERRY = article(
    "gazette-ferry", "Gullhaven ferry suspended after engine failure",
    "GULLHAVEN — The Gullhaven ferry was suspended on Wednesday after an engine failure, and the operator said "
    "service would not resume before the end of the month.\n\nCommuters were told to use the coast road.", 5)
FERRY_UPDATE = article(
    "standard-ferry-returns", "Gullhaven ferry to resume service on March 20",
    "GULLHAVEN — The Gullhaven ferry will resume service on March 20 after repairs to its engine were completed "
    "ahead of schedule, the operator said on Friday.\n\nThe first crossing leaves at 6:40 a.m.", 7,
    outlet="The Evening Standard-Post")
UNRELATED = article(
    "gazette-bake-sale", "School bake sale raises record sum",
    "RIVERTON — Pupils at Hillcrest Primary raised $4,200 at their spring bake sale on Thursday, a school record. "
    "The money will pay for new library books.", 6)
