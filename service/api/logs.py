"""JSON-lines logs for the server: one object per line, with the fields the access log
sets (request_id, key name, route, method, status, duration_ms, timings_ms) as members.

`configure_logging()` sends the root logger's records to stderr through `JsonFormatter`
and lets uvicorn's own loggers propagate to it, so `serve` prints every line once, in one
format. Anything that looks like an API key (`nd_...`) or a bearer token is redacted from
messages and tracebacks before they are written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

REDACTED = "[redacted]"
_SECRETS = [
    re.compile(r"\bnd_[A-Za-z0-9_-]{16,}"),  # newsdesk API keys
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),  # any bearer token
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style keys
]
# The members `extra=` may set on a record and the formatter copies into the line.
FIELDS = ("request_id", "key", "route", "method", "path", "status", "duration_ms", "timings_ms")


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # newsdesk writes its own access line (with the request id and key name): uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "httpcore", "chromadb", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
