"""Reading data files with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from ppo_suite.errors import DataError


def read_json(path: Path):
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: malformed JSON ({err.msg}, column {err.colno})") from err


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{lineno}: malformed JSON line ({err.msg})") from err
        if not isinstance(record, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def require(record: dict, keys: list[str], where: str) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise DataError(f"{where}: missing field(s) {missing}; expected {keys}")
