"""`newsdesk follow add/list/notices/remove` and `newsdesk timeline`."""

from __future__ import annotations

import json

import pytest

from service.cli import main
from service.components import Components
from service.config import Settings
from tests.follows import stories


@pytest.fixture
def cli_env(monkeypatch, tmp_path, embedder):
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("NEWSDESK_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.delenv("NEWSDESK_DEBUG")
    components = Components.build(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    components.ingester.ingest([stories.BRIDGE, stories.ACADEMY, stories.BRIDGE_FIX])
    return tmp_path


def test_follow_add_list_notices_remove(cli_env, capsys):
    assert main(["follow", "add", stories.BRIDGE_Q, "--webhook", "http://127.0.0.1:9/hook", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["follow_id"].startswith("fl_") and made["secret"].startswith("whsec_")
    assert made["answer"]["answerable"] and made["notify"] == {"webhook": "http://127.0.0.1:9/hook"}

    assert main(["follow", "add", stories.MANAGER_Q, "--slack-channel", "C0NEWS", "--thread", "1700000000.000100"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("following fl_") and "webhook secret" not in out and "Maria Oduya" in out

    assert main(["follow", "list"]) == 0
    listed = capsys.readouterr().out
    assert made["follow_id"] in listed and "slack C0NEWS" in listed
    assert main(["follow", "notices", made["follow_id"]]) == 0
    assert capsys.readouterr().out.strip() == "no notices yet"
    assert main(["follow", "remove", made["follow_id"]]) == 0
    assert capsys.readouterr().out.startswith(f"removed {made['follow_id']}")
    assert main(["follow", "remove", made["follow_id"]]) == 1
    assert "no follow" in capsys.readouterr().err


def test_a_refused_webhook_is_one_line_and_exit_1(cli_env, capsys):
    assert main(["follow", "add", stories.BRIDGE_Q, "--webhook", "http://10.0.0.9/hook"]) == 1
    assert "NEWSDESK_WEBHOOK_ALLOW_HOSTS" in capsys.readouterr().err


def test_timeline(cli_env, capsys):
    assert main(["timeline", "the Elm Street Bridge repair"]) == 0
    out = capsys.readouterr().out
    assert out.index("March 3, 2025") < out.index("March 6, 2025 (correction)")
    assert "Corrected: $12 million → $21 million" in out
    assert main(["timeline", "the Elm Street Bridge repair", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert [s["kind"] for s in steps] == ["report", "correction"]
