"""Prompts for instruct models: the task's prompt becomes the user's turn of the model's chat template.

An instruct model answers well only in the format it was tuned on; fed a raw prompt it continues the text
instead. `model.chat_template` is `auto` (use the tokenizer's template when it has one), `on` or `off`, with an
optional `model.system_prompt`. The rendered text ends with the assistant header, so everything generated after
it is the response, and generation stops at the template's end-of-turn token, the tokenizer's EOS.
Rewards always see the task's prompt, not the template's markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppo_suite.errors import ConfigError

CHAT_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class PromptFormat:
    use_chat: bool
    system_prompt: str | None = None

    def render(self, tokenizer, prompts: list[str]) -> list[str]:
        if not self.use_chat:
            return list(prompts)
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [
            tokenizer.apply_chat_template(system + [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
            for p in prompts
        ]

    @property
    def add_special_tokens(self) -> bool:
        """A chat template writes its own BOS; the tokenizer must not add a second one."""
        return not self.use_chat


def prompt_format(tokenizer, mode: str, system_prompt: str | None) -> PromptFormat:
    if mode not in CHAT_MODES:
        raise ConfigError(f"model.chat_template={mode!r} is not one of {CHAT_MODES}")
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if mode == "on" and not has_template:
        raise ConfigError(
            "model.chat_template=on but this model's tokenizer has no chat template; use auto or off"
        )
    if system_prompt and not (mode == "on" or (mode == "auto" and has_template)):
        raise ConfigError("model.system_prompt is set but prompts are fed raw (no chat template): it would be ignored")
    return PromptFormat(use_chat=mode == "on" or (mode == "auto" and has_template), system_prompt=system_prompt)


def stop_token_ids(tokenizer, generation_config) -> list[int]:
    """The tokens that end a response: the tokenizer's EOS and any end-of-turn ids the model's generation config
    lists (Qwen's <|im_end|> and <|endoftext|>, Llama 3's <|eot_id|> and <|end_of_text|>)."""
    ids = [tokenizer.eos_token_id]
    extra = getattr(generation_config, "eos_token_id", None)
    ids += extra if isinstance(extra, list) else [extra]
    return sorted({i for i in ids if i is not None})
