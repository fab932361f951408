"""The generic task loaders (`prompts`, `jsonl`) on the bundled data and on users' own files."""

import json

import pytest

from conftest import make_config
from ppo_suite.errors import ConfigError, DataError
from ppo_suite.tasks import columns_of, load_task


@pytest.mark.parametrize("experiment", ["sentiment", "rlhf_prompts"])
def test_prompt_files_load_with_disjoint_held_out_splits(experiment):
    data = load_task(make_config(f"+experiment={experiment}").task)
    assert len(data.train) >= 150 and len(data.eval) >= 40
    assert {r["text"] for r in data.train}.isdisjoint({r["text"] for r in data.eval})
    assert set(columns_of(data.train[:2])) == {"text"}


def test_sentiment_held_out_openings_name_films_never_seen_in_training():
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("build", ROOT / "data/sentiment/build_sentiment.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    data = load_task(make_config("+experiment=sentiment").task)
    seen = {title for title in build.TITLES if any(title in r["text"] for r in data.train)}
    assert not any(title in r["text"] for r in data.eval for title in seen)


def test_finqa_renders_alpaca_records_with_and_without_input():
    data = load_task(make_config("+experiment=finqa").task)
    assert len(data.train) >= 300 and len(data.eval) >= 100
    with_input = next(r for r in data.train if r["input"])
    assert with_input["prompt"] == f"{with_input['instruction']}\n\n{with_input['input']}"
    without_input = next(r for r in data.train if not r["input"])
    assert without_input["prompt"] == without_input["instruction"]
    assert set(columns_of(data.eval[:3])) == {"instruction", "input", "output"}
    assert {r["input"] for r in data.eval if r["input"]}.isdisjoint({r["input"] for r in data.train})


def test_a_users_own_prompt_file_with_a_template(tmp_path):
    (tmp_path / "mine.txt").write_text("How do I bake bread?\n\n  Why is the sky blue?  \n")
    cfg = make_config("+experiment=rlhf_prompts", f"task.train_file={tmp_path}/mine.txt", "task.eval_file=null",
                      "task.prompt_template='Q: {text} A:'")
    data = load_task(cfg.task)
    assert [r["prompt"] for r in data.train] == ["Q: How do I bake bread? A:", "Q: Why is the sky blue? A:"]
    assert data.eval == []


def test_prompt_file_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine prompt\n\nbroken \xff prompt\n")
    with pytest.raises(DataError, match=r"bad\.txt:3: not UTF-8 text"):
        load_task(make_config("+experiment=rlhf_prompts", f"task.train_file={bad}").task)
    with pytest.raises(DataError, match=r"nope\.txt: file not found"):
        load_task(make_config("+experiment=rlhf_prompts", f"task.train_file={tmp_path}/nope.txt").task)
    good = tmp_path / "good.txt"
    good.write_text("fine prompt\n")
    with pytest.raises(ConfigError, match=r"\{question\}.*good\.txt:1 has only the columns \['text'\]"):
        load_task(make_config("+experiment=rlhf_prompts", f"task.train_file={good}", "task.prompt_template='{question}'").task)


def write_jsonl(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_a_users_own_alpaca_file(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [
        {"instruction": "Where was Einstein born?", "input": "", "output": "Ulm, Germany"},
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": 5, "source": "mine"},
    ])
    data = load_task(make_config("+experiment=finqa", f"task.train_file={train}", "task.eval_file=null").task)
    assert data.train[0]["prompt"] == "Where was Einstein born?"
    assert data.train[1]["prompt"] == "Add the numbers.\n\n2 and 3"
    # A field only some records have is None in the others, so every batch has the same columns.
    assert columns_of(data.train) == {
        "instruction": ["Where was Einstein born?", "Add the numbers."], "input": ["", "2 and 3"],
        "output": ["Ulm, Germany", 5], "source": [None, "mine"],
    }


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"instruction": "a", "input": "", "output": "b"}', "", '{"instruction": "c", oops}'], r"train\.jsonl:3: malformed JSON"),
        (['{"instruction": "a", "input": ""}'], r"train\.jsonl:1: missing or null field\(s\) \['output'\]"),
        (['["not", "an", "object"]'], r"train\.jsonl:1: expected a JSON object"),
    ],
)
def test_jsonl_errors_name_the_file_and_line(tmp_path, lines, message):
    train = write_jsonl(tmp_path / "train.jsonl", lines)
    with pytest.raises(DataError, match=message):
        load_task(make_config("+experiment=finqa", f"task.train_file={train}").task)


def test_jsonl_template_naming_an_absent_field_names_the_line(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [{"question": "q", "output": "a"}])
    cfg = make_config("+experiment=finqa", f"task.train_file={train}", "task.required_fields=[output]",
                      "task.fallback_template=null")
    with pytest.raises(ConfigError, match=r"\{instruction\} but .*train\.jsonl:1 has only the columns \['output', 'question'\]"):
        load_task(cfg.task)
