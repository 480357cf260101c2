"""API keys: 401 without a valid one, 403 without the scope or the collection, revocation
seen by another replica, open loopback without keys, and keys never echoed anywhere."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.problems import PROBLEM_BASE
from service.components import Components
from service.keys import KeyStore
from tests.conftest import make_article

NVIDIA_Q = "What did Nvidia report about data-centre revenue?"


def keyed(components: Components, **settings) -> tuple[Components, KeyStore]:
    """The same store and collection, with other settings (key cache off unless given)."""
    settings.setdefault("key_cache_ttl_s", 0)
    s = components.settings.model_copy(update=settings)
    return Components(s, components.embedder, components.client, components.collection), \
        KeyStore(components.client, s.keys_collection, ttl_s=s.key_cache_ttl_s)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM_BASE + slug and body["status"] == status
    return body


@pytest.fixture
def seeded(components):
    components.ingester.ingest([make_article("a1")])
    return components


def test_open_on_loopback_while_no_key_exists(seeded):
    with TestClient(create_app(seeded.settings, seeded)) as client:
        assert client.post("/v1/ask", json={"question": NVIDIA_Q}).status_code == 200
        assert client.get("/v1/articles").json()["total"] == 1
        # OpenAI clients always send a key; an open server has none to check it against.
        placeholder = {"Authorization": "Bearer sk-anything"}
        assert client.post("/v1/ask", json={"question": NVIDIA_Q}, headers=placeholder).status_code == 200


def test_required_keys_refuse_everything_but_health_while_none_exists(seeded):
    with TestClient(create_app(seeded.settings, seeded, require_keys=True)) as client:
        body = assert_problem(client.post("/v1/ask", json={"question": NVIDIA_Q}), 401, "unauthorized")
        assert "Authorization: Bearer" in body["detail"]
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_once_a_key_exists_every_request_needs_one(seeded):
    app_components, keys = keyed(seeded)
    key, _ = keys.create("reader", ["ask"])
    with TestClient(create_app(app_components.settings, app_components)) as client:
        missing = client.post("/v1/ask", json={"question": NVIDIA_Q})
        assert_problem(missing, 401, "unauthorized")
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert_problem(client.get("/v1/articles", headers=bearer(key + "x")), 401, "unauthorized")
        assert_problem(client.get("/v1/articles", headers={"Authorization": f"Basic {key}"}), 401, "unauthorized")

        answer = client.post("/v1/ask", json={"question": NVIDIA_Q}, headers=bearer(key))
        assert answer.status_code == 200 and answer.json()["answerable"] is True
        assert client.get("/v1/articles/a1", headers=bearer(key)).json()["article_id"] == "a1"


def test_scopes(seeded):
    app_components, keys = keyed(seeded)
    reader, _ = keys.create("reader", ["ask"])
    writer, _ = keys.create("writer", ["write"])
    admin, _ = keys.create("admin", ["admin"])
    article = {"id": "b2", "title": "Rail order", "text": "The rail operator ordered twelve electric trains."}
    with TestClient(create_app(app_components.settings, app_components)) as client:
        body = assert_problem(client.post("/v1/articles", json=article, headers=bearer(reader)), 403, "forbidden")
        assert "'write' scope" in body["detail"] and "reader" in body["detail"]
        assert_problem(client.delete("/v1/articles/a1", headers=bearer(reader)), 403, "forbidden")
        assert client.post("/v1/articles", json=article, headers=bearer(writer)).status_code == 201
        assert client.delete("/v1/articles/b2", headers=bearer(writer)).status_code == 200

        assert_problem(client.post("/v1/ask", json={"question": NVIDIA_Q}, headers=bearer(writer)), 403, "forbidden")
        assert_problem(client.get("/v1/articles", headers=bearer(writer)), 403, "forbidden")
        assert_problem(client.get("/v1/keys", headers=bearer(reader)), 403, "forbidden")
        names = {k["name"] for k in client.get("/v1/keys", headers=bearer(admin)).json()["items"]}
        assert names == {"reader", "writer", "admin"}


def test_keys_over_http_and_revocation(seeded):
    app_components, keys = keyed(seeded)
    admin, _ = keys.create("admin", ["admin"])
    with TestClient(create_app(app_components.settings, app_components)) as client:
        created = client.post("/v1/keys", json={"name": "desk", "scopes": ["ask"]}, headers=bearer(admin))
        assert created.status_code == 201
        key = created.json()["key"]
        assert key.startswith("nd_") and created.json()["scopes"] == ["ask"]
        assert client.get("/v1/articles", headers=bearer(key)).status_code == 200

        listed = client.get("/v1/keys", headers=bearer(admin)).text
        assert key not in listed and "desk" in listed

        bad = client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=bearer(admin))
        assert "root" in assert_problem(bad, 422, "invalid-api-key-spec")["detail"]

        revoked = client.delete("/v1/keys/desk", headers=bearer(admin))
        assert revoked.status_code == 200 and revoked.json()["items"][0]["revoked_at"]
        assert_problem(client.get("/v1/articles", headers=bearer(key)), 401, "unauthorized")


def test_a_revocation_reaches_another_replica_within_the_cache_ttl(components):
    now = [1000.0]
    replica_a = KeyStore(components.client, ttl_s=2.0, clock=lambda: now[0])
    replica_b = KeyStore(components.client, ttl_s=2.0, clock=lambda: now[0])
    key, record = replica_a.create("desk", ["ask"])
    assert replica_b.verify(key).name == "desk"
    replica_a.revoke(record.key_id)
    assert replica_a.verify(key) is None  # the replica that revoked forgets at once
    now[0] += 1.9
    assert replica_b.verify(key) is not None  # B still trusts what it read 1.9 s ago
    now[0] += 0.2
    assert replica_b.verify(key) is None  # past the TTL (<= 5 s): refused everywhere


def test_a_cached_key_expires_at_the_ttl_on_the_given_clock(components):
    now = [50.0]
    keys = KeyStore(components.client, ttl_s=2.0, clock=lambda: now[0])
    assert keys.cached("nd_" + "x" * 43) == (False, None) and keys.cached_any() is None
    key, _ = keys.create("desk", ["ask"])
    assert keys.verify(key).name == "desk" and keys.any_active()
    now[0] += 1.999
    assert keys.cached(key)[0] and keys.cached(key)[1].name == "desk" and keys.cached_any() is True
    now[0] += 0.001  # trusted while clock() < read + ttl_s
    assert keys.cached(key) == (False, None) and keys.cached_any() is None
    assert keys.verify(key).name == "desk" and keys.cached(key)[0]  # read again, trusted again


def test_a_flood_of_unknown_keys_evicts_the_least_recently_used_not_everything(components):
    keys = KeyStore(components.client, ttl_s=5.0, clock=lambda: 0.0, cache_size=3)
    key, _ = keys.create("desk", ["ask"])
    keys.verify(key)
    for n in range(2):
        keys.verify(f"nd_unknown{n:040d}")
    keys.verify(key)  # used again: the most recent
    keys.verify("nd_unknown" + "9" * 40)
    assert keys.cached(key)[0] and not keys.cached(f"nd_unknown{0:040d}")[0]


def test_only_hashes_are_stored(components):
    keys = KeyStore(components.client)
    key, record = keys.create("desk", ["ask", "write"], ["tenant-a"])
    stored = components.client.get_collection("newsdesk-keys").get(include=["metadatas", "documents"])
    assert key not in repr(stored) and key[3:] not in repr(stored)
    assert stored["ids"][0].startswith(record.key_id) and len(stored["ids"][0]) == 64


def test_keys_never_reach_logs_metrics_or_errors(seeded, caplog):
    caplog.set_level(logging.DEBUG)
    app_components, keys = keyed(seeded)
    key, _ = keys.create("reader", ["ask"])
    seen: list[str] = []
    with TestClient(create_app(app_components.settings, app_components)) as client:
        for response in (
            client.post("/v1/ask", json={"question": NVIDIA_Q}, headers=bearer(key)),
            client.post("/v1/articles", json={"title": "t", "text": "x"}, headers=bearer(key)),  # 403
            client.get("/v1/articles", headers=bearer(key[:-1] + "Q")),  # 401 with a near-miss
            client.get("/v1/nothing", headers=bearer(key)),
        ):
            seen.append(response.text + repr(response.headers))
        seen.append(client.get("/metrics").text)
    seen.append(caplog.text)
    for text in seen:
        assert key not in text and key[:-1] not in text
    assert 'key="reader"' in seen[-2]  # the key's name, not the key, labels the metrics
    assert any(getattr(r, "key", None) == "reader" for r in caplog.records)


def test_slack_events_need_no_key_they_carry_slacks_signature(seeded):
    from starlette.responses import PlainTextResponse

    app_components, keys = keyed(seeded)
    keys.create("reader", ["ask"])
    app = create_app(app_components.settings, app_components, require_keys=True)
    seen = []

    async def slack_events(request):  # stands in for the mounted Slack handler, which checks signatures
        seen.append(request.headers.get("authorization"))
        return PlainTextResponse("checked by Slack's signature verifier")

    app.add_route("/slack/events", slack_events, methods=["POST"])
    with TestClient(app) as client:
        assert client.post("/slack/events", content=b"{}").status_code == 200
        assert_problem(client.post("/v1/ask", json={"question": NVIDIA_Q}), 401, "unauthorized")
    assert seen == [None]
