"""Webhook notices: signed with HMAC-SHA256, sent only to addresses the guard allows.

The contract (docs/follows.md): a POST of the notice as JSON, with

    X-Newsdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the follow's secret>
    X-Newsdesk-Notice-Id: <follow id>:<revision>     the same on every retry: drop repeats by it
    X-Newsdesk-Attempt:   1, 2, ...

Any 2xx is delivered. 408, 425, 429, 5xx and network errors are retried with backoff
(Retry-After honoured); any other status, a redirect, or an address the guard refuses,
fails the notice for good.

The guard is the feed watcher's (`page_refusal`): a webhook is a URL someone typed into a
request, and newsdesk must not be made to POST to its own network (a metadata service, an
admin port). Only hosts whose every address is public are allowed, unless the host is
listed in `NEWSDESK_WEBHOOK_ALLOW_HOSTS` (private networks, tests). It is checked when
the follow is made and again before each attempt (a name can come to resolve elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from service.follows.notices import Notice
from service.follows.records import Follow
from service.ingest.watch import page_refusal, retry_after_s

USER_AGENT = "newsdesk-webhook/1"
SIGNATURE_HEADER = "X-Newsdesk-Signature"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(Exception):
    """A notice not delivered: `retryable` says whether another attempt may succeed."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None, tolerance_s: float = 300) -> bool:
    """What a receiver does: the signature matches and is recent (replays are refused)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")


def allow_list(value: str | Iterable[str] | None) -> frozenset[str]:
    """`NEWSDESK_WEBHOOK_ALLOW_HOSTS`: comma-separated host names or addresses."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return frozenset(i.strip().lower().strip("[]") for i in items if i and i.strip())


def webhook_refusal(url: str, allowed: frozenset[str]) -> str | None:
    """Why newsdesk must not POST to `url`, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) address"
    if parts.username or parts.password:
        return "credentials in the address are not allowed (use the signature to authenticate)"
    if parts.hostname.lower() in allowed:
        return None
    # The feed watcher's guard, without its exception for the feed's own host.
    refusal = page_refusal(url, feed_url="")
    if refusal and "non-public" in refusal:
        return f"{refusal.split(', and not')[0]}; list the host in NEWSDESK_WEBHOOK_ALLOW_HOSTS to allow it"
    return refusal


class WebhookNotifier:
    def __init__(self, allowed: frozenset[str], *, http: httpx.Client | None = None, timeout_s: float = 10.0):
        self.allowed = allowed
        # Redirects are not followed: each hop would need the guard, and a receiver has no
        # reason to move a notice elsewhere.
        self.http = http or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0), follow_redirects=False,
                                         headers={"User-Agent": USER_AGENT})

    def __call__(self, follow: Follow, notice: Notice, attempt: int) -> None:
        url, secret = follow.notify.webhook, follow.notify.secret
        if not url or not secret:
            raise DeliveryError("the follow has no webhook", retryable=False)
        refusal = webhook_refusal(url, self.allowed)
        if refusal:
            raise DeliveryError(f"webhook refused: {refusal}", retryable=False)
        body = json.dumps(notice.payload(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body, int(time.time())),
                   "X-Newsdesk-Notice-Id": notice.notice_id, "X-Newsdesk-Attempt": str(attempt)}
        try:
            response = self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}", retryable=True) from None
        if 200 <= response.status_code < 300:
            return
        retryable = response.status_code in RETRYABLE_STATUS
        raise DeliveryError(f"webhook answered HTTP {response.status_code}", retryable=retryable,
                            retry_after=retry_after_s(response.headers.get("Retry-After"), time.time()))

    def close(self) -> None:
        self.http.close()
