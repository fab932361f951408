"""Response-token log-probs and entropy from hidden states: hand values, and chunked == all at once."""

import math

import pytest
import torch

from ppo_suite.token_logprobs import chunked_token_logprobs, token_logprobs


def identity_head(hidden):  # the logits are the hidden states themselves
    return hidden


def test_hand_values():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    hidden = torch.stack([torch.zeros(4), probs.log() + 5.0])  # a uniform row; a row of logits up to a shift
    logprobs, entropy = token_logprobs(identity_head, hidden, torch.tensor([2, 3]), 1.0, with_entropy=True)
    assert logprobs.tolist() == pytest.approx([-math.log(4), math.log(0.4)], abs=1e-6)
    assert entropy.tolist() == pytest.approx([math.log(4), -sum(p * math.log(p) for p in probs.tolist())], abs=1e-6)
    # Temperature 2 halves the logits: p is proportional to sqrt(probs).
    tempered = probs.sqrt() / probs.sqrt().sum()
    logprobs, entropy = token_logprobs(identity_head, hidden[1:], torch.tensor([0]), 2.0)
    assert logprobs.item() == pytest.approx(math.log(tempered[0].item()), abs=1e-6) and entropy is None


@pytest.mark.parametrize("chunk_tokens", [1, 3, 7, 0, 100])
def test_chunks_give_the_same_values_and_gradients(chunk_tokens):
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 50, bias=False)
    hidden = torch.randn(3, 5, 8, requires_grad=True)
    tokens = torch.randint(0, 50, (3, 5))

    def run(chunk):
        head.zero_grad()
        hidden.grad = None
        logprobs, entropy = chunked_token_logprobs(head, hidden, tokens, 0.7, with_entropy=True, chunk_tokens=chunk)
        (logprobs.sum() + 0.1 * entropy.sum()).backward()
        return logprobs.detach(), entropy.detach(), hidden.grad.clone(), head.weight.grad.clone()

    for whole, chunked in zip(run(0), run(chunk_tokens)):
        assert whole.shape == chunked.shape
        torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


def test_chunks_keep_no_vocabulary_sized_tensor_for_backward():
    torch.manual_seed(0)
    vocab, positions = 4096, 64
    head = torch.nn.Linear(16, vocab, bias=False)
    hidden = torch.randn(4, positions // 4, 16, requires_grad=True)
    tokens = torch.randint(0, vocab, (4, positions // 4))

    def largest_saved_tensor(chunk):
        sizes = []

        def pack(t):
            sizes.append(t.numel())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            chunked_token_logprobs(head, hidden, tokens, 1.0, with_entropy=True, chunk_tokens=chunk)
        return max(sizes)

    assert largest_saved_tensor(0) >= positions * vocab  # all at once: the (positions, vocab) logits are kept
    assert largest_saved_tensor(8) < vocab * 16  # chunked: the head's weight is the largest thing kept
