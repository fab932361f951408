"""Plain prompts: one per line of a UTF-8 text file, as RLHF prompt sets and review openings come.

Blank lines are skipped. Each line becomes a record with the column `text`, rendered through
`task.prompt_template` (default "{text}"), e.g. "Question: {text}\\nAnswer:" for a chat-less model.
An undecodable line is reported by file and line.
"""

from __future__ import annotations

from ppo_suite.config import PromptsTaskConfig
from ppo_suite.paths import resolve_path
from ppo_suite.tasks import TaskData, render_prompt
from ppo_suite.tasks.io import read_lines


def records(path_setting: str, cfg: PromptsTaskConfig) -> list[dict]:
    out = []
    for where, line in read_lines(resolve_path(path_setting)):
        record = {"text": line}
        record["prompt"] = render_prompt(cfg.prompt_template, record, where)
        out.append(record)
    return out


def load(cfg: PromptsTaskConfig) -> TaskData:
    return TaskData(train=records(cfg.train_file, cfg), eval=records(cfg.eval_file, cfg) if cfg.eval_file else [])
