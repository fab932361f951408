#!/usr/bin/env bash
# Once, here (with network), from the repo root: the wheels of what experiments/bench/gpu/run.sh needs and the GPU
# machine's image lacks (/work/.library/device/KINDS.md), into .whl/ (git-ignored), at the versions of
# requirements.lock, for its Python 3.12 on x86-64. They travel with the working tree (64 MiB in all), so the sizes
# are printed.
#
#   bitsandbytes 0.50.2  41 MiB: CUDA 13 support came in 0.48, whose wheels are 57 MiB (0.48.0-0.49.2); 0.50 is
#                        the smallest that has it, and the locked version
#   hydra-core, omegaconf, and antlr4-python3-runtime 4.9.3, which hydra pins and PyPI has as source only: built
#                        here into a pure-Python wheel
#   peft 0.21.2          0.8 MiB: the image has a peft whose version is not recorded; this one, the locked version,
#                        ran the dry run with the image's transformers 5.17 and huggingface_hub 1.33
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p .whl
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
  bitsandbytes==0.50.2 hydra-core==1.3.8 omegaconf==2.3.1 peft==0.21.2
"$PYTHON" -m pip wheel --quiet --no-deps -w .whl antlr4-python3-runtime==4.9.3
ls -l .whl
du -cb .whl/*.whl | tail -1 | awk '{printf "wheels: %.1f MiB\n", $1 / 2^20}'
git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 \
  | awk '{printf "tracked and untracked-not-ignored files: %.1f MiB (the travelling tree is these + .whl, at most 64)\n", $1 / 2^20}'
