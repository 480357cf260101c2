"""`newsdesk keys create|list|revoke`, and `serve` refusing a public address without keys."""

import json

import pytest

from service.cli import main
from service.cli.commands import is_loopback


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("NEWSDESK_DEBUG")
    return tmp_path


def test_create_prints_the_key_once_list_never_shows_it_revoke(cli_env, capsys):
    assert main(["keys", "create", "--name", "desk", "--scopes", "ask,write", "--collections", "tenant-a,tenant-b"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("nd_") and len(key) == 46 and "\n" not in key
    assert "'desk'" in err and "not shown again" in err

    assert main(["keys", "list", "--json"]) == 0
    listed_text = capsys.readouterr().out
    listed = json.loads(listed_text)
    assert key not in listed_text
    assert [(k["name"], k["scopes"], k["collections"], k["revoked_at"]) for k in listed] == [
        ("desk", ["ask", "write"], ["tenant-a", "tenant-b"], None)]
    assert main(["keys", "list"]) == 0
    assert "desk" in capsys.readouterr().out

    assert main(["keys", "revoke", "desk"]) == 0
    assert "revoked key 'desk'" in capsys.readouterr().out
    assert main(["keys", "revoke", "desk"]) == 1
    assert "no active key named 'desk'" in capsys.readouterr().err
    assert main(["keys", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["revoked_at"]


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "desk", "--scopes", "ask,root"], "unknown: root"),
    (["--name", "bad name", "--scopes", "ask"], "key name 'bad name'"),
    (["--name", "desk", "--scopes", "ask", "--collections", "x"], "collection name 'x'"),
    (["--name", "desk", "--scopes", "ask", "--rate-limit", "lots"], "rate limit 'lots'"),
])
def test_bad_key_specs_are_one_line(cli_env, capsys, args, message):
    assert main(["keys", "create", *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_names_are_unique_among_active_keys(cli_env, capsys):
    assert main(["keys", "create", "--name", "desk", "--scopes", "ask"]) == 0
    assert main(["keys", "create", "--name", "desk", "--scopes", "ask"]) == 1
    assert "exists already" in capsys.readouterr().err


def test_serve_refuses_a_public_address_without_keys(cli_env, capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0 without API keys" in err and "--insecure-no-auth" in err


def test_loopback_addresses():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "news.example.org"))
