"""Socket Mode: the same bot over a websocket (a fake Slack endpoint on a loopback port),
acked per envelope, answering through the Web API as in HTTP mode."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid

import pytest

from service.slack.runner import socket_mode_handler

from .conftest import APP_TOKEN, event_body, mention, slack_settings

QUESTION = "Who replaced Ilya Sutskever as OpenAI's chief scientist?"


@pytest.fixture
def socket_slack(fake_slack):
    """A websocket endpoint that sends the queued envelopes and collects the acks."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.server import serve

    outbox: queue.Queue = queue.Queue()
    acks: queue.Queue = queue.Queue()

    def session(ws):
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0NEWSDESK"}}))

        def send_queued():
            while True:
                envelope = outbox.get()
                if envelope is None:
                    return
                ws.send(json.dumps(envelope))

        sender = threading.Thread(target=send_queued, daemon=True)
        sender.start()
        try:
            for message in ws:
                acks.put(json.loads(message))
        except ConnectionClosed:
            pass
        finally:
            outbox.put(None)

    server = serve(session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake_slack.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link/?ticket=test"
    yield outbox, acks
    server.shutdown()
    thread.join(timeout=10)


def envelope(payload: dict, *, envelope_id: str, retry_attempt: int = 0) -> dict:
    return {"envelope_id": envelope_id, "type": "events_api", "payload": payload,
            "accepts_response_payload": False, "retry_attempt": retry_attempt, "retry_reason": ""}


def test_socket_mode_acks_each_envelope_and_answers_once(make_bot, fake_slack, socket_slack, tmp_path):
    outbox, acks = socket_slack
    # Socket Mode needs no signing secret: requests come over the app's own websocket.
    settings = slack_settings(tmp_path, fake_slack, slack_signing_secret=None, slack_app_token=APP_TOKEN)
    bot = make_bot(settings=settings, require_signing_secret=False)
    handler = socket_mode_handler(bot, settings)
    handler.connect()
    try:
        event = mention(QUESTION)
        payload = json.loads(event_body(event, event_id="Ev0SOCKET01"))
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        outbox.put(envelope(payload, envelope_id=first))
        outbox.put(envelope(payload, envelope_id=second, retry_attempt=1))  # Slack redelivers

        got = {acks.get(timeout=30)["envelope_id"], acks.get(timeout=30)["envelope_id"]}
        assert got == {first, second}
        (update,) = fake_slack.wait_updates(1)
        assert "Pachocki" in update.payload["text"]
        assert fake_slack.posts()[0].payload["thread_ts"] == event["ts"]
        (opened,) = fake_slack.of("apps.connections.open")
        assert opened.authorization == f"Bearer {APP_TOKEN}"
        time.sleep(1.0)  # give a duplicate every chance to show up
        assert len(fake_slack.posts()) == 1
    finally:
        handler.close()
