"""Learned reward: the score of a reward model trained by the reward_model stage (a LoRA adapter and a score head).

With a LoRA policy on the same base the reward model trained on, its adapter is loaded as a second named adapter
on the policy's own weights: no second copy of the base (LLaMA-Factory's `reward_model_type: lora`). Otherwise
(a fully fine-tuned policy, or no policy: the evaluate stage) it loads its own base, as the reward_model run did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from omegaconf import MISSING, OmegaConf

from ppo_suite import reward_adapter as ra
from ppo_suite.chat import PromptFormat
from ppo_suite.config import bounded
from ppo_suite.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class LearnedRewardSettings:
    run_dir: str = MISSING  # a stage=reward_model run dir
    batch_size: int = bounded(16, ">= 1")
    device: str = "auto"  # only when it loads its own base: auto | cpu | cuda | cuda:N


class LearnedReward:
    Settings = LearnedRewardSettings
    shares_policy_base = True  # gets the PPO policy, to attach its adapter there

    def __init__(self, settings: LearnedRewardSettings, policy=None) -> None:
        from ppo_suite.models import load_tokenizer, model_source

        run_dir = Path(settings.run_dir).expanduser()
        record = ra.read_record(run_dir, "reward.learned.run_dir")
        trained = OmegaConf.load(run_dir / "config.yaml")  # the reward_model run's own config: its base, its precision
        if policy is not None and policy.is_peft:
            peft_lm, device, compute = self._attach(policy, run_dir, record)
        else:
            peft_lm, device, compute = self._own_base(trained, run_dir, settings.device)
        encoding = record["encoding"]
        self.scorer = ra.AdapterScorer(
            peft_lm, ra.load_head(run_dir, device), load_tokenizer(model_source(trained.model), trained.model),
            PromptFormat(encoding["chat_template"], encoding["system_prompt"]), encoding["max_length"],
            settings.batch_size, compute,
        )

    @staticmethod
    def _attach(policy, run_dir: Path, record: dict):
        if record["base"] != policy.base_identity:
            raise ConfigError(
                f"reward.learned.run_dir={str(run_dir)!r}: that reward adapter was trained on another base "
                f"({record['base']}) than the policy's ({policy.base_identity}); train it on this model (with the "
                "same model.adapter), or the scores mean nothing"
            )
        base_params = sum(p.numel() for n, p in policy.causal_lm.named_parameters() if "lora_" not in n)
        ra.attach(policy.lm, run_dir)
        reward_params = sum(p.numel() for n, p in policy.lm.named_parameters() if f".{ra.ADAPTER_NAME}." in n)
        log.info("learned reward: adapter %r attached to the policy's base (%s parameters, shared): +%s parameters, "
                 "no second copy of the base", ra.ADAPTER_NAME, f"{base_params:,}", f"{reward_params:,}")
        return policy.lm, policy.value_head.weight.device, policy.compute_dtype

    @staticmethod
    def _own_base(trained, run_dir: Path, device_setting: str):
        from peft import PeftModel

        from ppo_suite.models import autocast_dtype, load_model, model_source, resolve_device

        device = resolve_device(device_setting)
        lm = load_model(model_source(trained.model), trained.model, trained.hardware, device)
        peft_lm = PeftModel.from_pretrained(lm, str(run_dir / ra.ADAPTER_DIR), adapter_name=ra.ADAPTER_NAME).eval()
        return peft_lm, device, autocast_dtype(trained.hardware.autocast, device)

    def __call__(self, prompts, completions, **_) -> list[float]:
        return self.scorer(list(prompts), list(completions)).tolist()
