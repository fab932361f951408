"""Reading data files with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from ppo_suite.errors import DataError


def read_text(path: Path) -> str:
    """The file's UTF-8 text; a missing file or a byte that is not UTF-8 is a DataError naming the file and line."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x} at column {column}, {err.reason}); "
            "save the file as UTF-8"
        ) from err


def read_json(path: Path):
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: malformed JSON ({err.msg}, column {err.colno})") from err


def read_rows(path: Path) -> list[tuple[str, dict]]:
    """(where, record) for every row of a .jsonl or .parquet file; `where` is "file:line" or "file: row n"."""
    if path.suffix == ".parquet":
        return nonempty(_parquet_rows(path), path)
    return [_json_object(where, line) for where, line in read_lines(path)]


def _json_object(where: str, line: str) -> tuple[str, dict]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: malformed JSON line ({err.msg})") from err
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return where, record


def _parquet_rows(path: Path) -> list[tuple[str, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{path}: not a readable Parquet file ({err})") from err
    return [(f"{path}: row {i}", record) for i, record in enumerate(table.to_pylist())]


def read_lines(path: Path) -> list[tuple[str, str]]:
    """("file:line", text) for every non-blank line of a UTF-8 text file, stripped of surrounding space."""
    # Split on "\n" only: str.splitlines would also split inside a JSON string holding U+2028.
    lines = [(f"{path}:{n}", line.strip()) for n, line in enumerate(read_text(path).split("\n"), start=1)]
    return nonempty([(where, line) for where, line in lines if line], path)


def nonempty(rows: list, path: Path) -> list:
    if not rows:
        raise DataError(f"{path}: no records: the file is empty")
    return rows


def require(record: dict, keys: list[str], where: str) -> None:
    """Every key is in the record and not null: a null gold answer is reported here, not at step 1."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object with {keys}, got {type(record).__name__}")
    missing = [k for k in keys if record.get(k) is None]
    if missing:
        raise DataError(f"{where}: missing or null field(s) {missing}; every record needs {keys}")
