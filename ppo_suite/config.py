"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each YAML option lists its schema first in its defaults (`- base_<group>`), so a misspelled key or a
wrong type fails when Hydra composes the config, before any model loads. Rewards are keyed by name
under `reward` (several may be selected as a list); their parameters are checked against the reward's
own schema by `ppo_suite.rewards.build_rewards` at start-up, again before any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class EmbeddedModelConfig:
    """A small Llama built locally: BPE tokenizer trained on `corpus_dir`, weights pre-trained on it."""

    vocab_size: int = 2048
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 384
    max_position_embeddings: int = 256
    pretrain_steps: int = 600
    pretrain_batch_size: int = 32
    pretrain_seq_len: int = 64
    pretrain_lr: float = 3e-3
    sft_steps: int = 0  # then this many steps on the corpus's prompt/completion records, loss on completions
    sft_batch_size: int = 16
    sft_lr: float = 1e-3
    corpus_dir: str = "data"  # relative to the project root unless absolute
    seed: int = 0


@dataclass
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0  # PPO ratios need deterministic forwards: keep 0 unless you know why not
    target_modules: Any = "all-linear"  # "all-linear" or a list of module names


@dataclass
class ModelConfig:
    name_or_path: str = ""  # hub id ("gpt2", "Qwen/...") or local directory; empty when `embedded` is set
    embedded: Optional[EmbeddedModelConfig] = None  # build this model locally instead of loading one
    finetune: str = "lora"  # lora | full
    lora: LoraSettings = field(default_factory=LoraSettings)
    revision: Optional[str] = None
    trust_remote_code: bool = False


@dataclass
class HardwareConfig:
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "float32"  # float32 | bfloat16 | float16 | auto (bf16 on CUDA, fp32 on CPU)
    load_in_4bit: bool = False  # QLoRA: NF4 base weights through bitsandbytes, LoRA on top
    bnb_4bit_quant_type: str = "nf4"
    bnb_4bit_use_double_quant: bool = True
    micro_batch_size: int = 8  # sequences per forward/backward; mini-batches are accumulated from these
    gradient_checkpointing: bool = False
    attn_implementation: Optional[str] = None  # sdpa | eager | flash_attention_2; None = transformers' choice
    num_threads: Optional[int] = None  # torch CPU threads; None = torch's default


@dataclass
class GenerationSettings:
    max_new_tokens: int = 32
    min_new_tokens: int = 0  # EOS is blocked until this many tokens: = max_new_tokens gives fixed-length rollouts
    temperature: float = 1.0
    top_k: int = 0  # 0 disables top-k
    top_p: float = 1.0


@dataclass
class PPOConfig:
    steps: int = 100  # PPO iterations (rollout + update)
    batch_size: int = 16  # completions per iteration
    samples_per_prompt: int = 1  # completions of each prompt in a batch (batch_size / this = prompts)
    group_baseline: bool = False  # subtract each prompt's mean score from its completions' (needs samples_per_prompt > 1)
    num_mini_batches: int = 2
    ppo_epochs: int = 2
    learning_rate: float = 1e-4
    lr_scheduler: str = "constant"  # any transformers scheduler name: constant, linear, cosine, ...
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    gamma: float = 1.0
    lam: float = 0.95
    cliprange: float = 0.2
    cliprange_value: float = 0.2
    vf_coef: float = 0.1
    ent_coef: float = 0.0
    kl_coef: float = 0.05  # initial coefficient of the per-token KL penalty
    kl_estimator: str = "k1"  # k1 | k3
    adaptive_kl: bool = False
    kl_target: float = 6.0  # adaptive controller: target sequence KL
    kl_horizon: int = 10000  # adaptive controller: horizon in samples
    whiten_advantages: bool = True
    reward_scale: float = 1.0
    reward_norm: bool = False  # divide scores by a running std before the KL penalty is added
    reward_clip: Optional[float] = None  # clip scores to [-c, c] after scaling/normalising
    target_kl: Optional[float] = None  # stop an iteration's epochs once approx KL passes this


