"""The PRewrite task: the policy rewrites an instruction; a task model is judged under the rewrite.

Rows (JSONL lines or Parquet rows) in the PRewrite format:
    instruction  the original instruction (str)
    input        one input of the task (str)
    output       its gold answer (str, or a number)
    task         optional task type, which picks the reward's metric: math, qa, classification, ...
    template     optional prompt for the rewriter, overriding task.prompt_template for this row

Rows sharing (instruction, task, template) are one task. Its examples are cut, in file order, into
groups of `examples_per_prompt`; each group becomes one PPO record whose prompt is the meta-prompt and
the instruction, and whose columns `inputs` and `outputs` are what the reward answers and scores
under the rewrite. Fixed groups make the held-out score deterministic: the initial and the final
policy are judged on the same examples.
"""

from __future__ import annotations

import itertools

from ppo_suite.config import PRewriteTaskConfig
from ppo_suite.paths import resolve_path
from ppo_suite.errors import DataError
from ppo_suite.tasks import TaskData, render_prompt
from ppo_suite.tasks.io import read_rows, require

OPTIONAL_TEXT_FIELDS = ("task", "template")


def _text(value, field: str, where: str, allow_numbers: bool = False) -> str:
    if allow_numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # `"output": 5` is how people write a numeric answer in JSON
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: {field!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _row_prompt(template: str, fields: dict, where: str) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as err:
        raise DataError(
            f"{where}: 'template' {template!r} cannot be filled ({type(err).__name__}: {err}); "
            f"a row's template may use only {{meta_prompt}} and {{instruction}}"
        ) from err


def read_examples(path_setting: str, cfg: PRewriteTaskConfig) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """{(instruction, task, rewriter prompt): [(input, gold), ...]}, in the order the file first names them."""
    path = resolve_path(path_setting)
    if path.suffix not in (".jsonl", ".parquet"):
        raise DataError(f"{path}: expected a .jsonl or .parquet file of PRewrite rows")
    tasks: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for where, row in read_rows(path):
        require(row, ["instruction", "input", "output"], where)
        instruction = _text(row["instruction"], "instruction", where)
        task, template = ("" if row.get(f) is None else _text(row[f], f, where) for f in OPTIONAL_TEXT_FIELDS)
        fields = {"meta_prompt": cfg.meta_prompt, "instruction": instruction}
        prompt = _row_prompt(template, fields, where) if template else render_prompt(cfg.prompt_template, fields, where)
        example = (_text(row["input"], "input", where), _text(row["output"], "output", where, allow_numbers=True))
        tasks.setdefault((instruction, task, prompt), []).append(example)
    return tasks


def records(path_setting: str, cfg: PRewriteTaskConfig) -> list[dict]:
    """One record per group of examples, the tasks taken in turn so that any prefix covers every task."""
    per_task = []
    for (instruction, task, prompt), examples in read_examples(path_setting, cfg).items():
        per_task.append([
            {
                "prompt": prompt,
                "instruction": instruction,
                "task": task,
                "inputs": [x for x, _ in examples[start : start + cfg.examples_per_prompt]],
                "outputs": [y for _, y in examples[start : start + cfg.examples_per_prompt]],
            }
            for start in range(0, len(examples), cfg.examples_per_prompt)
        ])
    # eval.num_prompts keeps a prefix of the held-out records: interleaving keeps it balanced.
    return [r for round_ in itertools.zip_longest(*per_task) for r in round_ if r is not None]


def load(cfg: PRewriteTaskConfig) -> TaskData:
    return TaskData(train=records(cfg.train_file, cfg), eval=records(cfg.eval_file, cfg) if cfg.eval_file else [])
