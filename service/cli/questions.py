"""`newsdesk ask` checks a question exactly as `POST /v1/ask` does: with the API's own
request model, so the two cannot drift apart (an empty question, one over
MAX_QUESTION_CHARS, a top_k out of range are refused by both)."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from service.api.schemas import AskRequest
from service.errors import NewsdeskError


def check_ask(question: str, top_k: int | None = None) -> None:
    """One line (a NewsdeskError) for what the API would answer with a 422."""
    try:
        AskRequest.model_validate({"question": question, "top_k": top_k})
    except ValidationError as exc:
        raise NewsdeskError(_message(exc.errors(include_url=False)[0], question)) from None


def _message(error: ErrorDetails, question: str) -> str:
    field = ".".join(str(p) for p in error["loc"])
    if field == "question" and error["type"] == "string_too_short":
        return "the question is empty: ask something, e.g. newsdesk ask \"Who leads Microsoft AI?\""
    if field == "question" and error["type"] == "string_too_long":
        limit = error["ctx"]["max_length"]
        return f"the question has {len(question.strip()):,} characters, over the limit of {limit:,}"
    if field == "top_k":
        return f"--top-k: {error['msg']}"
    return f"{field}: {error['msg']}"
