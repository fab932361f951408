"""Records from a JSONL (or Parquet) file: Alpaca's instruction/input/output, or any fields.

Every field of a record is a column the rewards receive (the `f1` reward reads `output`). The prompt is
`task.prompt_template` filled from the record; where a field that template uses is missing or empty,
`task.fallback_template` is used instead, which is how Alpaca prompts drop the Input section for
records without one. `task.required_fields` are checked on every record, so a record without its gold
answer is reported by file and line when the data loads, not when the reward first meets it.
"""

from __future__ import annotations

import string

from ppo_suite.config import JsonlTaskConfig
from ppo_suite.paths import resolve_path
from ppo_suite.tasks import TaskData, render_prompt
from ppo_suite.tasks.io import read_rows, require


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def records(path_setting: str, cfg: JsonlTaskConfig) -> list[dict]:
    primary_fields = template_fields(cfg.prompt_template)
    out = []
    for where, row in read_rows(resolve_path(path_setting)):
        require(row, list(cfg.required_fields), where)
        incomplete = any(row.get(name) in (None, "") for name in primary_fields)
        template = cfg.fallback_template if incomplete and cfg.fallback_template is not None else cfg.prompt_template
        record = dict(row)
        record["prompt"] = render_prompt(template, record, where)
        out.append(record)
    # Rewards take columns of the whole batch, so a field some records lack is None in those.
    fields = list(dict.fromkeys(key for record in out for key in record))
    return [{key: record.get(key) for key in fields} for record in out]


def load(cfg: JsonlTaskConfig) -> TaskData:
    return TaskData(train=records(cfg.train_file, cfg), eval=records(cfg.eval_file, cfg) if cfg.eval_file else [])
