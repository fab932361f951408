"""The prewrite task: the bundled data, grouping into prompts, Parquet, and errors naming file and line."""

import importlib.util
import json

import pytest

from conftest import ROOT, make_config
from ppo_suite.errors import DataError
from ppo_suite.tasks import columns_of, load_task

META = "Rewrite the following instruction via rephrasing and/or adding specific requirements."


def prewrite_config(*overrides):
    return make_config("+experiment=prewrite", *overrides).task


def write_jsonl(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_bundled_data_has_three_tasks_and_new_held_out_examples():
    data = load_task(prewrite_config())
    assert (len(data.train), len(data.eval)) == (90, 27)  # 9 instructions x 40 (12) examples / 4 per prompt
    assert {r["task"] for r in data.train} == {"math", "qa", "classification"}
    train_inputs = {x for r in data.train for x in r["inputs"]}
    assert train_inputs.isdisjoint(x for r in data.eval for x in r["inputs"])
    record = data.train[0]
    assert record["prompt"].startswith(META)
    assert record["prompt"].endswith(f"\n\nInstruction: {record['instruction']}")
    assert set(columns_of(data.train[:2])) == {"instruction", "task", "inputs", "outputs"}
    # The held-out prefix that eval.num_prompts keeps covers every instruction before repeating one.
    assert len({r["instruction"] + r["task"] for r in data.eval[:9]}) == 9


def test_rows_group_by_instruction_into_prompts_of_k_examples(tmp_path):
    rows = [{"instruction": "Add.", "input": f"{i} + 1", "output": i + 1, "task": "math"} for i in range(5)]
    rows.insert(2, {"instruction": "Name the capital.", "input": "France", "output": "Paris"})
    rows.append({"instruction": "Add.", "input": "7 + 7", "output": "14", "task": "math",
                 "template": "Improve: {instruction}"})
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    data = load_task(prewrite_config(f"task.train_file={path}", "task.eval_file=null", "task.examples_per_prompt=2"))
    assert data.eval == []
    # Three tasks, taken in turn: "Add." (5 examples -> 3 prompts), the capital (1), "Add." with its own template (1).
    assert [(r["instruction"], r["task"], r["outputs"]) for r in data.train] == [
        ("Add.", "math", ["1", "2"]),
        ("Name the capital.", "", ["Paris"]),
        ("Add.", "math", ["14"]),
        ("Add.", "math", ["3", "4"]),
        ("Add.", "math", ["5"]),
    ]
    assert data.train[0]["inputs"] == ["0 + 1", "1 + 1"]
    assert data.train[2]["prompt"] == "Improve: Add."


def test_parquet_rows_load_like_jsonl_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (ROOT / "data/prewrite/eval.jsonl").read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "eval.parquet")
    from_parquet = load_task(prewrite_config(f"task.eval_file={tmp_path / 'eval.parquet'}")).eval
    assert from_parquet == load_task(prewrite_config()).eval


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"instruction": "Add.", "input": "1 + 1" "output": "2"}', r"mine\.jsonl:2: malformed JSON line"),
        ('["Add.", "1 + 1", "2"]', r"mine\.jsonl:2: expected a JSON object, got list"),
        ('{"instruction": "Add.", "input": "1 + 1"}', r"mine\.jsonl:2: missing or null field\(s\) \['output'\]"),
        ('{"instruction": "Add.", "input": "1 + 1", "output": null}', r"mine\.jsonl:2: missing or null field\(s\) \['output'\]"),
        ('{"instruction": " ", "input": "1 + 1", "output": "2"}', r"mine\.jsonl:2: 'instruction' must be a non-empty"),
        ('{"instruction": "Add.", "input": "1 + 1", "output": "2", "task": 3}', r"mine\.jsonl:2: 'task' must be"),
        ('{"instruction": "Add.", "input": "1", "output": "2", "template": "{query}"}', r"mine\.jsonl:2: 'template' '\{query\}' cannot be filled"),
    ],
)
def test_a_bad_row_is_named_by_file_and_line(tmp_path, line, message):
    path = write_jsonl(tmp_path / "mine.jsonl", [{"instruction": "Add.", "input": "2 + 2", "output": "4"}, line])
    with pytest.raises(DataError, match=message):
        load_task(prewrite_config(f"task.train_file={path}"))


def test_bad_parquet_row_and_unknown_format_are_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"instruction": "Add.", "input": "1 + 1", "output": "2"},
                                         {"instruction": "Add.", "input": None, "output": "3"}]), tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"t\.parquet: row 1: missing or null field\(s\) \['input'\]"):
        load_task(prewrite_config(f"task.train_file={tmp_path / 't.parquet'}"))
    (tmp_path / "t.csv").write_text("instruction,input,output\n")
    with pytest.raises(DataError, match=r"t\.csv: expected a \.jsonl or \.parquet file"):
        load_task(prewrite_config(f"task.train_file={tmp_path / 't.csv'}"))
    with pytest.raises(DataError, match=r"nowhere\.jsonl: file not found"):
        load_task(prewrite_config(f"task.train_file={tmp_path / 'nowhere.jsonl'}"))


def test_the_demonstrations_match_the_prompts_in_use_and_hold_no_held_out_input():
    spec = importlib.util.spec_from_file_location("build_prewrite", ROOT / "data/prewrite/build_prewrite.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    cfg = prewrite_config()
    reward_cfg = make_config("reward=rewrite_task_model").reward.rewrite_task_model  # the embedded task model's
    assert (builder.META_PROMPT, builder.REWRITER_PROMPT) == (cfg.meta_prompt, cfg.prompt_template)
    assert builder.TASK_PROMPT == reward_cfg.prompt_template

    def rows(path):
        return [json.loads(line) for line in (ROOT / path).read_text().splitlines()]

    data = load_task(cfg)
    assert {r["prompt"] for r in data.train} <= {r["prompt"] for r in rows("data/prewrite/sft_rewrites.jsonl")}
    # A demonstration's prompt is "{instruction}\n{input}\nAnswer:", and an instruction is one line.
    demo_inputs = {r["prompt"].split("\n", 1)[1].removesuffix("\nAnswer:")
                   for r in rows(f"{reward_cfg.embedded.corpus_dir}/demonstrations.jsonl")}
    assert len(demo_inputs) > 1000 and sum(x.startswith("Passage: ") for x in demo_inputs) > 300  # the parse works
    assert not demo_inputs & {x for r in data.eval for x in r["inputs"]}
