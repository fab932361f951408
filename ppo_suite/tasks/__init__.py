"""Tasks: turn data files into prompt records.

A task loader takes its config and returns a `TaskData`: train and held-out lists of records, each a
dict with `prompt` (the rendered prompt text) and the columns the rewards read (passed to them as
keyword arguments).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ppo_suite.errors import ConfigError, DataError

BUILTIN_TASKS = {
    "ads": "ppo_suite.tasks.ads:load",
    "prewrite": "ppo_suite.tasks.prewrite:load",
    "prompts": "ppo_suite.tasks.prompts:load",  # generic: a plain text file, one prompt per line
    "jsonl": "ppo_suite.tasks.jsonl:load",  # generic: JSONL records (Alpaca or any fields) and a template
}


@dataclass
class TaskData:
    train: list[dict]
    eval: list[dict]


def load_task(task_cfg) -> TaskData:
    if task_cfg.name not in BUILTIN_TASKS:
        raise ConfigError(f"task.name={task_cfg.name!r} is not one of {sorted(BUILTIN_TASKS)}")
    module, fn = BUILTIN_TASKS[task_cfg.name].split(":")
    data = getattr(importlib.import_module(module), fn)(task_cfg)
    if not data.train:
        raise DataError(f"task {task_cfg.name!r}: the training split is empty")
    return data


def render_prompt(template: str, record: dict, where: str) -> str:
    try:
        return template.format(**record)
    except KeyError as err:
        raise ConfigError(
            f"task.prompt_template uses {{{err.args[0]}}} but {where} has only the columns {sorted(record)}"
        ) from err


def columns_of(records: list[dict]) -> dict[str, list]:
    """Records -> {column: values}, the keyword arguments of a reward call (prompt excluded)."""
    return {key: [r[key] for r in records] for key in records[0] if key != "prompt"}
