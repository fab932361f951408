"""Task-model answers keyed by (task model, instruction, input), so no answer is paid for twice.

PPO keeps proposing the same rewrites for the same instruction, more so as the policy converges, and a
remote task model is the slowest and dearest part of the loop. Answers live in memory for the run and,
with a file, in SQLite across runs (several jobs of a sweep may share one file: SQLite does the locking).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path


class AnswerCache:
    def __init__(self, path: Path | None = None):
        self.memory: dict[str, str] = {}
        self.db = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=60)
            self.db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")
            self.db.commit()

    @staticmethod
    def key(task_model: str, instruction: str, input_text: str) -> str:
        return hashlib.sha256(json.dumps([task_model, instruction, input_text]).encode()).hexdigest()

    def get(self, keys: list[str]) -> dict[str, str]:
        """The cached answers among `keys`."""
        found = {k: self.memory[k] for k in keys if k in self.memory}
        wanted = [k for k in dict.fromkeys(keys) if k not in found]
        if self.db is not None and wanted:
            for start in range(0, len(wanted), 500):  # SQLite caps the number of ? in one statement
                chunk = wanted[start : start + 500]
                rows = self.db.execute(
                    f"SELECT key, answer FROM answers WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                found.update(rows)
            self.memory.update(found)
        return found

    def put(self, answers: dict[str, str]) -> None:
        self.memory.update(answers)
        if self.db is not None and answers:
            self.db.executemany("INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)", answers.items())
            self.db.commit()
