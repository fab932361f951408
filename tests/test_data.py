"""The bundled SFT demonstrations: rendered as the tasks render their prompts, and never a PPO or held-out prompt."""

import json
import re

from conftest import ROOT, make_config
from ppo_suite.tasks import load_task


def demonstration_prompts(path):
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]


def test_ads_demonstrations_are_other_ads_of_the_training_queries():
    data = load_task(make_config("+experiment=ads").task)
    demos = demonstration_prompts(ROOT / "data/ads/sft_ads.jsonl")
    train_queries = {r["query"] for r in data.train}
    template = make_config("+experiment=ads").task.prompt_template
    # Same template as the task: each demo is the template around a query and an ad.
    pattern = re.escape(template).replace(re.escape("{query}"), "(.*)").replace(re.escape("{ad_text}"), "(.*)")
    parsed = [re.fullmatch(pattern, demo, re.S).groups() for demo in demos]
    assert demos and {query for query, _ in parsed} <= train_queries
    assert all(template.format(query=q, ad_text=a) == demo for (q, a), demo in zip(parsed, demos))
    assert set(demos).isdisjoint(r["prompt"] for r in data.train + data.eval)


def test_finqa_demonstrations_are_not_the_ppo_or_held_out_questions():
    data = load_task(make_config("+experiment=finqa").task)
    demos = demonstration_prompts(ROOT / "data/finqa/sft_finqa.jsonl")
    train_prompts = {r["prompt"] for r in data.train}
    assert set(demos).isdisjoint(r["prompt"] for r in data.eval)
    shared = set(demos) & train_prompts
    # Only the general questions (no passage) are shared: their facts cannot be answered unseen.
    assert shared and all(not r["input"] for r in data.train if r["prompt"] in shared)
    assert len(set(demos) - train_prompts) >= 300  # the financial demos are other questions
