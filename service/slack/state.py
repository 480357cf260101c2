"""The Chroma collections the bot shares between its processes (and with the eval suite).

Bot processes keep nothing in memory that another process needs: which events were
handled, which threads hold answers and the readers' feedback all live in Chroma, next
to the articles (embedded, or a `chroma run` server when there are several processes).
The records carry no meaningful vector; each gets the trivial embedding `[1.0]`.
"""

from __future__ import annotations

from service.errors import StoreUnavailableError
from service.store import _VectorsGiven

EVENTS_COLLECTION = "newsdesk-slack-events"
ANSWERS_COLLECTION = "newsdesk-slack-answers"
FEEDBACK_COLLECTION = "newsdesk-feedback"

NO_VECTOR = [1.0]


def open_collection(client, name: str, purpose: str):
    try:
        # The embedding function never embeds: Chroma must not fall back to its
        # default one, which downloads a model.
        return client.get_or_create_collection(
            name, embedding_function=_VectorsGiven(), metadata={"purpose": purpose}
        )
    except Exception as exc:  # chromadb raises its own types and plain ValueErrors
        raise StoreUnavailableError(f"cannot open collection {name!r}: {exc}") from exc
