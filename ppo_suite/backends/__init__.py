"""What rewards are computed with, apart from the rewards themselves: a sequence classifier (sentiment, reward
models), a cached sentence embedder (ad similarity), a frozen task model and its answer cache (PRewrite)."""
