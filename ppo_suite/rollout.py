"""Sampling responses from the policy: batched, left-padded prompts (in the model's chat template where it has
one), KV cache, stop at the end-of-turn token or a stop string.

The policy's log-probs and values of the sampled tokens come with the rollout (as TRL and CleanRL take them from
generation), so they cost no second pass over the batch: the log-probs from the logits each decoding step drew its
token from, the values from the trunk's hidden states. In fp32 they equal a full forward's up to rounding (checked
in tests/test_models.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from ppo_suite.chat import PromptFormat, stop_token_ids
from ppo_suite.config import GenerationSettings
from ppo_suite.token_logprobs import token_logprobs


@dataclass
class Rollout:
    input_ids: torch.Tensor  # (B, P + T): left-padded prompts, then responses right-padded after EOS
    attention_mask: torch.Tensor  # (B, P + T)
    prompt_length: int  # P
    response_mask: torch.Tensor  # (B, T) float: 1 on response tokens up to and including the first stop token
    finished: torch.Tensor  # (B,) bool: the response ended with a stop token (not cut at max_new_tokens)
    completions: list[str]
    logprobs: torch.Tensor  # (B, T) the policy's log-probs of the response tokens when they were sampled
    values: torch.Tensor  # (B, T) the value head's estimates at the same positions

    @property
    def responses(self) -> torch.Tensor:
        return self.input_ids[:, self.prompt_length :]


class SampledLogprobs:
    """log p(token) of each sampled token under the raw logits generation drew it from (before its processors: what
    a training forward computes, and by the same arithmetic), one decoding step at a time: a step's (B, V) logits
    wait only until the next step's input, which is the token drawn from them, so no (B, T, V) tensor is kept and
    no second LM-head pass runs."""

    def __init__(self, temperature: float) -> None:
        self.temperature = temperature
        self.pending: torch.Tensor | None = None  # (B, V) the last step's logits, their token not seen yet
        self.columns: list[torch.Tensor] = []

    def logits(self, module, args, output: torch.Tensor) -> None:
        """Forward hook of the LM head: (B, L, V) logits, the last position's predicting the next token."""
        self.pending = output[:, -1]

    def drawn(self, tokens: torch.Tensor) -> None:
        """The (B,) tokens drawn from the pending step."""
        if self.pending is not None:
            logprobs, _ = token_logprobs(lambda logits: logits, self.pending, tokens, self.temperature)
            self.columns.append(logprobs.unsqueeze(-1))
            self.pending = None

    def trunk_input(self, module, args, kwargs) -> None:
        """Forward pre-hook of the trunk: a decoding step's input is the token the previous step drew."""
        self.drawn(kwargs["input_ids"][:, -1])


def response_mask_after_eos(responses: torch.Tensor, stop_ids: list[int]) -> torch.Tensor:
    """1 up to and including each row's first stop token, 0 after it (whatever padding follows)."""
    is_stop = torch.isin(responses, torch.tensor(stop_ids, device=responses.device)).long()
    after_first_stop = (is_stop.cumsum(1) - is_stop) > 0
    return (~after_first_stop).float()


def cut_at_stop_strings(text: str, stop_strings: list[str]) -> str:
    """The completion up to the first stop string (which generation included and stopped after)."""
    cuts = [text.index(s) for s in stop_strings if s in text]
    return text[: min(cuts)] if cuts else text


def generation_config(gen: GenerationSettings, tokenizer, stop_ids: list[int]):
    """The sampling settings of `gen` as a transformers GenerationConfig."""
    from transformers import GenerationConfig

    return GenerationConfig(
        do_sample=True,
        temperature=gen.temperature,
        top_k=gen.top_k,
        top_p=gen.top_p,
        max_new_tokens=gen.max_new_tokens,
        min_new_tokens=gen.min_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=stop_ids,
        stop_strings=list(gen.stop_strings) or None,
        use_cache=True,
    )


class InverseCdfDraw:
    """Sampling's token draw as the last logits processor of a greedy `generate`: the warpers transformers applies
    when sampling (temperature, top-k, top-p, in its order), then one token per row by inverse transform sampling,
    the returned scores -inf but at that token, which the greedy step then takes.

    transformers draws with `torch.multinomial`, which on a CPU spends an exponential variate per vocabulary entry:
    17 ms per decoding step of 16 rows over SmolLM2's 49,152 tokens on 2 cores, 0.5 s of a 32-token rollout; a
    cumulative sum and a search over it take ~0.5 ms. Same distribution, another stream of random numbers."""

    def __init__(self, config) -> None:
        from transformers.generation.logits_process import (
            TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper,
        )

        self.warpers = []
        if config.temperature is not None and config.temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(config.temperature))
        if config.top_k:
            self.warpers.append(TopKLogitsWarper(config.top_k))
        if config.top_p is not None and config.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(config.top_p))

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        for warper in self.warpers:
            scores = warper(input_ids, scores)
        cdf = torch.softmax(scores.float(), dim=-1).cumsum(-1, dtype=torch.float64)
        # a uniform in [0, 1 - 2^-24] times the total mass stays below it in float64: the search never runs past
        # the end, and a token of probability 0 (an empty step of the CDF) is never the first entry above it
        threshold = torch.rand(len(cdf), 1, device=cdf.device).double() * cdf[:, -1:]
        tokens = torch.searchsorted(cdf, threshold, right=True)
        return torch.full_like(scores, -torch.inf).scatter_(-1, tokens, 0.0)