@dataclass
class EvalConfig:
    num_prompts: int = 64  # held-out prompts scored before and after training (0 = skip)
    samples_per_prompt: int = 1
    show_samples: int = 3  # before/after samples printed in the summary
    seed: int = 1234  # sampling seed of the evaluation, fixed so initial and final are comparable


@dataclass
class LoggerConfig:
    backend: str = "none"  # none | wandb
    mode: str = "offline"  # wandb: online | offline
    project: str = "ppo_suite"
    entity: Optional[str] = None
    group: Optional[str] = None  # sweeps: one group per multirun
    name: Optional[str] = None
    tags: list[str] = field(default_factory=list)
    log_every: int = 1
    samples_every: int = 10  # a table of prompt/completion/rewards every N steps (0 = never)
    samples_rows: int = 8


@dataclass
class TaskConfig:
    """Fields every task has; each task's schema extends it."""

    name: str = MISSING  # the loader in ppo_suite.tasks
    prompt_template: str = MISSING  # str.format over the record's columns
    max_prompt_tokens: int = 128


@dataclass
class AdsTaskConfig(TaskConfig):
    name: str = "ads"
    data_dir: str = "data/ads"  # relative to the project root unless absolute
    ads_file: str = "sampled_ads.json"
    domains_file: str = "classified_ads.json"
    rankings_file: str = "rankings_original.json"
    responses_file: str = "query_responses_original.json"
    train_file: str = "train_ppo.json"
    eval_file: str = "eval_ppo.json"
    max_competitors: int = 5  # competing same-domain ads per query passed to the reward


@dataclass
class PRewriteTaskConfig(TaskConfig):
    """PRewrite: the policy rewrites each task's instruction; prompt_template may use {meta_prompt}, {instruction}."""

    name: str = "prewrite"
    train_file: str = "data/prewrite/train.jsonl"  # .jsonl or .parquet rows of instruction, input, output[, task, template]
    eval_file: Optional[str] = "data/prewrite/eval.jsonl"  # held-out rows, same format; null = no held-out evaluation
    meta_prompt: str = MISSING  # what the rewriter is asked to do with the instruction
    examples_per_prompt: int = 4  # examples of the instruction's task that each prompt carries, and the reward scores


@dataclass
class PromptsTaskConfig(TaskConfig):
    """Plain prompts, one per line of a UTF-8 text file; each line is the column `text`."""

    name: str = "prompts"
    prompt_template: str = "{text}"
    train_file: str = MISSING  # relative to the project root unless absolute
    eval_file: Optional[str] = None  # held-out prompts in the same format; null = no held-out evaluation


@dataclass
class JsonlTaskConfig(TaskConfig):
    """Records of a JSONL (or Parquet) file, Alpaca's instruction/input/output or any fields; each field is a column."""

    name: str = "jsonl"
    train_file: str = MISSING  # relative to the project root unless absolute
    eval_file: Optional[str] = None  # held-out records in the same format; null = no held-out evaluation
    required_fields: list[str] = field(default_factory=list)  # checked on every record, e.g. the reward's gold column
    fallback_template: Optional[str] = None  # for records where a field of prompt_template is missing or empty


@dataclass
class Config:
    model: ModelConfig = MISSING
    hardware: HardwareConfig = MISSING
    task: Any = MISSING  # a TaskConfig subclass, chosen by the task group
    reward: Any = MISSING  # {reward name: its settings}, checked by ppo_suite.rewards
    logger: LoggerConfig = MISSING
    ppo: PPOConfig = field(default_factory=PPOConfig)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    checkpoint_every: int = 0  # save a resumable checkpoint every N steps (0 = only at the end)
    resume: Optional[str] = None  # a run dir: continue from its latest checkpoint, in that dir
    experiment_name: str = "default"


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="model", name="base_model", node=ModelConfig)
    cs.store(group="hardware", name="base_hardware", node=HardwareConfig)
    cs.store(group="logger", name="base_logger", node=LoggerConfig)
    cs.store(group="task", name="base_ads", node=AdsTaskConfig)
    cs.store(group="task", name="base_prompts", node=PromptsTaskConfig)
    cs.store(group="task", name="base_jsonl", node=JsonlTaskConfig)
    cs.store(group="task", name="base_prewrite", node=PRewriteTaskConfig)
