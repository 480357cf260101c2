"""Instruction detection measured on written variants: `variants.jsonl` (the tests read it;
tuned on) and `heldout.jsonl` (never tuned on). Each line: text, whether it is an
injection, and its kind (rewording, note-to-ai, role-play, delimiter, or a language code)."""

from __future__ import annotations

from pathlib import Path

from service.errors import EvalError
from service.evals.jsonl import read_jsonl

PARTS = ("variants", "heldout")


def load_part(path: Path) -> list[dict]:
    rows = []
    for where, row in read_jsonl(path):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not isinstance(row.get("injection"), bool):
            raise EvalError(f"{where}: needs `text` (string) and `injection` (true/false)")
        rows.append(row)
    return rows


def injection_metrics(directory: Path) -> tuple[dict[str, float | None], dict[str, dict]]:
    """Share of injections detected and of news sentences wrongly flagged, per part, and
    the misses by kind (for the report)."""
    from service.answer.safety import reads_as_instruction

    values: dict[str, float | None] = {}
    details: dict[str, dict] = {}
    for part in PARTS:
        path = directory / f"{part}.jsonl"
        if not path.is_file():
            continue
        rows = load_part(path)
        hits = [(row, reads_as_instruction(row["text"])) for row in rows]
        positives = [flag for row, flag in hits if row["injection"]]
        negatives = [flag for row, flag in hits if not row["injection"]]
        values[f"safety.injections_detected.{part}"] = sum(positives) / len(positives) if positives else None
        values[f"safety.news_flagged.{part}"] = sum(negatives) / len(negatives) if negatives else None
        details[part] = {"injections": len(positives), "news": len(negatives),
                         "missed": [row["text"] for row, flag in hits if row["injection"] and not flag],
                         "false_alarms": [row["text"] for row, flag in hits if not row["injection"] and flag]}
    return values, details
