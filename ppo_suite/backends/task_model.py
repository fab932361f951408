"""Frozen task models that answer prompts greedily: a local transformers LM, or an OpenAI-compatible server.

Both backends take a list of prompts and return one answer text per prompt, in order. A backend either
answers every prompt or raises `TaskModelError`, which carries the answers it did get (None where a
prompt failed) so that a caller may choose to skip the failed ones instead of stopping.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from ppo_suite.chat import PromptFormat, prompt_format, stop_token_ids
from ppo_suite.errors import ConfigError, RewardError

log = logging.getLogger(__name__)


class TaskModelError(RewardError):
    """The task model gave no usable answer for some prompts, even after retries."""

    def __init__(self, message: str, partial: list[str | None]):
        super().__init__(message)
        self.partial = partial


class HFTaskModel:
    """A local causal LM: batched greedy decoding of left-padded prompts."""

    def __init__(
        self, lm, tokenizer, device: torch.device, max_new_tokens: int, batch_size: int, identity: str,
        prompt_format: PromptFormat = PromptFormat(use_chat=False),
    ):
        self.lm = lm.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.prompt_format = prompt_format  # an instruct task model reads each prompt as its user turn
        self.stop_ids = stop_token_ids(tokenizer, lm.generation_config)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.identity = identity  # what the answer cache keys this model by
        # Keep the end of an over-long prompt: that is where the input and the answer cue sit.
        self.tokenizer.truncation_side = "left"
        self.max_prompt_tokens = getattr(lm.config.get_text_config(), "max_position_embeddings", 2048) - max_new_tokens
        self.truncated = 0  # prompts cut to fit the context window so far, reported once

    @torch.no_grad()
    def answer(self, prompts: list[str]) -> list[str]:
        answers = []
        for i in range(0, len(prompts), self.batch_size):
            chunk = prompts[i : i + self.batch_size]
            rendered = self.prompt_format.render(self.tokenizer, chunk)
            encoded = self.tokenizer(
                rendered, return_tensors="pt", padding=True, truncation=True, max_length=self.max_prompt_tokens,
                add_special_tokens=self.prompt_format.add_special_tokens,
            ).to(self.device)
            self._note_truncation(rendered, encoded["attention_mask"])
            output = self.lm.generate(
                **encoded,
                do_sample=False,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.stop_ids,
            )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            answers.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return answers

    def _note_truncation(self, prompts: list[str], attention_mask: torch.Tensor) -> None:
        if int(attention_mask.sum(1).max()) < self.max_prompt_tokens:
            return
        full_lengths = [len(ids) for ids in self.tokenizer(prompts)["input_ids"]]
        cut = sum(n > self.max_prompt_tokens for n in full_lengths)
        if cut and not self.truncated:
            log.warning(
                "task model %s: prompts longer than its %d-token window are cut from the left (the instruction "
                "goes first); use a model with a longer context or shorter inputs", self.identity, self.max_prompt_tokens,
            )
        self.truncated += cut


def load_hf_task_model(
    model: str, embedded, device_name: str, dtype_name: str, max_new_tokens: int, batch_size: int, key: str,
    gguf=None, chat_template: str = "off",
) -> HFTaskModel:
    """Resolve `model` (hub id, local dir, "" for the embedded model) or `gguf` the way the policy is resolved."""
    from transformers import AutoModelForCausalLM

    from ppo_suite.config import ModelConfig
    from ppo_suite.models import DTYPES, _from_pretrained, load_tokenizer, model_source, resolve_device

    if not model and embedded is None and gguf is None:
        raise ConfigError(
            f"{key}.model is empty and neither {key}.gguf nor {key}.embedded is set: name a hub id or a local model dir"
        )
    if dtype_name not in DTYPES:
        raise ConfigError(f"{key}.dtype={dtype_name!r} is not one of {sorted(DTYPES)}")
    if model:
        model_cfg = ModelConfig(name_or_path=model)
    else:
        model_cfg = ModelConfig(gguf=gguf) if gguf is not None else ModelConfig(embedded=embedded)
    source = model_source(model_cfg, key)
    device = resolve_device(device_name)
    lm = _from_pretrained(AutoModelForCausalLM, source, "task model", key=f"{key}.model", dtype=DTYPES[dtype_name]).to(device)
    tokenizer = load_tokenizer(source, model_cfg)
    fmt = prompt_format(tokenizer, chat_template, None)
    identity = f"hf:{source}" + ("|chat" if fmt.use_chat else "")
    return HFTaskModel(lm, tokenizer, device, max_new_tokens, batch_size, identity=identity, prompt_format=fmt)


class MalformedAnswer(Exception):
    """The server answered, but not with a completion (no choices, or no text)."""


class OpenAITaskModel:
    """Any OpenAI-compatible server (vLLM, Ollama, `transformers serve`, ...), queried concurrently.

    `api="completions"` sends the raw prompt (base models); `api="chat"` sends it as one user message
    (instruct models, which need a chat template on the server). Connection errors, timeouts, rate
    limits, 5xx answers and malformed answers are retried with exponential backoff; other 4xx answers
    (wrong model name, bad request, bad key) will not improve with retries and fail at once. A batch
    gets `batch_timeout_s` in all, retries included: a prompt still unanswered then has failed.
    """

    def __init__(
        self, base_url: str, model: str, api: str, api_key: str, max_new_tokens: int, concurrency: int,
        timeout_s: float, max_retries: int, backoff_s: float, batch_timeout_s: float,
    ):
        import openai

        # The client's own retries are off: ours log each attempt and wrap the last error with the server's name.
        # Its timeout is given per request, what is left of the batch's time capping it.
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
        self.retryable = (
            openai.APIConnectionError,  # includes APITimeoutError
            openai.RateLimitError,
            openai.InternalServerError,
            MalformedAnswer,
        )
        self.base_url, self.model, self.api = base_url, model, api
        self.max_new_tokens, self.concurrency = max_new_tokens, concurrency
        self.timeout_s, self.max_retries, self.backoff_s, self.batch_timeout_s = timeout_s, max_retries, backoff_s, batch_timeout_s
        self.identity = f"openai:{base_url}:{model}:{api}"

    def answer(self, prompts: list[str]) -> list[str]:
        deadline = time.monotonic() + self.batch_timeout_s
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            outcomes = list(pool.map(lambda prompt: self._answer_or_error(prompt, deadline), prompts))
        failures = [o for o in outcomes if isinstance(o, Exception)]
        if failures:
            partial = [None if isinstance(o, Exception) else o for o in outcomes]
            raise TaskModelError(
                f"task model {self.model!r} at {self.base_url}: {len(failures)} of {len(prompts)} requests failed "
                f"after {self.max_retries + 1} attempts each at most, within the batch's {self.batch_timeout_s:g} s; "
                f"first error: {type(failures[0]).__name__}: {failures[0]}. "
                "Is the server running and serving that model name?",
                partial,
            )
        return outcomes

    def _answer_or_error(self, prompt: str, deadline: float) -> str | Exception:
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return TimeoutError(f"unanswered when the batch's {self.batch_timeout_s:g} s (batch_timeout_s) ran out")
            try:
                return self._request(prompt, timeout=min(self.timeout_s, remaining))
            except self.retryable as err:
                if attempt == self.max_retries:
                    return err
                delay = self.backoff_s * 2**attempt
                attempt += 1
                log.warning("task model request failed (%s: %s); retry %d/%d in %.1fs",
                            type(err).__name__, err, attempt, self.max_retries, delay)
                time.sleep(delay)
            except Exception as err:  # noqa: BLE001 - a 4xx, or anything unexpected: retrying will not help
                return err

    def _request(self, prompt: str, timeout: float) -> str:
        common = dict(model=self.model, max_tokens=self.max_new_tokens, temperature=0.0, timeout=timeout)
        try:
            if self.api == "chat":
                response = self.client.chat.completions.create(messages=[{"role": "user", "content": prompt}], **common)
                return _first_choice(response, lambda choice: choice.message.content)
            response = self.client.completions.create(prompt=prompt, **common)
            return _first_choice(response, lambda choice: choice.text)
        except json.JSONDecodeError as err:  # a 200 whose body is not JSON: a proxy's error page, say
            raise MalformedAnswer(f"the server's answer is not JSON ({err})") from err


def _first_choice(response, get_text) -> str:
    try:
        text = get_text(response.choices[0])
    except (AttributeError, IndexError, TypeError) as err:
        raise MalformedAnswer(f"no completion in the server's answer {str(response)[:200]!r}") from err
    if not isinstance(text, str):
        raise MalformedAnswer(f"the completion's text is {text!r}, not a string")
    return text
