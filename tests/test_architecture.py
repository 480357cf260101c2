"""The layout's rules, checked on the source: who may import whom, and no cycles.

    base   config, errors, models, dates, text             imports only base
    core   ingest/, index/, answer/, components,           base and core
           collections, feedback, keys, access, follows/
    edges  api/, slack/, mcp/, interop/, web/ (and every   base and core, never another edge
           edge added later)
    evals  evals/                                           base, core, and the API it benchmarks
    cli    cli/                                             anything: it is where edges meet

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "service"
BASE = {"config", "errors", "models", "dates", "text"}
CORE = {"ingest", "index", "answer", "components", "collections", "feedback", "keys", "access", "follows"}
EVALS = {"evals"}
CLI = {"cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """service module -> the service modules it imports (anywhere in the file)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            # `from service.evals import metrics` imports the module service.evals.metrics.
            targets |= {t for t in found if t in modules and t != name}
        graph[name] = targets
    return graph


def layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    if top in BASE:
        return "base"
    if top in CORE:
        return "core"
    if top in EVALS:
        return "evals"
    if top in CLI:
        return "cli"
    return "edge"


def edge_of(module: str) -> str:
    return module.split(".")[1]


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "service.answer.engine" in graph and "service.index.store" in graph["service.answer.retrieval"]
    assert "service.evals.metrics" in graph["service.evals.scoring"]
    # Edges added later fall into the edge layer by default: MCP and the LlamaIndex interop.
    assert layer("service.mcp.server") == layer("service.interop.llamaindex") == "edge"


def test_each_layer_imports_only_what_it_may():
    allowed = {
        "base": {"base"},
        "core": {"base", "core"},
        "edge": {"base", "core", "edge"},  # and only its own edge: checked below
        "evals": {"base", "core", "evals", "edge"},  # the API, driven by the benchmarks
        "cli": {"base", "core", "edge", "evals", "cli"},
    }
    bad = []
    for module, targets in import_graph().items():
        for target in targets:
            src, dst = layer(module), layer(target)
            if dst not in allowed[src]:
                bad.append(f"{module} ({src}) -> {target} ({dst})")
            elif src == dst == "edge" and edge_of(module) != edge_of(target):
                bad.append(f"{module} -> {target}: one edge imports another")
            elif src == "evals" and dst == "edge" and edge_of(target) != "api":
                bad.append(f"{module} -> {target}: evals drive the API only")
    assert bad == []


def test_no_import_cycles():
    graph = import_graph()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            # A package's __init__ importing its own submodules is not a cycle of layers.
            if node.startswith(target + ".") or target.startswith(node + "."):
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_core_imports_no_interface_code():
    core = sorted(m for m in import_graph() if layer(m) in ("base", "core"))
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in core)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'slack_bolt', 'slack_sdk', 'uvicorn', 'starlette', 'mcp')"
        " or m.startswith(('service.api', 'service.slack', 'service.cli', 'service.evals', 'service.web', 'service.mcp',"
        " 'service.interop'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_importing_the_core_connects_to_nothing():
    core = sorted(m for m in import_graph() if layer(m) in ("base", "core"))
    code = "import socket\nsocket.socket.connect = lambda *a: (_ for _ in ()).throw(SystemExit('connected'))\n" + "".join(
        f"import {m}\n" for m in core)
    subprocess.run([sys.executable, "-c", code], check=True)
