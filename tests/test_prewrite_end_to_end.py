"""A tiny PRewrite run through `run(cfg)`: the policy rewrites instructions, a tiny task model is scored."""

import json

from conftest import ROOT, TINY_RUN, make_config
from ppo_suite.runner import run

# Instead of the experiment's SmolLM2 task model, the reward group's embedded one shrunk like model=tiny_test,
# so that it builds in seconds.
TINY_SPEC = dict(corpus_dir="task_models/prewrite", vocab_size=512, hidden_size=32, num_layers=2, num_heads=2,
                 intermediate_size=64, pretrain_steps=30, pretrain_batch_size=16)
TINY_TASK_MODEL = [
    "reward.rewrite_task_model.gguf=null",
    "reward.rewrite_task_model.embedded={" + ",".join(f"{k}:{v}" for k, v in TINY_SPEC.items()) + "}",
]
PREWRITE_RUN = ["+experiment=prewrite", *TINY_RUN[1:], *TINY_TASK_MODEL]


def test_tiny_prewrite_run_logs_the_task_model_reward(tmp_path):
    summary = run(make_config(*PREWRITE_RUN, "eval.num_prompts=3"), run_dir=tmp_path)
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    step = next(m for m in metrics if "objective/kl" in m)
    for key in ("reward/rewrite_task_model/mean", "reward/rewrite_task_model/empty_answers/mean",
                "reward/rewrite_task_model/cache_hits/mean"):
        assert key in step, key
    assert 0.0 <= step["reward/rewrite_task_model/mean"] <= 1.0
    # Each held-out prompt asks to rewrite one of the held-out split's instructions.
    held_out = {json.loads(line)["instruction"] for line in (ROOT / "data/prewrite/eval.jsonl").read_text().splitlines() if line.strip()}
    for sample in summary["samples"]:
        assert sample["prompt"].rsplit("\n\nInstruction: ", 1)[1] in held_out
    for stage in ("initial", "final"):
        assert 0.0 <= summary[stage]["reward/rewrite_task_model/mean"] <= 1.0
