"""Event claims: exactly one winner per key, whatever the number of claimants."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from service.slack.dedupe import EventClaims, command_key, message_key


def race(claims: list[EventClaims], key: str) -> list[bool]:
    barrier = threading.Barrier(len(claims))
    results: list[bool] = []

    def claim(c: EventClaims):
        barrier.wait()
        results.append(c.claim(key, kind="test"))

    threads = [threading.Thread(target=claim, args=(c,)) for c in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_claim_wins_in_one_store(state_client):
    claims = EventClaims(state_client)
    assert claims.claim("k1") is True
    assert claims.claim("k1") is False
    assert claims.claim("k2") is True
    assert sorted(race([claims] * 6, "k3")) == [False] * 5 + [True]


@pytest.mark.server
def test_one_claim_wins_across_clients_of_a_server(chroma_server):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    host, port = chroma_server
    clients = [chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))
               for _ in range(4)]
    claims = [EventClaims(c) for c in clients]
    for n in range(5):
        assert sorted(race(claims, f"race-{n}")) == [False, False, False, True]


def test_keys_are_stable_across_processes():
    """A redelivery may reach another bot process: its key must be the same there, so no
    per-process salt (the built-in hash()) or clock may enter it."""
    code = ("from service.slack.dedupe import command_key, message_key;"
            "print(message_key('T1', 'C1', '171.000100'), command_key('123.456.abc'))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert other == [message_key("T1", "C1", "171.000100"), command_key("123.456.abc")]
    keys = {message_key("T1", "C1", "171.000100"), message_key("T1", "C2", "171.000100"),
            message_key("T2", "C1", "171.000100"), message_key("T1", "C1", "171.000200")}
    assert len(keys) == 4
    assert command_key("123.456.abc") == "trigger:123.456.abc"
