"""The Chroma collections the bot shares between its processes (and with the eval suite).

Bot processes keep nothing in memory that another process needs: which events were
handled, which threads hold answers and the readers' feedback (`service.feedback`, shared with
the reading page) all live in Chroma, next to the articles (embedded, or a `chroma run`
server when there are several processes). They are record collections
(`service.index.client.open_records`): no meaningful vectors.
"""

from __future__ import annotations

EVENTS_COLLECTION = "newsdesk-slack-events"
ANSWERS_COLLECTION = "newsdesk-slack-answers"
