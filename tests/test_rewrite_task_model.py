"""The PRewrite reward: its arithmetic on a table task model, the answer cache, and the OpenAI backend's
retries and failures against a local HTTP server that misbehaves on purpose."""

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ppo_suite.errors import ConfigError, RewardError
from ppo_suite.rewards import WeightedReward, parse_rewards, score
from ppo_suite.rewards import rewrite_task_model as reward_module
from ppo_suite.rewards.rewrite_task_model import RewriteTaskModel, RewriteTaskModelSettings, first_line
from ppo_suite.backends.task_model import TaskModelError


class TableTaskModel:
    """Answers from a table keyed by the task prompt; records every batch it is asked."""

    identity = "table"

    def __init__(self, answers: dict[str, str]):
        self.answers = answers
        self.batches: list[list[str]] = []

    def answer(self, prompts):
        self.batches.append(list(prompts))
        return [self.answers[p] for p in prompts]


def table_reward(monkeypatch, answers, **settings):
    model = TableTaskModel({f"{instruction}\n{x}\nAnswer:": a for (instruction, x), a in answers.items()})
    monkeypatch.setattr(reward_module, "load_hf_task_model", lambda *args, **kwargs: model)
    return RewriteTaskModel(RewriteTaskModelSettings(**settings)), model


ANSWERS = {
    ("Solve it.", "2 + 3"): "The answer is 5.\nThen 7 more words",
    ("Solve it.", "4 * 5"): "21",
    ("Answer briefly.", "Where is the tower?"): "Eiffel Tower in Paris",
    ("Label it.", "Loved it."): "Positive.",
    ("Label it.", "Broke at once."): "\n\nnegative review\npositive",
    ("Label it.", "Meh."): "",
}
COLUMNS = dict(
    inputs=[["2 + 3", "4 * 5"], ["Where is the tower?"], ["Loved it.", "Broke at once.", "Meh."]],
    outputs=[["5", "20"], ["the Eiffel Tower"], ["positive", "negative", "neutral"]],
    task=["math", "qa", "classification"],
)
REWRITES = [" Solve it. ", "Answer briefly.", "Label it."]


def test_reward_is_the_task_metric_averaged_over_the_examples(monkeypatch):
    reward, _ = table_reward(monkeypatch, ANSWERS)
    scores = reward(["p"] * 3, REWRITES, **COLUMNS)
    # math, numeric match of the last number: 5 == 5, 21 != 20 -> 1/2
    # qa, token F1: "eiffel tower in paris" vs "eiffel tower": P = 2/4, R = 2/2 -> 2/3
    # classification, exact match of the first non-blank line: "positive" yes, "negative review" no, "" no -> 1/3
    assert scores == pytest.approx([0.5, 2 / 3, 1 / 3])
    assert reward.last_terms["empty_answers"] == pytest.approx([0.0, 0.0, 1 / 3])


def test_a_fixed_metric_and_the_default_metric(monkeypatch):
    reward, _ = table_reward(monkeypatch, ANSWERS, metric="f1")
    # f1 everywhere; classification: "negative review" vs "negative" -> P = 1/2, R = 1 -> 2/3
    assert reward(["p"], ["Label it."], **{k: v[2:] for k, v in COLUMNS.items()}) == pytest.approx([(1 + 2 / 3) / 3])
    reward, _ = table_reward(monkeypatch, ANSWERS, metric_by_task={"qa": "exact_match"}, default_metric="f1")
    unknown_task = {**{k: v[:1] for k, v in COLUMNS.items()}, "task": ["arithmetic"]}
    # "arithmetic" is not in metric_by_task, so default_metric (f1) scores it: "answer is 5" vs "5" -> 1/2; "21" -> 0
    assert reward(["p"], ["Solve it."], **unknown_task) == pytest.approx([0.25])


def test_first_line():
    assert first_line("\n  Paris \nLondon") == "Paris"
    assert first_line("   \n") == ""


