"""Tasks: turn data files into prompt records.

A task loader takes its config and returns a `TaskData`: train and held-out lists of records, each a
dict with `prompt` (the rendered prompt text) and the columns the rewards read (passed to them as
keyword arguments).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ppo_suite.config import task_schema
from ppo_suite.errors import ConfigError


@dataclass
class TaskData:
    train: list[dict]
    eval: list[dict]


def load_task(task_cfg) -> TaskData:
    """The records of the task `task_cfg.name`, loaded by the module of that name (see TASK_SCHEMAS).

    Every loader reports an empty file by its name, so a loaded training split is never empty.
    """
    task_schema(task_cfg.name)  # an unknown name lists the known ones
    return importlib.import_module(f"ppo_suite.tasks.{task_cfg.name}").load(task_cfg)


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
