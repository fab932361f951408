"""PRewrite reward: how well a frozen task model does its task under the policy's rewritten instruction.

For each rewrite, the task model answers every example the record carries (columns `inputs`, with gold
`outputs`) from `prompt_template` filled with the rewrite and the input; the reward is the task metric
of its answers, averaged over those examples:

    reward = mean_k metric(first line of answer(rewrite, input_k), output_k)

The metric follows the record's `task` column (math -> numeric_match, qa -> f1, anything else ->
exact_match by default), or is fixed by `metric` (e.g. bleu). Answers are cached by (task model,
instruction, input). A task model that cannot answer stops the run with an error naming it, or, with
`on_failure: skip`, leaves the rewrite unscored (None, counted in `reward/<name>/skipped`) and logs it.

A remote task model, e.g. Ollama serving gemma3:4b:
    reward:
      rewrite_task_model: {backend: openai, base_url: "http://127.0.0.1:11434/v1", model: "gemma3:4b", api: chat}
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Optional

from ppo_suite.chat import CHAT_MODES
from ppo_suite.config import EmbeddedModelConfig, GGUFSource, bounded
from ppo_suite.paths import resolve_path
from ppo_suite.metrics import METRICS, score_answer
from ppo_suite.backends.answer_cache import AnswerCache
from ppo_suite.backends.task_model import TaskModelError, load_hf_task_model

log = logging.getLogger(__name__)

BACKENDS = ("hf", "openai")
APIS = ("completions", "chat")
ON_FAILURE = ("error", "skip")


@dataclass
class RewriteTaskModelSettings:
    backend: str = "hf"  # hf: a local transformers causal LM | openai: an OpenAI-compatible server
    model: str = ""  # hf: hub id or local dir ("" = the `embedded` model) | openai: the served model's name
    embedded: Optional[EmbeddedModelConfig] = None  # hf with model "": build this tiny model locally
    gguf: Optional[GGUFSource] = None  # hf with model "": convert this packaged GGUF file; takes precedence over `embedded`
    chat_template: str = "auto"  # hf: auto | on | off: each prompt as the user turn of the task model's template
    prompt_template: str = "{instruction}\n{input}\nAnswer:"  # what the task model reads
    max_new_tokens: int = bounded(16, ">= 1")  # the answer's budget; only its first line is scored
    metric: str = "auto"  # auto: by each record's task (metric_by_task) | f1 | exact_match | numeric_match | bleu
    metric_by_task: dict[str, str] = field(
        default_factory=lambda: {"math": "numeric_match", "qa": "f1", "classification": "exact_match"}
    )
    default_metric: str = "exact_match"  # auto: the metric of a task missing from metric_by_task
    on_failure: str = "error"  # error: stop the run | skip: leave the rewrite unscored (None) and log it
    cache_file: Optional[str] = None  # SQLite file keeping answers across runs; null = in memory for the run
    # hf backend
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    dtype: str = "float32"  # float32 | bfloat16 | float16
    batch_size: int = bounded(32, ">= 1")  # prompts per generate call
    # openai backend
    base_url: str = "http://127.0.0.1:8000/v1"  # vLLM / transformers serve: :8000/v1, Ollama: :11434/v1
    api: str = "completions"  # completions: raw prompt (base models) | chat: one user message (instruct models)
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key; local servers need none
    concurrency: int = bounded(8, ">= 1")  # requests in flight at once
    # A server that is down fails a batch within seconds; one that hangs, within batch_timeout_s.
    timeout_s: float = bounded(30.0, "> 0")  # per request
    max_retries: int = bounded(2, ">= 0")  # after the first attempt, on connection errors, timeouts, 429, 5xx, malformed answers
    backoff_s: float = bounded(1.0, ">= 0")  # wait before retry n: backoff_s * 2**(n-1)
    batch_timeout_s: float = bounded(180.0, "> 0")  # one batch's requests and retries in all; then the rest have failed

    def __post_init__(self) -> None:
        for key, value, valid in (("backend", self.backend, BACKENDS), ("api", self.api, APIS),
                                  ("on_failure", self.on_failure, ON_FAILURE), ("chat_template", self.chat_template, CHAT_MODES)):
            if value not in valid:
                raise ValueError(f"{key}={value!r} is not one of {list(valid)}")
        if self.metric != "auto" and self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r} is not 'auto' or one of {sorted(METRICS)}")
        for key, value in (("default_metric", self.default_metric),
                           *((f"metric_by_task.{task}", m) for task, m in self.metric_by_task.items())):
            if value not in METRICS:
                raise ValueError(f"{key}={value!r} is not one of {sorted(METRICS)}")
        try:
            self.prompt_template.format(instruction="", input="")
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"prompt_template may use only {{instruction}} and {{input}} ({type(err).__name__}: {err})") from err
        if self.backend == "openai" and not self.model:
            raise ValueError("backend=openai needs `model`, the model name the server serves")


def first_line(text: str) -> str:
    """A base model rambles on after its answer; the answer is its first non-blank line."""
    return text.strip().split("\n", 1)[0].strip()


class RewriteTaskModel:
    Settings = RewriteTaskModelSettings

    @staticmethod
    def build_embedded(settings: RewriteTaskModelSettings) -> None:
        """`stage=build_embedded`: train the embedded task model when this entry uses it."""
        if settings.backend == "hf" and not settings.model and settings.gguf is None and settings.embedded is not None:
            from ppo_suite.embedded_model import build_embedded_model

            build_embedded_model(settings.embedded)

    def __init__(self, settings: RewriteTaskModelSettings) -> None:
        self.settings = s = settings
        if s.backend == "hf":
            self.task_model = load_hf_task_model(
                s.model, s.embedded, s.device, s.dtype, s.max_new_tokens, s.batch_size, key="reward.rewrite_task_model",
                gguf=s.gguf, chat_template=s.chat_template,
            )
        else:
            from ppo_suite.backends.task_model import OpenAITaskModel

            self.task_model = OpenAITaskModel(
                s.base_url, s.model, s.api, os.environ.get(s.api_key_env) or "EMPTY", s.max_new_tokens,
                s.concurrency, s.timeout_s, s.max_retries, s.backoff_s, s.batch_timeout_s,
            )
        self.cache = AnswerCache(resolve_path(s.cache_file) if s.cache_file else None)
        # Everything that changes an answer besides the instruction and the input.
        self.model_key = f"{self.task_model.identity}|{s.prompt_template}|{s.max_new_tokens}"
        self.last_terms: dict[str, list[float]] = {}

    def __call__(self, prompts, completions, *, inputs, outputs, task, **_) -> list[float | None]:
        rewrites = [c.strip() for c in completions]
        keys = [[AnswerCache.key(self.model_key, r, x) for x in xs] for r, xs in zip(rewrites, inputs)]
        answers, cached = self._answers({k: (r, x) for r, xs, ks in zip(rewrites, inputs, keys) for x, k in zip(xs, ks)})
        scores: list[float | None] = []
        empty, hits = [], []
        for ks, golds, task_type in zip(keys, outputs, task):
            hits.append(sum(k in cached for k in ks) / len(ks))
            if any(k not in answers for k in ks):  # only with on_failure=skip: the failure was logged
                scores.append(None)
                continue
            lines = [first_line(answers[k]) for k in ks]
            scores.append(sum(self._metric(task_type, a, g) for a, g in zip(lines, golds)) / len(golds))
            empty.append(sum(not a for a in lines) / len(lines))
        # Empty answers score 0 like wrong ones; their share tells a mute task model from a wrong one.
        self.last_terms = {"empty_answers": empty, "cache_hits": hits}
        return scores

    def _metric(self, task_type: str, answer: str, gold: str) -> float:
        s = self.settings
        metric = s.metric_by_task.get(task_type, s.default_metric) if s.metric == "auto" else s.metric
        try:
            return score_answer(metric, answer, gold)
        except ValueError as err:  # e.g. numeric_match on a gold answer without a number
            raise ValueError(f"task {task_type!r} is scored with {metric}: {err}") from err

    def _answers(self, wanted: dict[str, tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
        """Answers for {cache key: (instruction, input)} and the keys the cache had; on_failure=skip leaves failed keys out."""
        cached = self.cache.get(list(wanted))
        todo = [k for k in wanted if k not in cached]
        if not todo:
            return cached, set(cached)
        prompts = [self.settings.prompt_template.format(instruction=wanted[k][0], input=wanted[k][1]) for k in todo]
        try:
            fresh = dict(zip(todo, self.task_model.answer(prompts)))
        except TaskModelError as err:
            if self.settings.on_failure == "error":
                raise
            fresh = {k: a for k, a in zip(todo, err.partial) if a is not None}
            log.warning("%s; on_failure=skip: the rewrites that needed the %d missing answers are left unscored",
                        err, len(todo) - len(fresh))
        self.cache.put(fresh)
        return cached | fresh, set(cached)