def greedy_with_inverse_cdf_draw(config):
    """A sampling GenerationConfig as a greedy one and the logits processor that draws (`InverseCdfDraw`)."""
    from transformers import LogitsProcessorList

    draw = InverseCdfDraw(config)
    greedy = copy.deepcopy(config)
    greedy.do_sample, greedy.temperature, greedy.top_k, greedy.top_p = False, None, None, None
    return greedy, LogitsProcessorList([draw])


@torch.no_grad()
def generate(
    policy,
    tokenizer,
    prompts: list[str],
    gen: GenerationSettings,
    max_prompt_tokens: int,
    device: torch.device,
    prompt_format: PromptFormat = PromptFormat(use_chat=False),
) -> Rollout:
    encoded = tokenizer(
        prompt_format.render(tokenizer, prompts), return_tensors="pt", padding=True, truncation=True,
        max_length=max_prompt_tokens, add_special_tokens=prompt_format.add_special_tokens,
    ).to(device)
    # A finished row is padded to the end of the batch; padding never belongs to a response, so it ends one too.
    stop_ids = stop_token_ids(tokenizer, policy.causal_lm.generation_config)
    ends = sorted({*stop_ids, tokenizer.pad_token_id})
    # Each decoding step's trunk output ends with the state that predicts the next token: (B, 1, H).
    states = []
    sampled = SampledLogprobs(gen.temperature)
    trunk = policy.causal_lm.base_model
    hooks = [
        trunk.register_forward_hook(lambda module, args, output: states.append(output.last_hidden_state[:, -1:])),
        trunk.register_forward_pre_hook(sampled.trunk_input, with_kwargs=True),
        policy.causal_lm.get_output_embeddings().register_forward_hook(sampled.logits),
    ]
    was_training = policy.training
    policy.eval()
    try:
        config, draw = greedy_with_inverse_cdf_draw(generation_config(gen, tokenizer, stop_ids))
        with policy.merged_adapter(), policy.autocast():
            output = policy.lm.generate(**encoded, generation_config=config, logits_processor=draw, tokenizer=tokenizer)
    finally:
        for hook in hooks:
            hook.remove()
        policy.train(was_training)
    sampled.drawn(output[:, -1])  # the last token drawn: no decoding step followed it
    prompt_length = encoded["input_ids"].shape[1]
    responses = output[:, prompt_length:]
    response_mask = response_mask_after_eos(responses, ends)
    keep = responses * response_mask.long() + tokenizer.pad_token_id * (1 - response_mask.long())
    texts = tokenizer.batch_decode(keep, skip_special_tokens=True)
    stopped_by_string = [any(s in t for s in gen.stop_strings) for t in texts]
    finished = torch.isin(responses, torch.tensor(ends, device=responses.device)).any(1).cpu()
    finished |= torch.tensor(stopped_by_string, dtype=torch.bool)
    completions = [cut_at_stop_strings(t, list(gen.stop_strings)) for t in texts]
    with policy.autocast():
        values = policy.value(torch.cat(states, dim=1))
    return Rollout(
        input_ids=torch.cat([encoded["input_ids"], keep], dim=1),
        attention_mask=torch.cat([encoded["attention_mask"], response_mask.long()], dim=1),
        prompt_length=prompt_length,
        response_mask=response_mask,
        finished=finished,
        completions=[c.strip() for c in completions],
        logprobs=torch.cat(sampled.columns, dim=1),
        values=values,
    )


@torch.no_grad()
def forward_no_grad(policy, rollout: Rollout, micro_batch: int, temperature: float, with_values: bool) -> dict:
    """(B, T) log-probs (and values) of the rollout's responses under the policy as it is, in micro-batches."""
    policy.eval()
    chunks = []
    for i in range(0, len(rollout.input_ids), micro_batch):
        ids, attn = rollout.input_ids[i : i + micro_batch], rollout.attention_mask[i : i + micro_batch]
        chunks.append(policy(ids, attn, rollout.prompt_length, temperature, with_values=with_values))
    return {key: torch.cat([c[key] for c in chunks]) for key in chunks[0]}


def reference_logprobs(policy, rollout: Rollout, micro_batch: int, temperature: float) -> torch.Tensor:
    """(B, T) log-probs of the rollout's responses under the reference policy: one pass, adapter off."""
    with policy.reference():
        return forward_no_grad(policy, rollout, micro_batch, temperature, with_values=False)["logprobs"]
