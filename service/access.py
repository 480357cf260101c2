"""The one key door: every edge that takes API keys lets a request in here, and only here.

    Door.admit(Authorization header, client address) -> the key's record, or None (open)

The HTTP API's middleware (`service.api.auth`) and the MCP endpoint served alone
(`service.mcp.access`) both call it, so a key is parsed, checked and limited by one set of
rules:

- **Parsing.** `Authorization: Bearer <key>`. No header, another scheme or an empty token is
  a 401 (`UnauthorizedError`), as is an unknown or revoked key. The key is never echoed.
- **The open rule.** The door is open while no active key exists, unless keys are required
  (`serve` or `mcp --http` on a non-loopback address). An open door checks nothing: whatever
  an Authorization header holds is ignored, not refused. OpenAI SDKs, chat front-ends and
  MCP clients always send one, and with no key in the store there is nothing it could match,
  so refusing it would only break a first `newsdesk serve`. Once one key exists, every
  request needs a valid one.
- **Limits.** Each key may make `NEWSDESK_RATE_LIMIT` requests (or its own limit), a moving
  window in the `limits` library's storage. Unknown keys are limited per client address:
  each one presented counts, and past `failures` (default `FAILED_AUTH_LIMIT`) in the window
  a key this replica has not cached is refused with a 429 before the store is read, so
  made-up keys cannot make the store do unbounded work (what was read about a key, unknown
  ones included, is cached by `KeyStore` for its TTL). Both are 429 `rate-limited` with
  Retry-After.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import anyio
import limits
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from service.config import Settings
from service.errors import ConfigError, NewsdeskError, RateLimitedError, UnauthorizedError
from service.keys import SCOPES, ApiKey, KeyStore

# Unknown keys one client address may present per window before its uncached keys are
# refused unread. Real clients present one key and fail rarely; 30 a minute leaves room for
# a mistyped key and a few retries.
FAILED_AUTH_LIMIT = "30/minute"


def parse_rate(value: str) -> limits.RateLimitItem:
    try:
        return limits.parse(value)
    except ValueError:
        raise ConfigError(f"rate limit {value!r}: write it as '<count>/<second|minute|hour|day>', "
                          "e.g. '120/minute'") from None


def bearer_token(header: str | None) -> str:
    """The key in an `Authorization: Bearer <key>` header; UnauthorizedError otherwise."""
    if not header:
        raise UnauthorizedError("send an API key as 'Authorization: Bearer <key>' (create one with `newsdesk keys create`)")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("the Authorization header must be 'Bearer <key>'")
    return token


def refusal_headers(exc: NewsdeskError) -> dict[str, str]:
    """What a refusal at the door says besides its problem body: the scheme to use after a
    401, when to come back after a 429."""
    if isinstance(exc, UnauthorizedError):
        return {"WWW-Authenticate": 'Bearer realm="newsdesk"'}
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(exc.retry_after_s)}
    return {}


class RateLimits:
    """Moving-window counts in memory or in the storage `storage_uri` names (`redis://...`
    shares them between replicas): requests per key, and unknown keys per client address.
    The moving window gives a client its whole burst at once, then one request for each that
    ages out (a token bucket of that size, without a fixed window's double burst at its edge)."""

    def __init__(self, per_key: str, storage_uri: str = "memory://", *, failures: str = FAILED_AUTH_LIMIT):
        self.default = parse_rate(per_key)
        self.failures = parse_rate(failures)
        uri = storage_uri if storage_uri.startswith("async+") else "async+" + storage_uri
        try:
            self.limiter = MovingWindowRateLimiter(storage_from_string(uri))
        except Exception as exc:  # limits raises ConfigurationError, ValueError, missing-driver errors
            raise ConfigError(f"rate limit storage {storage_uri!r}: {type(exc).__name__}: {exc}") from None
        self._items: dict[str, limits.RateLimitItem] = {}

    def item(self, own: str | None) -> limits.RateLimitItem:
        if not own:
            return self.default
        if own not in self._items:
            self._items[own] = parse_rate(own)
        return self._items[own]

    async def hit(self, key_id: str, own_limit: str | None = None) -> None:
        """Count one request of this key; RateLimitedError when it is over its limit."""
        item = self.item(own_limit)
        if not await self.limiter.hit(item, "key", key_id):
            raise await self._refusal(item, ("key", key_id), "this key may make")

    async def check_address(self, address: str) -> None:
        """RateLimitedError when `address` has presented too many unknown keys lately."""
        if not await self.limiter.test(self.failures, "auth-failure", address):
            raise await self._refusal(self.failures, ("auth-failure", address), "one address may present")

    async def failed(self, address: str) -> None:
        """Count one unknown key presented from `address`."""
        await self.limiter.hit(self.failures, "auth-failure", address)

    async def _refusal(self, item: limits.RateLimitItem, identifiers: tuple[str, ...], who: str) -> RateLimitedError:
        stats = await self.limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        noun = "unknown keys" if identifiers[0] == "auth-failure" else "requests"
        return RateLimitedError(f"{who} {item.amount} {noun} per {item.multiples} {item.GRANULARITY.name}(s); "
                                f"retry in {retry_after} s", retry_after_s=retry_after)


def _ignore(_: str) -> None:
    return None


class Door:
    """Where a request's key is parsed, checked against `keys` and limited (module doc).
    `required`: every request needs a key even while none exists. `on_failure(reason)`
    ("missing", "malformed", "unknown", "rate-limited") and `on_limited(key name)` let an
    edge count refusals in its metrics."""

    def __init__(self, keys: KeyStore, limits: RateLimits, *, required: bool = False,
                 on_failure: Callable[[str], None] = _ignore, on_limited: Callable[[str], None] = _ignore):
        self.keys = keys
        self.limits = limits
        self.required = required
        self.on_failure = on_failure
        self.on_limited = on_limited

    @classmethod
    def from_settings(cls, settings: Settings, client: Any, *, required: bool, **hooks: Callable[[str], None]) -> Door:
        """The door of a serving process: keys in `settings.keys_collection` of the store
        `client` (the bootstrap key registered once), limits from the settings."""
        keys = KeyStore(client, settings.keys_collection, ttl_s=settings.key_cache_ttl_s)
        if settings.bootstrap_key is not None:
            keys.ensure(settings.bootstrap_key.get_secret_value(), "bootstrap", SCOPES)
        return cls(keys, RateLimits(settings.rate_limit, settings.rate_limit_storage_uri), required=required, **hooks)

    async def open_now(self) -> bool:
        """True while no active key exists and keys are not required. The store is read on
        a thread only when the cache cannot answer (once per TTL)."""
        if self.required:
            return False
        any_active = self.keys.cached_any()
        if any_active is None:
            any_active = await anyio.to_thread.run_sync(self.keys.any_active)
        return not any_active

    async def admit(self, authorization: str | None, address: str | None) -> ApiKey | None:
        """The record of the request's key (None: the door is open), counted against its
        rate limit. UnauthorizedError (401) or RateLimitedError (429) otherwise."""
        if await self.open_now():
            return None
        key = await self._verify(self._token(authorization), address or "-")
        try:
            await self.limits.hit(key.key_id, key.rate_limit)
        except RateLimitedError:
            self.on_limited(key.name)
            raise
        return key

    def _token(self, authorization: str | None) -> str:
        try:
            return bearer_token(authorization)
        except UnauthorizedError:
            self.on_failure("missing" if not authorization else "malformed")
            raise

    async def _verify(self, token: str, address: str) -> ApiKey:
        known, key = self.keys.cached(token)
        if not known:
            try:
                await self.limits.check_address(address)  # before the store is read
            except RateLimitedError:
                self.on_failure("rate-limited")
                raise
            key = await anyio.to_thread.run_sync(self.keys.verify, token)
        if key is None:
            await self.limits.failed(address)
            self.on_failure("unknown")
            # Never echo the key: it may be a real one pasted into the wrong place.
            raise UnauthorizedError("this API key is not valid (unknown or revoked)")
        return key
