"""How the CLI finds a running `newsdesk serve` (service/cli/discovery.py): a leftover
address counts only while its process lives and answers; a keyed server is reached with
NEWSDESK_API_KEY; a taken port is one line; and `ask` without a server leaves no private
copy of the lexical index behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.cli.discovery import announce, find_server, local_url, server_file
from service.keys import KeyStore
from tests.conftest import free_port, make_article, stop_process, wait_http

NEWSDESK = shutil.which("newsdesk", path=str(Path(sys.executable).parent))


def cli_env(settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**env, "NEWSDESK_INDEX_DIR": str(settings.index_dir), "ANONYMIZED_TELEMETRY": "False",
            "TMPDIR": str(tmp_path / "tmp"), **extra}


def newsdesk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NEWSDESK, *args], capture_output=True, text=True, env=env, timeout=300)


@contextmanager
def serving(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with open(log, "wb") as out:
        proc = subprocess.Popen([NEWSDESK, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=300)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


# -- the address file ---------------------------------------------------------------------

def test_a_leftover_address_of_a_dead_process_is_no_server_and_is_removed(settings):
    path = server_file(settings)
    path.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": int(dead.stdout)}))
    assert find_server(settings) is None and not path.exists()


def test_an_address_that_refuses_connections_is_no_server(settings):
    port = free_port()
    withdraw = announce(settings, local_url("0.0.0.0", port))  # this process lives; nothing listens
    path = server_file(settings)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert json.loads(path.read_text()) == {"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}
    assert find_server(settings) is None and path.exists()
    withdraw()
    assert not path.exists()


def test_wildcard_addresses_are_reached_on_loopback():
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("[::1]", 8001) == "http://[::1]:8001"
    assert local_url("10.0.0.5", 80) == "http://10.0.0.5:80"


# -- a keyed server, a taken port ----------------------------------------------------------

def test_a_keyed_server_needs_newsdesk_api_key_and_a_taken_port_is_one_line(components, settings, tmp_path):
    components.ingester.ingest([make_article("a1")])  # not empty: serve indexes no sample corpus
    key, _ = KeyStore(components.client, settings.keys_collection).create("cli", ["ask", "write"])
    env = cli_env(settings, tmp_path)
    port = free_port()
    with serving(env, port, tmp_path / "serve.log"):
        refused = newsdesk(env, "ask", "What did Nvidia report?")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"newsdesk: error: newsdesk serve at http://127.0.0.1:{port} requires an API key: set NEWSDESK_API_KEY "
            "to one (`newsdesk keys create --name cli --scopes ask,write`)"]

        keyed = {**env, "NEWSDESK_API_KEY": key}
        answered = newsdesk(keyed, "ask", "What did Nvidia report?", "--json")
        assert answered.returncode == 0, answered.stderr
        assert json.loads(answered.stdout)["citations"][0]["article_id"] == "a1"
        (tmp_path / "b.json").write_text(json.dumps({"id": "b1", "title": "Ferries", "text": "The ferry ran late."}))
        assert "ingesting through it" in newsdesk(keyed, "ingest", str(tmp_path / "b.json")).stdout
        assert newsdesk(keyed, "delete", "b1").stdout.strip() == "deleted b1 (1 chunks)"

        second = newsdesk(env, "serve", "--port", str(port))
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"port {port} on 127.0.0.1 is already in use" in lines[0]
        assert "--port N" in lines[0] and "make serve PORT=N" in lines[0] and "Errno" not in second.stderr
    assert not server_file(settings).exists()


# -- no server: no folders left behind -----------------------------------------------------

def test_ask_without_a_server_leaves_no_private_copy(components, settings, tmp_path):
    components.ingester.ingest([make_article("a1")])
    components.lexical.current()  # this process holds the lexical index, as a running `newsdesk mcp` would
    env = cli_env(settings, tmp_path)
    done = newsdesk(env, "ask", "What did Nvidia report?")
    assert done.returncode == 0, done.stderr
    assert "[1] Article a1" in done.stdout and "private copy" not in done.stderr
    assert list((tmp_path / "tmp").glob("newsdesk-lexical-*")) == []
