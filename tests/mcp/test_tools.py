"""The MCP tools through the official `mcp` client: over stdio against a `newsdesk mcp`
subprocess, and over streamable HTTP against the endpoint mounted in an ASGI app served by
uvicorn on loopback (with keys and scopes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from fastapi import FastAPI
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from service.access import Door, RateLimits
from service.cli.commands import build_server_app
from service.collections import Collections
from service.components import Components
from service.keys import KeyStore
from service.mcp.http import mount_mcp
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import make_article
from tests.mcp.conftest import ARTICLES

NEWSDESK = shutil.which("newsdesk", path=str(Path(sys.executable).parent))
TOOLS = {"ask", "search", "get_article"}


def payload(result) -> dict:
    assert not result.is_error, result.content
    data = result.structured_content
    # The same object is sent as text for clients that read only `content`.
    assert json.loads(result.content[0].text) == data
    return data


async def exercise(client: Client) -> dict[str, dict]:
    """List the tools and call each one as an agent would; return what came back."""
    listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    schemas = {t.name: t.input_schema for t in listed.tools}
    assert schemas["ask"]["required"] == ["question"] and "outlets" in schemas["ask"]["properties"]
    found = payload(await client.call_tool("search", {"query": "harbour dredging plan for container ships"}))
    asked = payload(await client.call_tool("ask", {"question": "How big is the harbour dredging plan?"}))
    cited = asked["citations"][0]
    span = payload(await client.call_tool("get_article", {"article_id": cited["article_id"],
                                                          "start": cited["start"], "end": cited["end"]}))
    whole = payload(await client.call_tool("get_article", {"article_id": "tramline"}))
    missing = await client.call_tool("get_article", {"article_id": "no-such-article"})
    filtered = payload(await client.call_tool("search", {"query": "harbour dredging", "outlets": ["Valley Times"]}))
    bad_date = await client.call_tool("ask", {"question": "anything", "published_after": "someday"})
    nowhere = await client.call_tool("search", {"query": "tram line", "collection": "no-such-collection"})
    return {"search": found, "ask": asked, "cited": cited, "span": span, "whole": whole, "missing": missing,
            "filtered": filtered, "bad_date": bad_date, "nowhere": nowhere}


def check(seen: dict) -> None:
    texts = {a.article_id: a.text for a in ARTICLES}
    first = seen["search"]["sources"][0]
    assert first["n"] == 1 and first["article_id"] == "harbour" and seen["search"]["relevant"] is True
    assert texts["harbour"][first["start"]:first["end"]] == first["text"]
    assert first["title"] == "Harbour dredging approved" and first["url"] == "https://coast.example/harbour"
    assert "answer" not in seen["search"]

    asked = seen["ask"]
    assert asked["answerable"] is True and asked["mode"] == "extractive" and "[1]" in asked["answer"]
    assert "40 million euro" in asked["answer"]
    cited = seen["cited"]
    assert cited["article_id"] == "harbour" and texts["harbour"][cited["start"]:cited["end"]] == cited["quote"]
    # get_article returns exactly the quoted span: a reader can check the citation.
    assert seen["span"]["text"] == cited["quote"] and seen["span"]["title"] == "Harbour dredging approved"
    assert seen["whole"]["text"] == texts["tramline"] and seen["whole"]["source"] == "Coast Courier"

    assert seen["missing"].is_error
    assert seen["missing"].content[0].text.endswith(": article-not-found: no article with id 'no-such-article'")
    assert {s["article_id"] for s in seen["filtered"]["sources"]} == {"orchard"}
    assert seen["bad_date"].is_error and ": bad-filter: " in seen["bad_date"].content[0].text
    assert seen["nowhere"].is_error
    assert seen["nowhere"].content[0].text.endswith(": collection-not-found: there is no collection 'no-such-collection'")


@pytest.mark.e2e
def test_stdio_subprocess_lists_and_calls_every_tool(mcp_index, tmp_path):
    assert NEWSDESK, "the `newsdesk` script is not installed next to this Python"
    env = {"NEWSDESK_INDEX_DIR": str(mcp_index.settings.index_dir), "ANONYMIZED_TELEMETRY": "False",
           "PATH": os.environ.get("PATH", "")}
    server = StdioServerParameters(command=NEWSDESK, args=["mcp"], env=env)

    async def main():
        # The server's stderr (model loading, logs) goes to a file; stdout is the protocol.
        with open(tmp_path / "stderr.log", "w") as errlog:
            async with Client(stdio_client(server, errlog=errlog)) as client:
                return await exercise(client)

    check(anyio.run(main))


def http_client(key: str | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=60)


@pytest.fixture(scope="module")
def second_collection(mcp_index):
    """Another collection in the same store, for per-call `collection`."""
    second = Components(mcp_index.settings, mcp_index.embedder, mcp_index.client, "mcp-second")
    second.ingester.ingest([make_article("ferry", title="Ferry timetable changes", outlet="Island Post",
                                         text="The island ferry will run every forty minutes from June. "
                                              "The operator said the new timetable adds six crossings a day.")])
    return second


def served_with_keys(mcp_index, kind: str):
    """`serve`'s app (the API's key middleware at the door) or the endpoint alone (as
    `newsdesk mcp --http` serves it), over a key collection of its own."""
    settings = mcp_index.settings.model_copy(update={"keys_collection": f"mcp-keys-{kind}"})
    keys = KeyStore(mcp_index.client, settings.keys_collection)
    issued = {name: keys.create(name, scopes, collections)[0] for name, scopes, collections in
              [("reader", ["ask"], []), ("writer", ["write"], []), ("elsewhere", ["ask"], ["mcp-second"])]}
    if kind == "serve":
        return build_server_app(settings, mcp_index), issued
    app = FastAPI()
    mount_mcp(app, Collections(mcp_index), door=Door(keys, RateLimits("120/minute")))
    return app, issued


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["serve", "alone"])
def test_streamable_http_with_keys_and_scopes(mcp_index, second_collection, kind):
    app, issued = served_with_keys(mcp_index, kind)
    with uvicorn_thread(app) as base:
        url = f"{base}/mcp"
        # No key, an unknown one, or the wrong scheme: 401 problem+json before any MCP session exists.
        for headers in ({}, {"Authorization": "Bearer nd_not-a-real-key-but-long-enough-000000"},
                        {"Authorization": f"Basic {issued['reader']}"}):
            refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                 headers={**headers, "Accept": "application/json, text/event-stream"})
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("/unauthorized")
            assert "not-a-real-key" not in refused.text and issued["reader"] not in refused.text

        async def main():
            async with http_client(issued["reader"]) as http:
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    seen = await exercise(client)
            async with http_client(issued["writer"]) as http:
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    no_scope = await client.call_tool("search", {"query": "tram line"})
            async with http_client(issued["elsewhere"]) as http:
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    # A key bound to one collection gets it without naming it, as on the API.
                    own = payload(await client.call_tool("search", {"query": "ferry timetable"}))
                    named = payload(await client.call_tool("get_article", {"article_id": "ferry",
                                                                           "collection": "mcp-second"}))
                    other = await client.call_tool("search", {"query": "tram line", "collection": "newsdesk"})
            return seen, no_scope, own, named, other

        seen, no_scope, own, named, other = anyio.run(main)
    check(seen)
    assert no_scope.is_error and no_scope.content[0].text.endswith(": forbidden: the key 'writer' lacks the 'ask' scope")
    assert [s["article_id"] for s in own["sources"]] == ["ferry"] and named["source"] == "Island Post"
    assert other.is_error
    assert other.content[0].text.endswith(": forbidden: the key 'elsewhere' may use only the collections mcp-second")


@pytest.mark.e2e
def test_serve_mounts_mcp_beside_the_api(mcp_index):
    app = build_server_app(mcp_index.settings, mcp_index)

    async def main(url):
        async with Client(url) as client:
            return payload(await client.call_tool("get_article", {"article_id": "orchard", "start": 0, "end": 18}))

    with uvicorn_thread(app) as base:
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert anyio.run(main, f"{base}/mcp")["text"] == "Apple growers in t"
        assert "/mcp" not in httpx.get(f"{base}/openapi.json").json()["paths"]
        # Stateless: one request with no session before it is answered, so any replica behind
        # a load balancer can take any request.
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "get_article", "arguments": {"article_id": "tramline", "start": 4, "end": 17}}}
        raw = httpx.post(f"{base}/mcp", json=call, headers={"Accept": "application/json, text/event-stream",
                                                            "MCP-Protocol-Version": "2025-06-18"})
        assert raw.status_code == 200 and "mcp-session-id" not in raw.headers
        data = json.loads(next(line[6:] for line in raw.text.splitlines() if line.startswith("data: ")))
        assert data["id"] == 7 and data["result"]["structuredContent"]["text"] == "new eastern t"


@pytest.mark.e2e
def test_cli_mcp_http_alone_requires_the_keys_that_exist(mcp_index, tmp_path):
    from tests.conftest import free_port, stop_process, wait_http

    keys = KeyStore(mcp_index.client, "mcp-cli-keys")
    key, _ = keys.create("agent", ["ask"])
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NEWSDESK_INDEX_DIR": str(mcp_index.settings.index_dir),
           "NEWSDESK_KEYS_COLLECTION": "mcp-cli-keys"}
    env.pop("NEWSDESK_DEBUG", None)
    with open(tmp_path / "mcp.log", "wb") as log:
        proc = subprocess.Popen([NEWSDESK, "mcp", "--http", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_http(url, timeout=120)
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers={"Accept": "application/json, text/event-stream"})
        assert refused.status_code == 401 and refused.json()["type"].endswith("/unauthorized")

        async def main():
            async with http_client(key) as http:
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    return await exercise(client)

        check(anyio.run(main))
    finally:
        stop_process(proc)
    assert key not in (tmp_path / "mcp.log").read_text(errors="replace")
