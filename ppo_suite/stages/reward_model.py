"""stage=reward_model: a reward model as a LoRA adapter and a score head on the policy's own base (TRL's
RewardTrainer), trained on preference pairs {"prompt", "chosen", "rejected"}.

The classifier shares the causal LM's trunk (with `model.adapter` merged, as PPO will load it), so the adapter
it learns is one PPO can attach to the policy's base as a second named adapter (`reward=learned`).
`stage.loss=pairwise` is TRL's Bradley-Terry loss; `stage.loss=similarity` is the ad project's three-term loss
(ppo_suite.reward_losses.similarity_loss) over sentence-embedding gaps computed once per pair, which needs the
rows' `query`, `ad_text` and `competitors`. Writes reward_adapter/, score_head.pt and reward_model.json with the
held-out pairwise accuracy before and after training, scored the way PPO will score.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn
from trl import RewardTrainer

from ppo_suite import reward_adapter as ra
from ppo_suite.errors import DataError
from ppo_suite.models import autocast_dtype, load_model, lora_config
from ppo_suite.reward_losses import similarity_loss
from ppo_suite.stages import output_dir, start_record, text_model
from ppo_suite.stages.training import finish_record, read_examples, trainer_arguments

log = logging.getLogger(__name__)
FIELDS = ["prompt", "chosen", "rejected"]
SIMILARITY_FIELDS = ["query", "ad_text"]  # and competitors, a list
GAPS = ("relevance_gap", "ranking_gap", "content_gap")


def run(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    from datasets import Dataset
    from trl import RewardConfig

    run_dir = output_dir(run_dir)
    s = cfg.stage
    fields = FIELDS + (SIMILARITY_FIELDS if s.loss == "similarity" else [])
    train_rows = read_pairs(s.train_file, fields, "stage.train_file", s.trainer.max_examples)
    eval_rows = read_pairs(s.eval_file, fields, "stage.eval_file", s.trainer.max_eval_examples) if s.eval_file else []
    started = start_record(cfg, run_dir)
    device, source, tokenizer, fmt = text_model(cfg)

    examples = []
    for row in train_rows:
        ids = {k: ra.pair_token_ids(tokenizer, fmt, row["prompt"], row[k]) for k in ("chosen", "rejected")}
        if max(map(len, ids.values())) <= s.trainer.max_length:
            examples.append({"chosen_ids": ids["chosen"], "rejected_ids": ids["rejected"]})
    if len(examples) < len(train_rows):
        log.warning("reward_model: %d of %d pairs are longer than stage.trainer.max_length=%d tokens and are left out",
                    len(train_rows) - len(examples), len(train_rows), s.trainer.max_length)
    if s.loss == "similarity":
        for example, gaps in zip(examples, similarity_gaps(train_rows, s.similarity)):
            example.update(gaps)

    torch.manual_seed(cfg.seed)  # the score head's initial weights
    lm = load_model(source, cfg.model, cfg.hardware, device)
    classifier = sequence_classifier(lm, tokenizer.pad_token_id)
    trainer_class = SimilarityRewardTrainer if s.loss == "similarity" else RewardTrainer
    extra = {"similarity": s.similarity} if s.loss == "similarity" else {}
    trainer = trainer_class(
        model=classifier,
        args=trainer_arguments(RewardConfig, cfg, run_dir, device, center_rewards_coefficient=None),
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        peft_config=lora_config(cfg.model, "SEQ_CLS"),
        **extra,
    )
    compute = autocast_dtype(cfg.hardware.autocast, device)
    report = {"loss": s.loss, "train_pairs": len(examples), "eval_pairs": len(eval_rows),
              "encoding": {"chat_template": fmt.use_chat, "system_prompt": fmt.system_prompt, "max_length": s.trainer.max_length}}
    if eval_rows:
        report["eval_accuracy_before"] = pairwise_accuracy(trainer.model, tokenizer, fmt, eval_rows, s.trainer, compute)
    result = trainer.train()
    report["train_loss"] = result.training_loss
    if eval_rows:
        report["eval_accuracy_after"] = pairwise_accuracy(trainer.model, tokenizer, fmt, eval_rows, s.trainer, compute)
    save(trainer.model, run_dir)
    report = finish_record(cfg, run_dir, ra.RECORD_FILE.removesuffix(".json"), started, trainer.state.log_history, report)
    accuracy = (f"; held-out pairwise accuracy {report['eval_accuracy_before']:.3f} -> {report['eval_accuracy_after']:.3f} "
                f"over {len(eval_rows)} pairs") if eval_rows else ""
    log.info("reward_model: train loss %.4f%s; use it with reward=learned reward.learned.run_dir=%s",
             report["train_loss"], accuracy, run_dir)
    return report.get("eval_accuracy_after")


def read_pairs(path_setting: str, fields: list[str], key: str, limit: int | None = None) -> list[dict]:
    rows = read_examples(path_setting, fields, key, limit)
    if "ad_text" in fields:
        for n, row in enumerate(rows):
            if not isinstance(row.get("competitors"), list):
                raise DataError(f"{path_setting}: row {n + 1}: stage.loss=similarity needs `competitors`, a list of ad texts")
    return rows


def sequence_classifier(lm: nn.Module, pad_token_id: int) -> nn.Module:
    """A one-output sequence classifier whose trunk is `lm`'s own trunk (shared, not copied) and a new score head."""
    from transformers import AutoModelForSequenceClassification

    config = copy.deepcopy(lm.config)
    config.num_labels, config.pad_token_id = 1, pad_token_id
    with torch.device("meta"):  # the classifier's own random trunk is never materialised
        classifier = AutoModelForSequenceClassification.from_config(config)
    setattr(classifier, classifier.base_model_prefix, lm.base_model)
    trunk_param = next(lm.parameters())
    classifier.score = nn.Linear(config.get_text_config().hidden_size, 1, bias=False, device=trunk_param.device, dtype=trunk_param.dtype)
    nn.init.normal_(classifier.score.weight, std=getattr(config, "initializer_range", 0.02))
    return classifier


