"""The bundled SFT demonstrations: rendered as the tasks render their prompts, and never a PPO or held-out prompt."""

import json

from conftest import ROOT, make_config
from ppo_suite.tasks import load_task


def demonstration_prompts(path):
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]


def test_ads_demonstrations_are_other_ads_of_the_training_queries():
    data = load_task(make_config("+experiment=ads").task)
    demos = demonstration_prompts(ROOT / "data/ads/sft_ads.jsonl")
    train_queries = {r["query"] for r in data.train}
    assert demos and {p.split("\n")[0].removeprefix("Query: ") for p in demos} <= train_queries
    assert set(demos).isdisjoint(r["prompt"] for r in data.train + data.eval)
    # Same template as the task: re-rendering a demo's query and ad gives the demo's prompt.
    template = make_config("+experiment=ads").task.prompt_template
    query, ad_text = demos[0].removeprefix("Query: ").split("\nAd: ")
    assert template.format(query=query, ad_text=ad_text.removesuffix("\nRewritten ad:")) == demos[0]


def test_finqa_demonstrations_are_not_the_ppo_or_held_out_questions():
    data = load_task(make_config("+experiment=finqa").task)
    demos = demonstration_prompts(ROOT / "data/finqa/sft_finqa.jsonl")
    train_prompts = {r["prompt"] for r in data.train}
    assert set(demos).isdisjoint(r["prompt"] for r in data.eval)
    shared = set(demos) & train_prompts
    # Only the general questions (no passage) are shared: their facts cannot be answered unseen.
    assert shared and all(not r["input"] for r in data.train if r["prompt"] in shared)
    assert len(set(demos) - train_prompts) >= 300  # the financial demos are other questions