def test_each_answer_is_paid_for_once(monkeypatch, tmp_path):
    reward, model = table_reward(monkeypatch, ANSWERS, cache_file=str(tmp_path / "answers.sqlite"))
    twice = {k: v + v[:1] for k, v in COLUMNS.items()}  # the math record again, in the same batch
    first = reward(["p"] * 4, REWRITES + ["Solve it."], **twice)
    assert first[0] == first[3] == 0.5
    assert len(model.batches) == 1 and len(model.batches[0]) == 6  # six distinct (instruction, input) pairs
    assert reward.last_terms["cache_hits"] == [0.0, 0.0, 0.0, 0.0]
    assert reward(["p"] * 3, REWRITES, **COLUMNS) == first[:3]
    assert len(model.batches) == 1 and reward.last_terms["cache_hits"] == [1.0, 1.0, 1.0]

    # A new run with the same cache file asks the task model nothing; another template is another key.
    again, fresh_model = table_reward(monkeypatch, ANSWERS, cache_file=str(tmp_path / "answers.sqlite"))
    assert again(["p"] * 3, REWRITES, **COLUMNS) == first[:3] and fresh_model.batches == []
    other, other_model = table_reward(monkeypatch, {}, cache_file=str(tmp_path / "answers.sqlite"),
                                      prompt_template="Q: {input}\n{instruction}")
    other_model.answers = {f"Q: {x}\n{i}": a for (i, x), a in ANSWERS.items()}
    assert other(["p"] * 3, REWRITES, **COLUMNS) == first[:3] and len(other_model.batches) == 1


def test_a_gold_without_a_number_names_the_task(monkeypatch):
    reward, _ = table_reward(monkeypatch, {("Solve it.", "2 + 3"): "5"})
    rewards = [WeightedReward("rewrite_task_model", reward, 1.0)]
    with pytest.raises(RewardError, match="task 'math' is scored with numeric_match: .*'five' holds no number"):
        score(rewards, ["p"], ["Solve it."], {"inputs": [["2 + 3"]], "outputs": [["five"]], "task": ["math"]})


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"backend": "ollama"}, r"backend='ollama' is not one of \['hf', 'openai'\]"),
        ({"metric": "accuracy"}, r"metric='accuracy' is not 'auto' or one of \['bleu', 'exact_match', 'f1', 'numeric_match'\]"),
        ({"metric_by_task": {"math": "numeric"}}, r"metric_by_task\.math='numeric' is not one of"),
        ({"on_failure": "zero"}, r"on_failure='zero' is not one of \['error', 'skip'\]"),
        ({"prompt_template": "{instruction} {question}"}, r"prompt_template may use only \{instruction\} and \{input\}"),
        ({"backend": "openai"}, r"backend=openai needs `model`"),
        ({"modle": "gpt2"}, r"reward\.rewrite_task_model\.modle: Key 'modle' not in"),
        ({"chat_template": "yes"}, r"chat_template='yes' is not one of \['auto', 'on', 'off'\]"),
    ],
)
def test_bad_settings_fail_before_any_model_loads(setting, message):
    with pytest.raises(ConfigError, match=message):
        parse_rewards({"rewrite_task_model": {"weight": 1.0, **setting}})


def test_hf_backend_without_a_model_names_the_key():
    [spec] = parse_rewards({"rewrite_task_model": {"weight": 1.0, "model": "", "embedded": None}})
    with pytest.raises(ConfigError, match=r"reward\.rewrite_task_model\.model is empty"):
        spec.build()


# --- the OpenAI backend against a local HTTP server ------------------------------------------------


