"""The ad-rewriting task, in the data layout of the original ad-rewriting project.

Files under `task.data_dir`:
    sampled_ads.json               ad id -> {"title", "description", ...}
    classified_ads.json            ad id -> domain
    rankings_original.json         query -> ad ids ranked by the retriever, best first
    query_responses_original.json  query -> the original LLM response (kept as a column)
    train_ppo.json, eval_ppo.json  [{"query", "ad_id"}, ...]: which ad to rewrite for which query

Each record gets the columns `query`, `ad_id`, `ad_text`, `domain` and `competitors`: the texts of the
other ads of the same domain that the query retrieved, best first (the domain-aware competition the
ad-similarity reward scores against).
"""

from __future__ import annotations

from pathlib import Path

from ppo_suite.config import AdsTaskConfig
from ppo_suite.paths import resolve_path
from ppo_suite.errors import DataError
from ppo_suite.tasks import TaskData, render_prompt
from ppo_suite.tasks.io import nonempty, read_json, require


def ad_text(ad: dict) -> str:
    return f"{ad['title'].rstrip('.')}. {ad['description']}"


def read_object(path: Path, what: str) -> dict:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object mapping {what}, got a {type(data).__name__}")
    return data


def load(cfg: AdsTaskConfig) -> TaskData:
    root = resolve_path(cfg.data_dir)
    ads_path = root / cfg.ads_file
    ads = read_object(ads_path, "ad ids to ads")
    for ad_id, ad in ads.items():
        require(ad, ["title", "description"], f"{ads_path}: ad {ad_id!r}")
    domains = read_object(root / cfg.domains_file, "ad ids to domains")
    rankings = read_object(root / cfg.rankings_file, "queries to ranked ad ids")
    responses = read_object(root / cfg.responses_file, "queries to responses")

    def records(filename: str) -> list[dict]:
        path = root / filename
        rows = read_json(path)
        if not isinstance(rows, list):
            raise DataError(f"{path}: expected a JSON list of {{'query', 'ad_id'}} records")
        out = []
        for i, row in enumerate(nonempty(rows, path)):
            where = f"{path}: record {i}"
            require(row, ["query", "ad_id"], where)
            query, ad_id = row["query"], row["ad_id"]
            if ad_id not in ads:
                raise DataError(f"{where}: ad_id {ad_id!r} is not in {ads_path}")
            domain = domains.get(ad_id)
            competitors = [
                ad_text(ads[other])
                for other in rankings.get(query, [])
                if other != ad_id and other in ads and domains.get(other) == domain
            ][: cfg.max_competitors]
            record = {
                "query": query,
                "ad_id": ad_id,
                "ad_text": ad_text(ads[ad_id]),
                "domain": domain or "unknown",
                "competitors": competitors,
                "response": responses.get(query, ""),
            }
            record["prompt"] = render_prompt(cfg.prompt_template, record, where)
            out.append(record)
        return out

    return TaskData(train=records(cfg.train_file), eval=records(cfg.eval_file))
