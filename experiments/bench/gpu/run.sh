#!/usr/bin/env bash
# Issue 14's GPU figures in one device call of at most 10 minutes: `make bench --device cuda --load-in-4bit` (QLoRA)
# on random-initialised models shaped like SmolLM2-135M, Qwen2.5-0.5B and Llama-3.1-8B (conf/model/*_shape.yaml),
# built there (no weights travel), smallest first, each model's results written as soon as it finishes:
#
#   $OUT/<model>/results.json, $OUT/<model>/results.md   per model, as bench.py writes them
#   $OUT/run.log                                          everything printed, with the seconds each step took
#
# Run from the repo root with .whl carried (experiments/bench/gpu/fetch_wheels.sh makes it): the packages the GPU
# machine lacks are installed from there into $SITE. The reward is reward=length: the bench's ads reward needs a
# sentence-embedder package that is not there, and the reward is outside the time target anyway (the iteration is
# timed without it). Everything ends by $BUDGET_S seconds after the start: a step still running then is killed with
# its processes, and the models after it are not run.
#
# Settings (environment): DEVICE (cuda), MODELS ("config:warm-up:iterations:cap_s ..."; cap_s bounds that model's
# build + bench), VARIANT (bench.py's --variant), BUDGET_S (540), PYTHON (python3), SITE (/tmp/site),
# PPO_SUITE_CACHE (/tmp/ppo_suite_cache, where the models are built: the 8B takes 16 GB). Arguments: Hydra
# overrides for every build and bench, e.g. model.embedded.num_layers=2 for a dry run on a CPU:
#
#   OUT=/tmp/dry DEVICE=cpu MODELS=smollm2_shape:0:1:1500 VARIANT=fp32=hardware.autocast=off BUDGET_S=1500 \
#     PYTHON=.venv/bin/python bash experiments/bench/gpu/run.sh model.embedded.num_layers=2
set -uo pipefail
: "${OUT:?set OUT to the folder whose files come back}"
DEVICE=${DEVICE:-cuda}
# Warm-up and measured iterations, and seconds at most: the 8B's five model loads (16 GB each, quantised on load)
# take most of its time, so it measures two iterations and gets what is left of the budget.
MODELS=${MODELS:-"smollm2_shape:1:3:180 qwen2.5-0.5b_shape:1:3:180 llama3.1-8b_shape:1:2:600"}
VARIANT=${VARIANT:-bf16=hardware.autocast=auto}
BUDGET_S=${BUDGET_S:-540}
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
export PPO_SUITE_CACHE=${PPO_SUITE_CACHE:-/tmp/ppo_suite_cache}
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false
START=$SECONDS
mkdir -p "$OUT" "$PPO_SUITE_CACHE"

say() { echo "[run.sh +$((SECONDS - START))s] $*"; }

main() {
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    || { say "installing the carried wheels failed"; return 1; }
  export PYTHONPATH="$SITE:$PWD"
  say "GPU figures: random-initialised shapes, QLoRA (4-bit NF4 base), reward=length; overrides: ${*:-none}"
  git log -1 --format='commit %h %s' 2>/dev/null
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  df -h "$PPO_SUITE_CACHE" | tail -1
  "$PYTHON" -c "import sys, torch, transformers, peft, bitsandbytes, hydra
print('python', sys.version.split()[0], '| torch', torch.__version__, '| transformers', transformers.__version__,
      '| peft', peft.__version__, '| bitsandbytes', bitsandbytes.__version__, '| hydra', hydra.__version__)" \
    || { say "the packages do not import"; return 1; }

  local status=0 entry model warmup iterations cap left limit model_end
  for entry in $MODELS; do
    IFS=: read -r model warmup iterations cap <<<"$entry"
    left=$((BUDGET_S - (SECONDS - START)))
    limit=$((cap < left ? cap : left))
    model_end=$((SECONDS + limit))
    if ((limit < 30)); then
      say "$model: not run, ${left}s of the budget left"
      status=1
      continue
    fi
    say "$model: building (init on ${DEVICE%%:*}), at most ${limit}s for build and bench"
    # init_device: random init on a CPU core runs at ~50M weights/s (the 8B: minutes); on a GPU it is instant.
    local overrides=(reward=length "model.embedded.init_device=${DEVICE%%:*}" "$@") rc=0
    timeout -k 10 "$limit" "$PYTHON" -m ppo_suite stage=build_embedded "model=$model" logger=none "${overrides[@]}" \
      || rc=$?
    if ((rc != 0)); then
      say "$model: the build exited $rc (124: out of time)"
      status=1
      continue
    fi
    say "$model: built; benchmarking with $((model_end - SECONDS))s left for it"
    # timeout kills the bench's measuring processes with it: they share its process group.
    ((model_end - SECONDS >= 10)) || { say "$model: no time left to benchmark"; status=1; continue; }
    timeout -k 10 $((model_end - SECONDS)) "$PYTHON" experiments/bench/bench.py --device "$DEVICE" --load-in-4bit \
      --models "$model" --warmup "$warmup" --iterations "$iterations" --variant "$VARIANT" --out "$OUT/$model" \
      "${overrides[@]}" || rc=$?
    if ((rc == 0)); then
      say "$model: done"
    else
      say "$model: the bench exited $rc (124: out of time)"
      status=1
    fi
  done
  du -sh "$PPO_SUITE_CACHE"/models/* 2>/dev/null
  say "finished"
  return $status
}

main "$@" 2>&1 | tee -a "$OUT/run.log"  # a pipeline, so that the log is complete when the script returns
exit "${PIPESTATUS[0]}"