class ScriptedServer:
    """An OpenAI-compatible /v1/completions endpoint whose `behave(prompt, n)` picks each answer:
    ("ok", text), ("status", code), ("body", raw bytes) or ("sleep", seconds, text)."""

    def __init__(self, behave):
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                prompt = body.get("prompt") or body["messages"][-1]["content"]
                server.requests.append(prompt)
                action = behave(prompt, len(server.requests))
                if action[0] == "sleep":
                    time.sleep(action[1])
                    action = ("ok", action[2])
                if action[0] == "status":
                    self._send(action[1], json.dumps({"error": {"message": f"scripted {action[1]}"}}).encode())
                elif action[0] == "body":
                    self._send(200, action[1])
                else:
                    self._send(200, json.dumps({"id": "x", "object": "text_completion", "created": 0, "model": "m",
                                                "choices": [{"index": 0, "text": action[1], "finish_reason": "stop"}]}).encode())

            def _send(self, code, payload):
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except BrokenPipeError:  # the client gave up waiting (the timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(behave):
        servers.append(ScriptedServer(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def openai_reward(base_url, **settings):
    defaults = dict(backend="openai", model="m", base_url=base_url, max_retries=2, backoff_s=0.01, timeout_s=5.0)
    return RewriteTaskModel(RewriteTaskModelSettings(**{**defaults, **settings}))


MATH = dict(inputs=[["2 + 3"]], outputs=[["5"]], task=["math"])


def test_transient_failures_are_retried_with_a_warning(serve, caplog):
    server = serve(lambda prompt, n: ("status", 503) if n <= 2 else ("ok", " 5\nmore"))
    with caplog.at_level(logging.WARNING, logger="ppo_suite.backends.task_model"):
        assert openai_reward(server.base_url)(["p"], ["Add."], **MATH) == [1.0]
    assert server.requests == ["Add.\n2 + 3\nAnswer:"] * 3
    assert ["retry 1/2 in" in r.getMessage() for r in caplog.records] == [True, False]
    assert "retry 2/2 in" in caplog.records[1].getMessage()


@pytest.mark.parametrize(
    "behave, error",
    [
        (lambda prompt, n: ("status", 500), "InternalServerError"),
        (lambda prompt, n: ("body", b"<html>Bad gateway</html>"), "MalformedAnswer: the server's answer is not JSON"),
        (lambda prompt, n: ("body", b'{"choices": []}'), "MalformedAnswer: no completion in the server's answer"),
        (lambda prompt, n: ("body", b'{"choices": [{"index": 0, "text": null}]}'), "MalformedAnswer: the completion's text is None"),
        (lambda prompt, n: ("sleep", 1.0, "5"), "APITimeoutError"),
    ],
)
def test_a_server_that_keeps_failing_is_an_error_naming_it(serve, behave, error):
    server = serve(behave)
    reward = openai_reward(server.base_url, timeout_s=0.3)
    with pytest.raises(TaskModelError, match=f"task model 'm' at {server.base_url}: 1 of 1 requests failed after 3 attempts each at most, within the batch.s 180 s; first error: {error}"):
        reward(["p"], ["Add."], **MATH)
    assert len(server.requests) == 3


def test_a_batch_gets_batch_timeout_s_in_all_retries_included(serve):
    server = serve(lambda prompt, n: ("sleep", 2.0, "5"))
    reward = openai_reward(server.base_url, timeout_s=5.0, batch_timeout_s=0.5)
    start = time.perf_counter()
    with pytest.raises(TaskModelError, match=r"within the batch's 0\.5 s; first error: TimeoutError: unanswered when the batch's 0\.5 s \(batch_timeout_s\) ran out"):
        reward(["p"], ["Add."], **MATH)
    assert time.perf_counter() - start < 1.5


def test_a_client_error_is_not_retried(serve):
    server = serve(lambda prompt, n: ("status", 404))
    with pytest.raises(TaskModelError, match="NotFoundError"):
        openai_reward(server.base_url)(["p"], ["Add."], **MATH)
    assert len(server.requests) == 1


def test_a_server_that_is_down_is_an_error_naming_it():
    with socket.socket() as s:  # a port nobody listens on once this socket closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TaskModelError, match=rf"127\.0\.0\.1:{port}/v1: 1 of 1 requests failed .*APIConnectionError"):
        openai_reward(f"http://127.0.0.1:{port}/v1")(["p"], ["Add."], **MATH)


def test_on_failure_skip_leaves_only_the_failed_rewrites_unscored(serve, caplog):
    server = serve(lambda prompt, n: ("status", 500) if prompt.startswith("Bad") else ("ok", "5"))
    reward = openai_reward(server.base_url, on_failure="skip", concurrency=4)
    columns = {k: v * 3 for k, v in MATH.items()}
    with caplog.at_level(logging.WARNING):
        assert reward(["p"] * 3, ["Add.", "Bad rewrite.", "Sum."], **columns) == [1.0, None, 1.0]
    assert "1 of 3 requests failed" in caplog.text and "left unscored" in caplog.text
    # The failure is not cached: the next batch asks again.
    asked = len(server.requests)
    reward(["p"], ["Bad rewrite."], **MATH)
    assert len(server.requests) == asked + 3
