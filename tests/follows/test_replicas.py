"""Two `newsdesk serve` replicas on a `chroma run` server, as deployed: each change is
notified exactly once, with one replica killed, the webhook failing its first delivery, and
the killed replica started again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from service.components import Components
from tests.conftest import free_port, make_settings, stop_process, wait_http
from tests.follows import stories
from tests.follows.receiver import Receiver

pytestmark = pytest.mark.e2e


def serve(env: dict[str, str], name: str, work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (work / f"serve-{name}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "serve", "--port", str(port)],
                            env={**env, "NEWSDESK_LEXICAL_DIR": str(work / f"lexical-{name}")},
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/readyz", timeout=180)
    return proc, url


def post_article(url: str, article) -> None:
    response = httpx.post(url + "/v1/articles", timeout=60, json={
        "id": article.article_id, "title": article.title, "text": article.text, "source": article.outlet,
        "published_at": article.published_at.isoformat()})
    assert response.status_code in (200, 201), response.text


def test_two_replicas_a_killed_one_and_a_retried_webhook_notify_each_change_once(chroma_server, tmp_path, embedder):
    host, port = chroma_server
    collection = f"replicas-{uuid.uuid4().hex[:8]}"
    settings = make_settings(tmp_path / "index", chroma_host=host, chroma_port=port, lexical_dir=tmp_path / "lex-test")
    Components.build(settings, collection=collection, embedder=embedder).ingester.ingest(
        [stories.BRIDGE, stories.ACADEMY, stories.FERRY])
    env = {**os.environ, "NEWSDESK_CHROMA_HOST": host, "NEWSDESK_CHROMA_PORT": str(port),
           "NEWSDESK_COLLECTION": collection, "NEWSDESK_INDEX_DIR": str(tmp_path / "index"),
           "NEWSDESK_KEYS_COLLECTION": f"keys-{collection}", "NEWSDESK_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
           "NEWSDESK_FOLLOW_POLL_MS": "100"}
    receiver = Receiver()
    procs: list[subprocess.Popen] = []
    try:
        a, url_a = serve(env, "a", tmp_path)
        b, url_b = serve(env, "b", tmp_path)
        procs += [a, b]
        made = {q: httpx.post(url_a + "/v1/follows", timeout=60,
                              json={"question": q, "notify": {"webhook": receiver.url}}).json()
                for q in (stories.BRIDGE_Q, stories.FERRY_Q, stories.MANAGER_Q)}
        assert all(m["follow_id"].startswith("fl_") for m in made.values()), made

        b.kill()  # SIGKILL: no goodbye
        b.wait(timeout=20)
        receiver.fail_next = [500]  # the first delivery fails: retried with backoff
        post_article(url_a, stories.BRIDGE_FIX)
        receiver.wait_for(lambda r: len(r.accepted()) == 1, timeout=60)

        b, url_b = serve(env, "b", tmp_path)  # the killed replica again, from its own position
        procs.append(b)
        post_article(url_b, stories.FERRY_UPDATE)
        receiver.wait_for(lambda r: len(r.accepted()) == 2, timeout=60)
        time.sleep(3)  # a duplicate, if any replica sent one, would arrive by now

        accepted = receiver.accepted()
        ids = [d.headers["X-Newsdesk-Notice-Id"] for d in accepted]
        assert len(ids) == len(set(ids)) == 2
        follows = {d.payload["follow_id"]: d.payload for d in accepted}
        assert set(follows) == {made[stories.BRIDGE_Q]["follow_id"], made[stories.FERRY_Q]["follow_id"]}
        assert follows[made[stories.BRIDGE_Q]["follow_id"]]["summary"].startswith("Corrected: $12 million → $21 million")
        assert [d.status for d in receiver.deliveries].count(500) == 1
        notices = httpx.get(f"{url_b}/v1/follows/{made[stories.BRIDGE_Q]['follow_id']}/notices").json()["items"]
        assert [(n["delivery"]["status"], n["delivery"]["attempts"]) for n in notices] == [("sent", 2)]
        assert httpx.get(f"{url_b}/v1/follows/{made[stories.MANAGER_Q]['follow_id']}/notices").json()["items"] == []
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop_process(proc)
        receiver.stop()
