"""Sampling responses from the policy: batched, left-padded prompts, KV cache, stop at EOS.

The policy's log-probs and values of the sampled tokens come with the rollout, from the trunk's hidden
states at each decoding step (as TRL and CleanRL take them from generation), so they cost no second
pass over the batch. In fp32 they equal a full forward's up to rounding (checked in tests/test_models.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ppo_suite.config import GenerationSettings


@dataclass
class Rollout:
    input_ids: torch.Tensor  # (B, P + T): left-padded prompts, then responses right-padded after EOS
    attention_mask: torch.Tensor  # (B, P + T)
    prompt_length: int  # P
    response_mask: torch.Tensor  # (B, T) float: 1 on response tokens up to and including the first EOS
    completions: list[str]
    logprobs: torch.Tensor  # (B, T) the policy's log-probs of the response tokens when they were sampled
    values: torch.Tensor  # (B, T) the value head's estimates at the same positions

    @property
    def responses(self) -> torch.Tensor:
        return self.input_ids[:, self.prompt_length :]


def response_mask_after_eos(responses: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """1 up to and including each row's first EOS, 0 after it (whatever padding follows)."""
    is_eos = responses == eos_token_id
    after_first_eos = (is_eos.long().cumsum(1) - is_eos.long()) > 0
    return (~after_first_eos).float()


def generation_config(gen: GenerationSettings, tokenizer):
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
        eos_token_id=tokenizer.eos_token_id,
        use_cache=True,
    )


@torch.no_grad()
def generate(
    policy, tokenizer, prompts: list[str], gen: GenerationSettings, max_prompt_tokens: int, device: torch.device
) -> Rollout:
    encoded = tokenizer(
        prompts, return_tensors="pt", padding=True, truncation=True, max_length=max_prompt_tokens
    ).to(device)
    # Each decoding step's trunk output ends with the state that predicts the next token: (B, 1, H).
    states = []
    hook = policy.causal_lm.base_model.register_forward_hook(
        lambda module, args, output: states.append(output.last_hidden_state[:, -1:])
    )
    was_training = policy.training
    policy.eval()
    try:
        with policy.merged_adapter():
            output = policy.lm.generate(**encoded, generation_config=generation_config(gen, tokenizer))
    finally:
        hook.remove()
        policy.train(was_training)
    prompt_length = encoded["input_ids"].shape[1]
    responses = output[:, prompt_length:]
    response_mask = response_mask_after_eos(responses, tokenizer.eos_token_id)
    keep = responses * response_mask.long() + tokenizer.pad_token_id * (1 - response_mask.long())
    completions = tokenizer.batch_decode(keep, skip_special_tokens=True)
    scored = policy.heads(torch.cat(states, dim=1), keep, gen.temperature)
    return Rollout(
        input_ids=torch.cat([encoded["input_ids"], keep], dim=1),
        attention_mask=torch.cat([encoded["attention_mask"], response_mask.long()], dim=1),
        prompt_length=prompt_length,
        response_mask=response_mask,
        completions=[c.strip() for c in completions],
        logprobs=scored["logprobs"],
        values=scored["values"],
    )
