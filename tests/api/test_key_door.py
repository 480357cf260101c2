"""One key door (`service.access.Door`) for the API and the MCP endpoint served alone, over
real HTTP: the same open rule, the same 401s, per-key rate limits on both, and unknown keys
limited per client address (429 + Retry-After) before they cost a store read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI

from service.access import FAILED_AUTH_LIMIT, Door, RateLimits
from service.api.app import create_app
from service.collections import Collections
from service.components import Components
from service.keys import KeyStore
from service.mcp.http import mount_mcp
from tests.api.test_e2e import uvicorn_thread
from tests.api.test_hardening import MCP_HEADERS, assert_problem
from tests.conftest import make_article

pytestmark = pytest.mark.e2e

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def made_up(n: int) -> str:
    return f"nd_made-up-{n:040d}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def seeded(components) -> Components:
    components.ingester.ingest([make_article("a1")])
    return components.__class__(components.settings.model_copy(update={"key_cache_ttl_s": 5}),
                                components.embedder, components.client, components.collection)


@contextmanager
def both_edges(components: Components, *, required: bool = False, failures: str = FAILED_AUTH_LIMIT
               ) -> Iterator[tuple[str, str, Door]]:
    """The API (whose middleware is the door) and the MCP endpoint served alone (as `newsdesk
    mcp --http` serves it) with a door of its own; the API's door is returned."""
    api = create_app(components.settings, components, require_keys=required)
    door = Door(KeyStore(components.client, components.settings.keys_collection, ttl_s=5),
                RateLimits(components.settings.rate_limit, failures=failures), required=required)
    alone = FastAPI()
    mount_mcp(alone, Collections(components), door=door)
    with uvicorn_thread(api) as api_base, uvicorn_thread(alone) as mcp_base:
        api.state.door.limits = RateLimits(components.settings.rate_limit, failures=failures)
        yield api_base, mcp_base, api.state.door


def api_get(base: str, headers: dict | None = None) -> httpx.Response:
    return httpx.get(f"{base}/v1/articles", headers=headers or {}, timeout=60)


def mcp_post(base: str, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{base}/mcp", json=LIST_TOOLS, headers={**MCP_HEADERS, **(headers or {})}, timeout=60)


def test_with_no_key_both_edges_are_open_and_ignore_whatever_is_sent(seeded):
    with both_edges(seeded) as (api, mcp, _):
        for headers in ({}, bearer("sk-anything"), bearer(made_up(1)), {"Authorization": "Basic abc"}):
            assert api_get(api, headers).status_code == 200
            assert mcp_post(mcp, headers).status_code == 200  # was 401 for an unknown token


def test_required_keys_refuse_on_both_edges_while_none_exists(seeded):
    with both_edges(seeded, required=True) as (api, mcp, _):
        for response in (api_get(api), mcp_post(mcp), api_get(api, bearer(made_up(1))), mcp_post(mcp, bearer(made_up(1)))):
            assert_problem(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_once_a_key_exists_both_edges_check_it_and_limit_it(seeded):
    keys = KeyStore(seeded.client, seeded.settings.keys_collection)
    key, _ = keys.create("door-tight", ["ask"], rate_limit="2/minute")  # metrics are per process: a name of its own
    with both_edges(seeded) as (api, mcp, _):
        for refused in (api_get(api), mcp_post(mcp), api_get(api, bearer(made_up(1))), mcp_post(mcp, bearer(made_up(1))),
                        mcp_post(mcp, {"Authorization": f"Basic {key}"})):
            assert_problem(refused, 401, "unauthorized")
            assert key not in refused.text
        assert [api_get(api, bearer(key)).status_code for _ in range(2)] == [200, 200]
        assert [mcp_post(mcp, bearer(key)).status_code for _ in range(2)] == [200, 200]
        for limited in (api_get(api, bearer(key)), mcp_post(mcp, bearer(key))):  # each edge counts its own
            body = assert_problem(limited, 429, "rate-limited")
            assert "2 requests per 1 minute" in body["detail"] and 1 <= int(limited.headers["Retry-After"]) <= 60


def counting(door: Door) -> list[str]:
    """Every store read the door makes for a key (a `KeyStore.verify` the cache could not answer)."""
    reads: list[str] = []
    verify = door.keys.verify
    door.keys.verify = lambda token: reads.append(token) or verify(token)
    return reads


def rate_limited_failures(base: str) -> float:
    """`newsdesk_auth_failures_total{reason="rate-limited"}` (the registry is the process's)."""
    for line in httpx.get(f"{base}/metrics", timeout=60).text.splitlines():
        if line.startswith('newsdesk_auth_failures_total{reason="rate-limited"}'):
            return float(line.split()[-1])
    return 0.0


def test_made_up_keys_are_limited_per_address_before_the_store_is_read(seeded):
    keys = KeyStore(seeded.client, seeded.settings.keys_collection)
    key, _ = keys.create("desk", ["ask"])
    with both_edges(seeded, failures="5/minute") as (api, mcp, door):
        limited_before = rate_limited_failures(api)
        reads = counting(door)
        assert api_get(api, bearer(key)).status_code == 200  # read once, then cached
        for n in range(5):
            assert_problem(api_get(api, bearer(made_up(n))), 401, "unauthorized")
        assert len(reads) == 6
        for n in range(5, 25):  # a flood of new keys: refused unread
            refused = api_get(api, bearer(made_up(n)))
            assert_problem(refused, 429, "rate-limited")
            assert 1 <= int(refused.headers["Retry-After"]) <= 60 and made_up(n) not in refused.text
        assert len(reads) == 6
        assert api_get(api, bearer(made_up(0))).status_code == 401  # known unknown: cached, no read
        assert api_get(api, bearer(key)).status_code == 200  # a cached good key still gets in
        assert len(reads) == 6
        assert rate_limited_failures(api) == limited_before + 20

        # The MCP endpoint served alone, through its own door: the same rule.
        for n in range(5):
            assert_problem(mcp_post(mcp, bearer(made_up(100 + n))), 401, "unauthorized")
        limited = mcp_post(mcp, bearer(made_up(200)))
        assert_problem(limited, 429, "rate-limited")
        assert int(limited.headers["Retry-After"]) >= 1


def test_an_unknown_key_presented_again_is_read_once_per_ttl(seeded):
    keys = KeyStore(seeded.client, seeded.settings.keys_collection)
    keys.create("desk", ["ask"])
    with both_edges(seeded) as (api, _, door):
        reads = counting(door)
        assert [api_get(api, bearer(made_up(7))).status_code for _ in range(4)] == [401] * 4
        assert len(reads) == 1  # the negative answer is cached for the key cache's TTL
