"""The CLI's own checks and output: questions refused as the API refuses them, `--ray`
apart from its address, ids printed whole at 80 columns, `watch --once --force`."""

from __future__ import annotations

import json

import pytest

from service.cli import main
from service.cli.main import build_parser
from service.keys import KeyStore


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("NEWSDESK_DEBUG")
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


@pytest.mark.parametrize(("args", "message"), [
    (["ask", ""], 'the question is empty: ask something, e.g. newsdesk ask "Who leads Microsoft AI?"'),
    (["ask", "   "], 'the question is empty: ask something, e.g. newsdesk ask "Who leads Microsoft AI?"'),
    (["ask", "x" * 10_000], "the question has 10,000 characters, over the limit of 2,000"),
    (["ask", "What?", "--top-k", "0"], "--top-k: Input should be greater than or equal to 1"),
])
def test_questions_are_refused_as_the_api_refuses_them(cli_env, capsys, args, message):
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [f"newsdesk: error: {message}"]
    assert not (cli_env / "index").exists()  # refused before anything was opened


def test_the_question_limit_is_the_apis():
    from service.api.schemas import MAX_QUESTION_CHARS, AskRequest
    from service.cli.questions import check_ask

    check_ask("q" * MAX_QUESTION_CHARS)
    AskRequest.model_validate({"question": "q" * MAX_QUESTION_CHARS})


@pytest.mark.parametrize(("argv", "paths", "ray", "address"), [
    (["ingest", "--ray", "corpus/"], ["corpus/"], True, None),
    (["ingest", "corpus/", "more/", "--ray"], ["corpus/", "more/"], True, None),
    (["ingest", "corpus/", "--ray-address", "ray://head:10001"], ["corpus/"], False, "ray://head:10001"),
    (["ingest", "--ray-address", "auto", "corpus/"], ["corpus/"], False, "auto"),
    (["ingest", "corpus/"], ["corpus/"], False, None),
])
def test_the_ray_address_is_its_own_option(argv, paths, ray, address):
    args = build_parser(argv).parse_args(argv)
    assert (args.paths, args.ray, args.ray_address) == (paths, ray, address)


def test_core_commands_parse_without_the_other_interfaces():
    assert "eval" not in build_parser(["ask", "q"])._subparsers._group_actions[0].choices
    assert "eval" in build_parser(["eval"])._subparsers._group_actions[0].choices
    assert "eval" in build_parser()._subparsers._group_actions[0].choices


def test_list_and_keys_list_print_ids_whole(cli_env, capsys):
    long_id = "https://news.example.org/2025/06/02/brontavia-ferry-back-in-service-after-three-weeks-of-repairs"
    story = cli_env / "s.json"
    story.write_text(json.dumps({"id": long_id, "title": "Brontavia ferry back in service after three weeks "
                                 "of repairs, the operator said on Monday", "text": "The ferry runs again."}))
    assert main(["ingest", str(story)]) == 0
    capsys.readouterr()
    assert main(["list"]) == 0
    assert any(line.split("│")[1].strip() == long_id for line in capsys.readouterr().out.splitlines() if "│" in line)

    from service.config import get_settings
    from service.index.client import open_client

    settings = get_settings()
    keys = KeyStore(open_client(index_dir=settings.index_dir), settings.keys_collection)
    _, record = keys.create("a-rather-long-key-name-for-the-night-desk", ["ask", "write", "admin"],
                            ["newsdesk", "another-collection"])
    assert main(["keys", "list"]) == 0
    rows = [line.split("│") for line in capsys.readouterr().out.splitlines() if "│" in line]
    rows = [r for r in rows if r[1].strip()]  # a folded cell continues on lines of its own
    assert [(r[1].strip(), r[2].strip()) for r in rows] == [("a-rather-long-key-name-for-the-night-desk", record.key_id)]


def test_watch_force_goes_with_once(cli_env, capsys, tmp_path):
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - url: http://127.0.0.1:9/rss.xml\n    outlet: Nobody\n")
    assert main(["watch", str(tmp_path / "feeds.yaml"), "--force"]) == 1
    assert capsys.readouterr().err.strip() == ("newsdesk: error: --force goes with --once: "
                                               "`newsdesk watch --once --force` polls every feed now")
