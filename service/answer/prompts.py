"""Versioned prompt files (`prompts/<name>.vN.yaml`), loaded and checked at start-up.

A prompt declares its variables; a placeholder that is not declared, a declared variable
that the template never uses, or a render call that misses one is a `PromptError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from openai.types.chat import ChatCompletionMessageParam

from service.answer.safety import escape_source
from service.errors import PromptError
from service.models import Passage

_PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Prompt:
    id: str
    variables: frozenset[str]
    system: str
    user: str

    def render(self, **values: str) -> list[ChatCompletionMessageParam]:
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise PromptError(
                f"prompt {self.id}: missing variables {sorted(missing)}, unexpected {sorted(extra)}"
            )

        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)

        return [
            {"role": "system", "content": fill(self.system)},
            {"role": "user", "content": fill(self.user)},
        ]


def load_prompt(prompts_dir: Path, name: str) -> Prompt:
    path = prompts_dir / f"{name}.yaml"
    if not path.is_file():
        raise PromptError(f"prompt file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("id", "system", "user")):
        raise PromptError(f"prompt {path} needs string fields id, system and user")
    if data["id"] != name:
        raise PromptError(f"prompt {path} declares id {data['id']!r}; the file name says {name!r}")
    declared = frozenset(data.get("variables") or [])
    used = set(_PLACEHOLDER.findall(data["system"] + data["user"]))
    if used != declared:
        raise PromptError(
            f"prompt {name}: placeholders {sorted(used)} do not match declared variables {sorted(declared)}"
        )
    return Prompt(data["id"], declared, data["system"], data["user"])


def render_sources(passages: Sequence[Passage]) -> str:
    blocks = []
    for n, p in enumerate(passages, start=1):
        # Everything that comes from an article is escaped, so none of it can close this
        # source's delimiter or forge another one.
        meta = ", ".join(x for x in (p.outlet, (p.published_at or "")[:10] or "undated") if x)
        also = ""
        if p.corroborated_by:
            also = "\nAlso carried by: " + "; ".join(
                f"{c.outlet or c.article_id} ({(c.published_at or '')[:10]})" for c in p.corroborated_by
            )
        header = escape_source(f"[{n}] \"{p.title}\" ({meta}){also}")
        blocks.append(f"{header}\n<source {n}>\n{escape_source(p.text.strip())}\n</source {n}>")
    return "\n\n".join(blocks)


def render_history(history: Sequence[str]) -> str:
    if not history:
        return ""
    lines = "\n".join(f"- {q}" for q in history)
    return f"Earlier questions in this conversation (for context; answer the new question):\n{lines}\n\n"
