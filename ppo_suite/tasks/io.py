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
    return [record for _, record in read_rows(path)]


def read_rows(path: Path) -> list[tuple[str, dict]]:
    """(where, record) for every row of a .jsonl or .parquet file; `where` is "file:line" or "file: row n"."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.suffix == ".parquet":
        return _parquet_rows(path)
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{lineno}: malformed JSON line ({err.msg})") from err
        if not isinstance(record, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
        rows.append((f"{path}:{lineno}", record))
    return rows


def _parquet_rows(path: Path) -> list[tuple[str, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{path}: not a readable Parquet file ({err})") from err
    return [(f"{path}: row {i}", record) for i, record in enumerate(table.to_pylist())]


def read_lines(path: Path) -> list[tuple[str, str]]:
    """("file:line", text) for every non-blank line of a UTF-8 text file, stripped of surrounding space."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    rows = []
    for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            raise DataError(f"{path}:{lineno}: not UTF-8 text ({err.reason} at byte {err.start})") from err
        if line:
            rows.append((f"{path}:{lineno}", line))
    return rows


def require(record: dict, keys: list[str], where: str) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise DataError(f"{where}: missing field(s) {missing}; expected {keys}")
