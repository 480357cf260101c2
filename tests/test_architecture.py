import subprocess
import sys

CORE = ["service.config", "service.errors", "service.models", "service.loading", "service.chunking",
        "service.embedding", "service.store", "service.ingestion", "service.lexical", "service.retrieval",
        "service.prompts", "service.llm", "service.citations", "service.answering", "service.components"]


def test_core_imports_no_interface_code():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'slack_bolt', 'slack_sdk', 'uvicorn', 'starlette')"
        " or m.startswith(('service.api', 'service.slack', 'service.cli'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_importing_the_core_connects_to_nothing():
    code = "import socket\nsocket.socket.connect = lambda *a: (_ for _ in ()).throw(SystemExit('connected'))\n" + "".join(
        f"import {m}\n" for m in CORE)
    subprocess.run([sys.executable, "-c", code], check=True)
