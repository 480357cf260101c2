"""Two API replicas over real HTTP on one `chroma run` server: keys live in the shared
store, so a key created through A works on B, and a key revoked through A is refused by B."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import SecretStr

from service.api.app import create_app
from service.components import Components
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import make_article, make_settings

pytestmark = [pytest.mark.server, pytest.mark.e2e]

BOOTSTRAP = "bootstrap-" + "k7Qz" * 10  # what docker-compose passes as NEWSDESK_BOOTSTRAP_KEY


def replica(tmp_path, name: str, host: str, port: int, collection: str, keys_collection: str, embedder) -> Components:
    settings = make_settings(tmp_path / name, chroma_host=host, chroma_port=port, collection=collection,
                             keys_collection=keys_collection, key_cache_ttl_s=0,
                             bootstrap_key=SecretStr(BOOTSTRAP))
    return Components.build(settings, embedder=embedder)


def test_a_key_created_on_one_replica_works_on_the_other_and_revocation_too(tmp_path, chroma_server, embedder, caplog):
    host, port = chroma_server
    run = uuid.uuid4().hex[:8]
    collection, keys_collection = f"replicas-{run}", f"keys-{run}"
    a = replica(tmp_path, "a", host, port, collection, keys_collection, embedder)
    b = replica(tmp_path, "b", host, port, collection, keys_collection, embedder)
    a.ingester.ingest([make_article("r1")])
    admin = {"Authorization": f"Bearer {BOOTSTRAP}"}

    with uvicorn_thread(create_app(a.settings, a, require_keys=True)) as url_a, \
            uvicorn_thread(create_app(b.settings, b, require_keys=True)) as url_b, httpx.Client(timeout=60) as client:
        assert client.get(f"{url_b}/v1/articles").status_code == 401  # keys required, none given

        created = client.post(f"{url_a}/v1/keys", json={"name": "desk", "scopes": ["ask"]}, headers=admin)
        assert created.status_code == 201
        key = {"Authorization": f"Bearer {created.json()['key']}"}
        assert client.get(f"{url_b}/v1/articles", headers=key).json()["total"] == 1
        answer = client.post(f"{url_b}/v1/ask", json={"question": "What did Nvidia report?"}, headers=key)
        assert answer.status_code == 200 and answer.json()["answerable"] is True

        assert client.delete(f"{url_a}/v1/keys/desk", headers=admin).status_code == 200
        refused = client.get(f"{url_b}/v1/articles", headers=key)
        assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
        names = [k["name"] for k in client.get(f"{url_b}/v1/keys", headers=admin).json()["items"]]
        assert sorted(names) == ["bootstrap", "desk"]
    assert created.json()["key"] not in caplog.text and BOOTSTRAP not in caplog.text


def chroma_pid(port: int) -> int:
    """The `chroma run` process serving `port` (the session's server)."""
    import os

    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"run" in cmdline and str(port).encode() in cmdline:
            return int(pid)
    raise AssertionError(f"no chroma process serves port {port}")


def test_an_unreachable_store_is_a_503_never_no_keys(chroma_server):
    import os
    import signal
    import time

    from service.errors import StoreUnavailableError
    from service.index.client import open_client
    from service.keys import KeyStore

    host, port = chroma_server
    client = open_client(index_dir=None, host=host, port=port, timeout_s=1.0)
    keys = KeyStore(client, f"keys-{uuid.uuid4().hex[:8]}", ttl_s=0)
    assert keys.list() == [] and keys.any_active() is False  # no key collection yet: no keys
    key, _ = keys.create("desk", ["ask"])
    pid = chroma_pid(port)
    os.kill(pid, signal.SIGSTOP)
    try:
        for check in (lambda: keys.verify(key), keys.any_active):
            with pytest.raises(StoreUnavailableError):
                check()
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(1.1)  # the client fails fast for its timeout after a timed-out call, then tries again
    assert keys.verify(key).name == "desk"
