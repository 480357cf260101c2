import json

import pytest

from service.cli import main


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("NEWSDESK_DEBUG")
    return tmp_path


def test_ingest_reports_bad_files_and_keeps_good_ones(cli_env, capsys):
    good = cli_env / "good.md"
    good.write_text("---\nid: g1\nsource: Test Wire\npublished_at: 2025-01-02\n---\n# Good story\n\nNvidia shipped chips. Demand rose.")
    bad = cli_env / "bad.jsonl"
    bad.write_text('{"id": "j1", "title": "T", "text": "Fine text here."}\n{oops\n')
    (cli_env / "binary.txt").write_bytes(b"\x00\x01")
    code = main(["ingest", str(good), str(bad), str(cli_env / "binary.txt")])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{bad}:2: invalid JSON" in out.replace("\n", "")
    assert f"{cli_env / 'binary.txt'}: binary file" in out.replace("\n", "")
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(a["article_id"] for a in listed["articles"]) == ["g1", "j1"]
    assert main(["ingest", str(good)]) == 0
    assert "│     0 │       0 │         1 │      0 │" in capsys.readouterr().out


def test_ask_json_and_delete(cli_env, capsys):
    story = cli_env / "s.md"
    story.write_text("---\nid: s1\nsource: Test Wire\n---\n# Mistral raises money\n\nMistral AI raised 600 million euros in June 2024. The round valued it at 5.8 billion euros.")
    assert main(["ingest", str(story)]) == 0
    capsys.readouterr()
    assert main(["ask", "How much did Mistral raise?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["mode"] == "extractive" and answer["citations"][0]["article_id"] == "s1"
    assert main(["ask", "How much did Mistral raise?"]) == 0
    text = capsys.readouterr().out
    assert "[1] Mistral raises money (Test Wire)" in text and "mode: extractive" in text
    assert main(["delete", "s1"]) == 0
    assert main(["delete", "s1"]) == 1
    assert capsys.readouterr().err.strip() == "newsdesk: error: no article with id 's1'"


def test_bad_setting_is_one_line(cli_env, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_EMBEDDING_MODEL", "word2vec")
    from service.config import get_settings

    get_settings.cache_clear()
    assert main(["list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "embedding_model" in err[0]


def test_mismatched_index_names_models_and_fix(cli_env, monkeypatch, capsys, respx_mock):
    story = cli_env / "s.md"
    story.write_text("# T\n\nSome text here.")
    assert main(["ingest", str(story)]) == 0
    monkeypatch.setenv("NEWSDESK_EMBEDDING_MODEL", "openai:text-embedding-3-small")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://emb.test/v1")
    import httpx

    respx_mock.post("http://emb.test/v1/embeddings").mock(return_value=httpx.Response(200, json={
        "object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1] * 1536}],
        "model": "text-embedding-3-small", "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
    from service.config import get_settings

    get_settings.cache_clear()  # a new process would read the environment afresh
    capsys.readouterr()
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert "onnx:all-MiniLM-L6-v2-int8 (384 dimensions)" in err and "openai:text-embedding-3-small (1536 dimensions)" in err
    assert "newsdesk reindex" in err


def test_ingest_names_the_file_over_the_size_limit_and_keeps_the_rest(cli_env, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_MAX_ARTICLE_CHARS", "1000")
    small = cli_env / "small.md"
    small.write_text("---\nid: small\n---\n# Small\n\nA short story about the harbour.")
    big = cli_env / "big.txt"
    big.write_text("Big story\n\n" + "word " * 400)
    assert main(["ingest", str(small), str(big)]) == 1
    out = capsys.readouterr().out.replace("\n", "")
    assert f"{big}: article text has 2,010 characters, over the limit of 1,000 (NEWSDESK_MAX_ARTICLE_CHARS)" in out
    assert main(["list", "--json"]) == 0
    assert [a["article_id"] for a in json.loads(capsys.readouterr().out)["articles"]] == ["small"]