def similarity_gaps(rows: list[dict], settings) -> list[dict]:
    """Per pair, chosen minus rejected of each similarity term (relevance, ranking, content), from the embedder."""
    from ppo_suite.rewards.ad_similarity import AdSimilarity, AdSimilaritySettings

    terms = AdSimilarity(AdSimilaritySettings(embedder=settings.embedder, margin=settings.margin))
    columns = {k: [r[k] for r in rows] for k in ("query", "ad_text", "competitors")}
    prompts = [r["prompt"] for r in rows]
    terms(prompts, [r["chosen"] for r in rows], **columns)
    chosen = terms.last_terms
    terms(prompts, [r["rejected"] for r in rows], **columns)
    rejected = terms.last_terms
    return [
        {f"{t}_gap": chosen[t][i] - rejected[t][i] for t in ("relevance", "ranking", "content")}
        for i in range(len(rows))
    ]


class SimilarityRewardTrainer(RewardTrainer):
    """TRL's RewardTrainer with the three-term similarity loss; the pairs carry their similarity gaps."""

    def __init__(self, *args, similarity, **kwargs) -> None:
        self.similarity = similarity
        super().__init__(*args, **kwargs)
        self.data_collator = _with_gaps(self.data_collator)

    def _set_signature_columns_if_needed(self):
        self._signature_columns = ["chosen_ids", "rejected_ids", *GAPS]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        gaps = {k: inputs.pop(k) for k in GAPS}
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
        r_chosen, r_rejected = outputs.logits.squeeze(-1).chunk(2)
        s = self.similarity
        loss, _ = similarity_loss(r_chosen, r_rejected, **gaps, alpha=s.alpha, beta=s.beta, gamma=s.gamma, temperature=s.temperature)
        return (loss, outputs) if return_outputs else loss


def _with_gaps(collator):
    def collate(examples: list[dict]) -> dict:
        batch = collator([{k: e[k] for k in ("chosen_ids", "rejected_ids")} for e in examples])
        for key in GAPS:
            batch[key] = torch.tensor([e[key] for e in examples], dtype=torch.float32)
        return batch

    return collate


def pairwise_accuracy(peft_classifier, tokenizer, fmt, rows: list[dict], trainer_settings, compute) -> float:
    """Fraction of held-out pairs whose chosen completion scores above the rejected one, scored by the
    AdapterScorer that PPO uses (the classifier's adapter, its head, the same encoding)."""
    scorer = ra.AdapterScorer(peft_classifier, peft_classifier.base_model.model.score.modules_to_save["default"],
                              tokenizer, fmt, trainer_settings.max_length, trainer_settings.micro_batch_size or trainer_settings.batch_size, compute,
                              adapter_name="default")
    was_training = peft_classifier.training
    peft_classifier.eval()
    prompts = [r["prompt"] for r in rows]
    chosen, rejected = scorer(prompts, [r["chosen"] for r in rows]), scorer(prompts, [r["rejected"] for r in rows])
    peft_classifier.train(was_training)
    return (chosen > rejected).float().mean().item()


def save(peft_classifier, run_dir: Path) -> None:
    """The LoRA weights as a causal-LM adapter (attachable to the policy's base) and the score head apart."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    state = get_peft_model_state_dict(peft_classifier)
    adapter_dir = run_dir / ra.ADAPTER_DIR
    adapter_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items() if "lora_" in k}, adapter_dir / "adapter_model.safetensors")
    config = copy.deepcopy(peft_classifier.peft_config["default"])
    config.task_type, config.modules_to_save = "CAUSAL_LM", None
    config.save_pretrained(str(adapter_dir))
    head = peft_classifier.base_model.model.score.modules_to_save["default"]
    torch.save({"weight": head.weight.detach().float().cpu()}, run_dir / ra.HEAD_FILE)
