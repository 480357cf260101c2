"""/v1/follows over HTTP: make a follow, see what its notices said, as each key may."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.follows.webhooks import SIGNATURE_HEADER, verify
from tests.api.test_auth import assert_problem, bearer, keyed
from tests.follows import stories


@pytest.fixture
def desk_api(components):
    """Keys in use; the stories ingested; the follower driven by the test."""
    components.ingester.ingest([stories.BRIDGE, stories.ACADEMY, stories.FERRY])
    app_components, keys = keyed(components, webhook_allow_hosts="127.0.0.1")
    alice, _ = keys.create("alice", ["ask"])
    bob, _ = keys.create("bob", ["ask"])
    admin, _ = keys.create("admin", ["ask", "write", "admin"])
    writer, _ = keys.create("writer", ["write"])
    with TestClient(create_app(app_components.settings, app_components)) as client:
        yield client, {"alice": alice, "bob": bob, "admin": admin, "writer": writer}, components


def follow(client, key, question=stories.BRIDGE_Q, **notify):
    return client.post("/v1/follows", headers=bearer(key),
                       json={"question": question, "notify": notify or {"slack_channel": "C0NEWS"}})


def test_a_follow_is_made_with_its_answer_and_secret_once(desk_api, receiver):
    client, keys, _ = desk_api
    made = follow(client, keys["alice"], webhook=receiver.url)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["follow_id"].startswith("fl_") and body["owner"] == "alice" and body["notices"] == 0
    assert body["answer"]["answerable"] and "$12 million" in body["answer"]["answer"]
    assert body["secret"].startswith("whsec_") and body["notify"] == {"webhook": receiver.url}
    listed = client.get("/v1/follows", headers=bearer(keys["alice"])).json()["items"]
    assert [f["follow_id"] for f in listed] == [body["follow_id"]] and "secret" not in listed[0]
    assert client.get(f"/v1/follows/{body['follow_id']}", headers=bearer(keys["alice"])).json()["question"] == \
        stories.BRIDGE_Q


def test_keys_see_their_own_follows_and_admins_all(desk_api):
    client, keys, _ = desk_api
    mine = follow(client, keys["alice"]).json()["follow_id"]
    theirs = follow(client, keys["bob"], stories.FERRY_Q).json()["follow_id"]
    assert [f["follow_id"] for f in client.get("/v1/follows", headers=bearer(keys["bob"])).json()["items"]] == [theirs]
    assert {f["follow_id"] for f in client.get("/v1/follows", headers=bearer(keys["admin"])).json()["items"]} == \
        {mine, theirs}
    for path in (f"/v1/follows/{mine}", f"/v1/follows/{mine}/notices"):
        assert_problem(client.get(path, headers=bearer(keys["bob"])), 404, "follow-not-found")
    assert_problem(client.delete(f"/v1/follows/{mine}", headers=bearer(keys["bob"])), 404, "follow-not-found")
    assert client.delete(f"/v1/follows/{mine}", headers=bearer(keys["alice"])).status_code == 200
    assert_problem(client.get(f"/v1/follows/{mine}", headers=bearer(keys["alice"])), 404, "follow-not-found")


def test_a_follow_needs_the_ask_scope_and_a_key(desk_api):
    client, keys, _ = desk_api
    assert_problem(follow(client, keys["writer"]), 403, "forbidden")
    assert_problem(client.get("/v1/follows"), 401, "unauthorized")


@pytest.mark.parametrize(("notify", "status", "slug"), [
    ({"webhook": "http://10.0.0.8/hook"}, 422, "invalid-follow"),
    ({"webhook": "http://169.254.169.254/latest/meta-data"}, 422, "invalid-follow"),
    ({}, 422, "invalid-follow"),
    ({"webhook": "ftp://example.org/x"}, 422, "validation-error"),
    ({"slack_channel": "not a channel"}, 422, "validation-error"),
])
def test_what_cannot_be_followed(desk_api, notify, status, slug):
    client, keys, _ = desk_api
    response = client.post("/v1/follows", headers=bearer(keys["alice"]),
                           json={"question": stories.BRIDGE_Q, "notify": notify})
    body = assert_problem(response, status, slug)
    if notify.get("webhook", "").startswith("http://"):
        assert "NEWSDESK_WEBHOOK_ALLOW_HOSTS" in body["detail"]


def test_notices_list_what_was_sent(desk_api, receiver):
    client, keys, components = desk_api
    made = follow(client, keys["alice"], webhook=receiver.url).json()
    components.ingester.ingest([stories.BRIDGE_FIX])
    service = client.app.state.follows.service
    service.follower.poll()
    service.deliveries.step()
    receiver.wait_for(lambda r: len(r.accepted()) == 1)
    [got] = receiver.accepted()
    assert verify(made["secret"], got.body, got.headers[SIGNATURE_HEADER])

    notices = client.get(f"/v1/follows/{made['follow_id']}/notices", headers=bearer(keys["alice"])).json()["items"]
    [notice] = notices
    assert notice["summary"].startswith("Corrected: $12 million → $21 million [")
    assert notice["delivery"]["status"] == "sent" and notice["delivery"]["attempts"] == 1
    assert notice["answer"]["citations"] and notice["notice_id"] == got.payload["notice_id"]
    assert client.get(f"/v1/follows/{made['follow_id']}", headers=bearer(keys["alice"])).json()["notices"] == 1
