"""Keeps Slack tokens and secrets out of log records.

Bolt logs request bodies at INFO when a signature fails, and every Slack payload carries
the legacy verification `token`; exceptions may quote whatever they were given. One filter
object is shared by the bot's logger, the Bolt loggers (Bolt copies a base logger's
filters onto each of its own) and the Web API client, and it learns the configured secrets
as bots are built, so every app in a process redacts every secret it has seen.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "[redacted]"

_PATTERNS = [
    re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"),  # bot, user and legacy tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),  # app-level (Socket Mode) tokens
    re.compile(r"(?i)(\"token\"\s*:\s*\")[^\"]*"),  # JSON bodies
    re.compile(r"(?i)('token'\s*:\s*')[^']*"),  # dict reprs
    re.compile(r"(?i)(\btoken=)[^&\s]+"),  # form bodies
]


class SecretsFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__("newsdesk-secrets")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def learn(self, secrets: Iterable[str | None]) -> None:
        with self._lock:
            # Very short values would redact ordinary words; real secrets are long.
            self._secrets.update(s for s in secrets if s and len(s) >= 8)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own reporting
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


SECRETS = SecretsFilter()


def bot_logger() -> logging.Logger:
    """The logger of the Slack interface, with the secrets filter attached once."""
    logger = logging.getLogger("service.slack")
    if SECRETS not in logger.filters:
        logger.addFilter(SECRETS)
    return logger


def bolt_base_logger() -> logging.Logger:
    """Given to Bolt as its base logger: Bolt copies its filters to every logger it makes."""
    logger = logging.getLogger("service.slack.bolt")
    if SECRETS not in logger.filters:
        logger.addFilter(SECRETS)
    return logger
