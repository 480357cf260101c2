"""Webhook signatures and the internal-address guard."""

from __future__ import annotations

import time

import pytest

from service.follows.webhooks import allow_list, sign, verify, webhook_refusal


def test_a_signature_verifies_only_with_its_secret_body_and_time():
    body = b'{"notice_id":"fl_1:0"}'
    now = int(time.time())
    header = sign("whsec_secret_secret", body, now)
    assert header.startswith(f"t={now},v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec_secret_secret", body, header)
    assert not verify("whsec_other_secret!", body, header)
    assert not verify("whsec_secret_secret", body + b" ", header)
    assert not verify("whsec_secret_secret", body, header, now=now + 3600)  # a replay, an hour later
    assert not verify("whsec_secret_secret", body, "v1=deadbeef")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest",
    "http://[::1]/hook", "http://192.168.0.10:8080/x",
])
def test_internal_addresses_are_refused_unless_listed(url):
    refusal = webhook_refusal(url, frozenset())
    assert refusal and "NEWSDESK_WEBHOOK_ALLOW_HOSTS" in refusal
    host = url.split("//")[1].split("/")[0].rsplit(":", 1)[0] if not url.startswith("http://[") else "::1"
    assert webhook_refusal(url, allow_list(f"example.org, {host}")) is None


@pytest.mark.parametrize(("url", "why"), [("ftp://example.org/x", "http(s)"), ("file:///etc/passwd", "http(s)"),
                                          ("https://user:pw@127.0.0.1/x", "credentials")])
def test_other_addresses_are_refused(url, why):
    assert why in webhook_refusal(url, allow_list("127.0.0.1"))


def test_allow_list():
    assert allow_list(" Hooks.Internal ,127.0.0.1,, [::1]") == frozenset({"hooks.internal", "127.0.0.1", "::1"})
    assert allow_list(None) == frozenset()
