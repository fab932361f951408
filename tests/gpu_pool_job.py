"""A stand-in job for the gpu_pool launcher's test: records the devices it saw and when it ran, then sleeps.

Run as `python -m gpu_pool_job <overrides> hydra.run.dir=<dir>`; `fail=1` among the overrides makes it exit 1;
`x=<number>` makes it write a summary.json whose objective is -(x - 0.3)^2, for the Optuna sweeper's test.
"""

import json
import os
import sys
import time
from pathlib import Path

args = dict(a.lstrip("+").split("=", 1) for a in sys.argv[1:] if "=" in a)
start = time.time()
time.sleep(1.5)
record = {"cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time(),
          "threads": os.environ.get("OMP_NUM_THREADS"), "argv": sys.argv[1:], "sweep_job": os.environ.get("PPO_SUITE_SWEEP_JOB")}
(Path(args["hydra.run.dir"]) / "seen.json").write_text(json.dumps(record))
if "x" in args:
    (Path(args["hydra.run.dir"]) / "summary.json").write_text(json.dumps({"objective": -((float(args["x"]) - 0.3) ** 2)}))
sys.exit(1 if args.get("fail") == "1" else 0)
