"""The ads task: its data files, and errors that name the file and line."""

import json
import shutil

import pytest

from conftest import ROOT, make_config
from ppo_suite.errors import DataError
from ppo_suite.tasks import columns_of, load_task


def test_ads_task_loads_the_bundled_data():
    task = make_config("+experiment=ads").task
    data = load_task(task)
    domains = json.loads((ROOT / "data/ads/classified_ads.json").read_text())
    assert len(data.train) >= 100 and len(data.eval) >= 20
    assert {r["query"] for r in data.train}.isdisjoint({r["query"] for r in data.eval})
    for record in data.train[:50]:
        assert record["prompt"] == task.prompt_template.format(query=record["query"], ad_text=record["ad_text"])
        assert record["ad_text"] not in record["competitors"]
    columns = columns_of(data.train[:3])
    assert set(columns) == {"query", "ad_id", "ad_text", "domain", "competitors", "response"}
    assert all(domains[r["ad_id"]] == r["domain"] for r in data.train)


@pytest.fixture
def ads_copy(tmp_path):
    shutil.copytree(ROOT / "data/ads", tmp_path / "ads", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "ads"


def test_malformed_json_names_file_and_line(ads_copy):
    (ads_copy / "train_ppo.json").write_text('[\n {"query": "a", "ad_id": "A0001"},\n {"query": oops}\n]\n')
    with pytest.raises(DataError, match=r"train_ppo\.json:3: malformed JSON"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)


def test_unknown_ad_id_and_missing_field_are_named(ads_copy):
    (ads_copy / "train_ppo.json").write_text(json.dumps([{"query": "a", "ad_id": "NOPE"}]))
    with pytest.raises(DataError, match=r"train_ppo\.json: record 0: ad_id 'NOPE'"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)
    (ads_copy / "train_ppo.json").write_text(json.dumps([{"ad_id": "A0001"}]))
    with pytest.raises(DataError, match=r"record 0: missing or null field\(s\) \['query'\]"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)


def test_missing_and_empty_files(ads_copy):
    (ads_copy / "eval_ppo.json").unlink()
    with pytest.raises(DataError, match=r"eval_ppo\.json: file not found"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)
    (ads_copy / "train_ppo.json").write_text("[]")
    with pytest.raises(DataError, match="empty"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}", "task.eval_file=train_ppo.json").task)
