"""Response-token log-probs and entropy from hidden states: hand values, chunked == all at once, and the
hand-written gradient of a linear head == autograd's, with fewer vocabulary-sized tensors."""

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ppo_suite.token_logprobs import chunked_token_logprobs, token_logprobs


class SubclassedHead(torch.nn.Linear):
    """Not exactly nn.Linear (as a quantised head is not): takes autograd's path, the reference here."""


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
    assert largest_saved_tensor(8) <= vocab * 16  # chunked: the head's weight is the largest thing kept


@pytest.mark.parametrize("chunk_tokens", [0, 4])
@pytest.mark.parametrize("loss_terms", ["logprobs", "entropy", "both"])
@pytest.mark.parametrize("head_trains", [False, True])
def test_hand_written_gradient_equals_autograds(chunk_tokens, loss_terms, head_trains):
    torch.manual_seed(0)
    heads = [cls(8, 50, bias=True) for cls in (torch.nn.Linear, SubclassedHead)]
    heads[1].load_state_dict(heads[0].state_dict())
    hidden = torch.randn(3, 5, 8, requires_grad=True)
    tokens = torch.randint(0, 50, (3, 5))
    weights = torch.randn(3, 5)  # a loss that weighs positions unequally, as PPO's does

    def run(head):
        head.requires_grad_(head_trains)
        hidden.grad = None
        logprobs, entropy = chunked_token_logprobs(head, hidden, tokens, 0.7, with_entropy=True, chunk_tokens=chunk_tokens)
        terms = {"logprobs": logprobs, "entropy": entropy, "both": logprobs - 0.3 * entropy}[loss_terms]
        (weights * terms).sum().backward()
        grads = [hidden.grad] + ([head.weight.grad, head.bias.grad] if head_trains else [])
        return [logprobs.detach(), entropy.detach()] + grads

    for fused, reference in zip(run(heads[0]), run(heads[1])):
        torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-6)  # fp32 sums in another order


def test_hand_written_gradient_under_bf16_autocast_is_autograds():
    torch.manual_seed(0)
    heads = [cls(32, 300, bias=False) for cls in (torch.nn.Linear, SubclassedHead)]
    heads[1].load_state_dict(heads[0].state_dict())
    hidden = torch.randn(4, 6, 32, requires_grad=True)
    tokens = torch.randint(0, 300, (4, 6))

    def run(head):
        hidden.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logprobs, entropy = chunked_token_logprobs(head, hidden, tokens, 1.0, with_entropy=True, chunk_tokens=8)
        (logprobs.sum() + entropy.sum()).backward()
        return logprobs.detach(), hidden.grad.clone()

    (fused_logprobs, fused_grad), (logprobs, grad) = run(heads[0]), run(heads[1])
    assert fused_grad.dtype == hidden.dtype
    torch.testing.assert_close(fused_logprobs, logprobs, rtol=0, atol=0)  # the same forward, op for op
    torch.testing.assert_close(fused_grad, grad, rtol=2e-2, atol=2e-3)  # bf16 products, rounded at other places


class VocabularySizedAllocations(TorchDispatchMode):
    """Counts op outputs of at least `numel` elements in new memory (in-place results and views are not)."""

    def __init__(self, numel: int) -> None:
        super().__init__()
        self.numel, self.count = numel, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        self.count += sum(
            isinstance(t, torch.Tensor) and t.numel() >= self.numel and t.untyped_storage().data_ptr() not in inputs
            for t in tree_flatten(out)[0]
        )
        return out


@pytest.mark.parametrize("with_entropy_loss", [False, True])
def test_backward_turns_the_logits_into_their_gradient_in_place(with_entropy_loss):
    torch.manual_seed(0)
    vocab, positions, chunk = 4096, 32, 8

    def allocations(head_class) -> int:
        head = head_class(16, vocab, bias=False).requires_grad_(False)
        hidden = torch.randn(positions, 1, 16, requires_grad=True)
        tokens = torch.randint(0, vocab, (positions, 1))
        logprobs, entropy = chunked_token_logprobs(head, hidden, tokens, 1.0, with_entropy=True, chunk_tokens=chunk)
        loss = logprobs.sum() + (entropy.sum() if with_entropy_loss else 0.0)
        counter = VocabularySizedAllocations(chunk * vocab)
        with counter:
            loss.backward()
        return counter.count

    chunks = positions // chunk
    # per chunk: the recomputed logits, and the probabilities beside them when the entropy has a gradient
    assert allocations(torch.nn.Linear) == chunks * (2 if with_entropy_loss else 1)
    assert allocations(SubclassedHead) >= chunks * 8  # autograd's backward of the same arithmetic
