"""The task-model backends on a real model: the hf backend's left-padded batches, and the openai backend
against a real `transformers serve` (an OpenAI-compatible server) on 127.0.0.1 serving the tiny test model."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import make_config
from ppo_suite.models import model_source
from ppo_suite.rewards.rewrite_task_model import RewriteTaskModel, RewriteTaskModelSettings
from ppo_suite.backends.task_model import load_hf_task_model

PROMPTS = [
    "Solve the problem.\nMaya has 3 apples. Maya buys 2 more. How many apples does Maya have now?\nAnswer:",
    "Label the review.\nHotel review: The room was spotless and quiet.\nAnswer:",
    "Answer.\nPassage: Ivo Novak was born in Oslo in 1977.\nQuestion: Where was Ivo Novak born?\nAnswer:",
]
COLUMNS = dict(
    inputs=[["Maya has 3 apples. Maya buys 2 more. How many apples does Maya have now?"],
            ["Hotel review: The room was spotless and quiet."]],
    outputs=[["5"], ["positive"]],
    task=["math", "classification"],
)


@pytest.fixture(scope="module")
def tiny_model_dir() -> Path:
    return Path(model_source(make_config("+experiment=prewrite", "model=tiny_test").model))


def hf_answers(model_dir, prompts, batch_size):
    task_model = load_hf_task_model(str(model_dir), None, "cpu", "float32", 12, batch_size, key="test")
    return task_model.answer(prompts)


def test_hf_backend_batches_left_padded_prompts_like_single_prompts(tiny_model_dir):
    one_by_one = hf_answers(tiny_model_dir, PROMPTS, batch_size=1)
    assert hf_answers(tiny_model_dir, PROMPTS, batch_size=3) == one_by_one
    assert all(isinstance(a, str) for a in one_by_one) and any(a.strip() for a in one_by_one)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def transformers_serve(tmp_path_factory):
    """`transformers serve` on a free local port, loading models from local dirs on request."""
    executable = Path(sys.executable).parent / "transformers"
    if not executable.exists():
        pytest.fail(f"{executable} not found: install the serving extra (pip install -e '.[serve]')")
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}  # everything it loads is local
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    if json.load(response).get("status") == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not answer /health in 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def served_reward(base_url, model_dir, **settings):
    return RewriteTaskModel(RewriteTaskModelSettings(
        backend="openai", base_url=base_url, model=str(model_dir), max_new_tokens=12, timeout_s=120, **settings
    ))


@pytest.mark.slow
def test_openai_backend_on_transformers_serve_matches_the_hf_backend(transformers_serve, tiny_model_dir, tmp_path):
    served = served_reward(transformers_serve, tiny_model_dir, concurrency=3)
    assert served.task_model.answer(PROMPTS) == hf_answers(tiny_model_dir, PROMPTS, batch_size=1)

    local = RewriteTaskModel(RewriteTaskModelSettings(model=str(tiny_model_dir), max_new_tokens=12, batch_size=1))
    rewrites = ["Solve the problem.", "Label the review."]
    assert served(["p", "p"], rewrites, **COLUMNS) == local(["p", "p"], rewrites, **COLUMNS)

    # The chat API: the same model with a chat template that passes the user message through unchanged.
    chat_dir = tmp_path / "tiny-chat"
    shutil.copytree(tiny_model_dir, chat_dir)
    config_path = chat_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    config_path.write_text(json.dumps(config))
    chat = served_reward(transformers_serve, chat_dir, api="chat")
    assert chat.task_model.answer(PROMPTS[:1]) == served.task_model.answer(PROMPTS[:1])
