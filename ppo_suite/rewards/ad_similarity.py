"""Ad-rewriting reward from sentence embeddings (cosine similarities of unit-norm vectors).

    reward = alpha * relevance + beta * ranking + gamma * content
    relevance = cos(query, rewrite)
    ranking   = -mean_c max(0, cos(query, c) - cos(query, rewrite) + margin)
                over the competing ads c of the same domain that the query retrieved: 0 once the rewrite
                beats every competitor by `margin`, more negative the further it falls behind them
    content   = cos(original ad, rewrite): the rewrite must still be the same ad

Columns: `query` (str), `ad_text` (the original ad), `competitors` (list of competing ad texts).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ppo_suite.config import bounded
from ppo_suite.backends.embeddings import CachedEmbedder


@dataclass
class AdSimilaritySettings:
    embedder: str = "sentence-transformers/all-MiniLM-L6-v2"  # any sentence-transformers id or path
    alpha: float = bounded(1.0, ">= 0")  # relevance to the query
    beta: float = bounded(1.0, ">= 0")  # margin over the competing ads
    gamma: float = bounded(0.5, ">= 0")  # preservation of the original ad
    margin: float = bounded(0.05, ">= 0")
    batch_size: int = bounded(64, ">= 1")
    device: str = "cpu"


class AdSimilarity:
    Settings = AdSimilaritySettings

    def __init__(self, settings: AdSimilaritySettings) -> None:
        self.settings = settings
        self.embedder = CachedEmbedder(settings.embedder, settings.device, settings.batch_size)
        self.last_terms: dict[str, list[float]] = {}

    def __call__(self, prompts, completions, *, query, ad_text, competitors, **_) -> list[float]:
        s = self.settings
        rewrite = self.embedder.embed(list(completions))
        q = self.embedder.embed(list(query), cache=True)
        original = self.embedder.embed(list(ad_text), cache=True)
        relevance = (q * rewrite).sum(-1)
        content = (original * rewrite).sum(-1)
        ranking = torch.zeros_like(relevance)
        for i, ads in enumerate(competitors):
            if ads:
                competitor_scores = self.embedder.embed(list(ads), cache=True) @ q[i]
                ranking[i] = -torch.relu(competitor_scores - relevance[i] + s.margin).mean()
        self.last_terms = {"relevance": relevance.tolist(), "ranking": ranking.tolist(), "content": content.tolist()}
        return (s.alpha * relevance + s.beta * ranking + s.gamma * content).tolist()
