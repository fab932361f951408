"""A tiny PRewrite run through `run(cfg)`: the policy rewrites instructions, a tiny task model is scored."""

import json

from conftest import ROOT, TINY_RUN, built, make_config
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
    summary = run(built(make_config(*PREWRITE_RUN, "eval.num_prompts=3")), run_dir=tmp_path)
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


def test_prewrite_search_picks_the_best_candidate_on_dev_and_reports_the_test_split(tmp_path):
    from ppo_suite.stages import run_stage

    rows = [json.loads(line) for line in (ROOT / "data/prewrite/train.jsonl").read_text().splitlines() if line.strip()]
    two = sorted({r["instruction"] for r in rows})[:2]
    kept = [r for r in rows if r["instruction"] in two]
    dev, test = tmp_path / "dev.jsonl", tmp_path / "test.jsonl"
    dev.write_text("".join(json.dumps(r) + "\n" for r in kept[::2]))
    test.write_text("".join(json.dumps(r) + "\n" for r in kept[1::2]))
    cfg = built(make_config(*PREWRITE_RUN, "stage=prewrite_search", "stage.num_candidates=3", f"stage.dev_file={dev}",
                            f"task.eval_file={test}"))
    run_stage(cfg, tmp_path / "run")
    result = json.loads((tmp_path / "run/prewrite_search.json").read_text())
    assert sorted(r["instruction"] for r in result["instructions"]) == two
    for r in result["instructions"]:
        dev_scores = [c["dev"] for c in r["candidates"]]
        assert r["prewrite_s"]["dev"] == max(dev_scores)  # the best candidate on the dev split
        assert r["prewrite_i"]["text"] == r["candidates"][0]["text"]  # the greedy rewrite is a candidate too
        assert 1 <= len(r["candidates"]) <= 4
    means = result["test_mean"]
    assert means["prewrite_s"] == sum(r["prewrite_s"]["test"] for r in result["instructions"]) / 2
    assert "| **mean** |" in (tmp_path / "run/prewrite_search.md").read_text()
