"""The README's main job on the built-in ATIS data: train, then benchmark.

  python -m pqrnn_tf.demo [--output_dir=out/demo]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pqrnn_tf  # noqa: F401
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("output_dir", "out/demo", "Where models and reports go.")
  flags.DEFINE_string("preset", "pqrnn_small", "pQRNN preset to train.")
  flags.DEFINE_integer("epochs", 10, "Training epochs.")


def step(title: str, args: list[str]) -> None:
  print(f"\n=== {title}\n$ {' '.join(args)}", flush=True)
  start = time.time()
  subprocess.run(args, check=True)
  print(f"=== {title}: done in {time.time() - start:.0f} s", flush=True)


def main(argv) -> None:
  del argv
  out = FLAGS.output_dir
  model_dir = os.path.join(out, "pqrnn")
  py = sys.executable
  step("1/2 train pQRNN on ATIS", [
      py, "-m", "pqrnn_tf.train.cli", "--dataset=atis", "--model=pqrnn",
      f"--preset={FLAGS.preset}", f"--model_dir={model_dir}",
      f"--epochs={FLAGS.epochs}"])
  step("2/2 benchmark the projection op", [
      py, "-m", "benchmarks.projection", f"--output_dir={out}/benchmarks"])
  with open(os.path.join(model_dir, "metrics.json")) as f:
    test = json.load(f)["test"]
  print(f"\nATIS test: intent accuracy {100 * test['intent_accuracy']:.2f}%, "
        f"slot F1 {100 * test['slot_f1']:.2f}, exact match "
        f"{100 * test['exact_match']:.2f}%  (model in {model_dir})")


def run() -> None:
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run()
