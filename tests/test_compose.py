"""docker-compose.yml and the Dockerfile: the API runs against the Chroma server, with keys
required and healthchecks. `docker compose config` validates the file when the Compose
plugin is installed; otherwise (as on the development machine) the YAML is checked for the
same structure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
BOOTSTRAP = "f" * 64


def compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


def compose_config(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    return subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--format", "json"],
                          capture_output=True, text=True, env={**clean, **env}, cwd=ROOT)


def resolved() -> dict:
    """The compose model: from `docker compose config` when it can run, else the YAML itself."""
    if compose_available():
        done = compose_config(NEWSDESK_BOOTSTRAP_KEY=BOOTSTRAP)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return yaml.safe_load(COMPOSE.read_text())


def test_the_api_runs_against_the_chroma_server_once_it_is_healthy():
    services = resolved()["services"]
    assert set(services) == {"chroma", "api"}
    chroma, api = services["chroma"], services["api"]
    # The server's version is the client's: HttpClient and server speak the same API.
    assert chroma["image"] == f"chromadb/chroma:{version('chromadb')}"
    env = api["environment"]
    assert env["NEWSDESK_CHROMA_HOST"] == "chroma" and str(env["NEWSDESK_CHROMA_PORT"]) == "8000"
    assert api["depends_on"]["chroma"]["condition"] == "service_healthy"
    for service in (chroma, api):
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and len(check["test"]) > 1 and check["retries"] >= 3
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert any("chroma-data" in str(volume) for volume in chroma["volumes"])


def test_keys_are_required():
    env = yaml.safe_load(COMPOSE.read_text())["services"]["api"]["environment"]
    # `${VAR:?message}`: compose refuses to start without a bootstrap key.
    assert env["NEWSDESK_BOOTSTRAP_KEY"].startswith("${NEWSDESK_BOOTSTRAP_KEY:?")
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert json.loads(cmd[4:]) == ["newsdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "--insecure-no-auth" not in dockerfile + COMPOSE.read_text()
    assert "HEALTHCHECK" in dockerfile and "\nUSER newsdesk" in dockerfile
    if compose_available():
        missing = compose_config()
        assert missing.returncode != 0 and "NEWSDESK_BOOTSTRAP_KEY" in missing.stderr

