"""The README's main job on the built-in ATIS data: train -> export -> benchmark.

  python -m pqrnn_tf.demo [--output_dir=out/demo] [--epochs=10]

Each step is the CLI a user would run, shown with its command line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pqrnn_tf  # noqa: F401
from absl import app, flags

from pqrnn_tf.metrics import METRICS_FILE

FLAGS = flags.FLAGS
QUANTIZATIONS = ("none", "dynamic", "int8")


def define_flags() -> None:
  flags.DEFINE_string("output_dir", "out/demo", "Where models and reports go.")
  flags.DEFINE_string("preset", "pqrnn_small", "pQRNN preset to train.")
  flags.DEFINE_integer("epochs", 10, "Training epochs.")


def step(title: str, args: list[str], check: bool = True) -> int:
  print(f"\n=== {title}\n$ {' '.join(args)}", flush=True)
  start = time.time()
  code = subprocess.run(args, check=check).returncode
  print(f"=== {title}: done in {time.time() - start:.0f} s", flush=True)
  return code


def main(argv) -> None:
  del argv
  out = FLAGS.output_dir
  model_dir = os.path.join(out, "pqrnn")
  py = sys.executable
  step("1/3 train pQRNN on ATIS", [
      py, "-m", "pqrnn_tf.train.cli", "--dataset=atis", "--model=pqrnn",
      f"--preset={FLAGS.preset}", f"--model_dir={model_dir}", f"--epochs={FLAGS.epochs}"])
  models = []
  for q in QUANTIZATIONS:
    path = os.path.join(out, f"pqrnn_{q}.tflite")
    step(f"2/3 export ({q})", [
        py, "-m", "pqrnn_tf.export.cli", f"--model_dir={model_dir}", f"--output={path}",
        f"--quantization={q}"])
    models.append(path)
  # Modest settings keep this step to a minute or two; pqrnn-benchmark's
  # defaults (4 buckets, 1000 invokes) are for the full comparison.
  names = [f"pqrnn_{q}={path}" for q, path in zip(QUANTIZATIONS, models)]
  step("3/3 benchmark", [py, "-m", "pqrnn_tf.benchmarks.cli", f"--models={','.join(names)}",
                         "--reference=pqrnn_int8", f"--output_dir={out}/benchmark",
                         "--buckets=8,16,32", "--sentences_per_bucket=20",
                         "--num_invokes=300", "--warmup=30", "--throughput_seconds=1"])
  with open(os.path.join(model_dir, METRICS_FILE)) as f:
    test = json.load(f)["test"]
  print(f"\nKeras model, ATIS test: intent accuracy {100 * test['intent_accuracy']:.2f}%, "
        f"slot F1 {100 * test['slot_f1']:.2f}, exact match {100 * test['exact_match']:.2f}%")
  print("\n| TFLite model | bytes | dev intent agreement | dev intent acc change | dev slot F1 change |")
  print("|---|---|---|---|---|")
  for path in models:
    with open(path[:-len(".tflite")] + ".export.json") as f:
      report = json.load(f)
    v = report["verification"]
    print(f"| {os.path.basename(path)} | {report['bytes']:,} | {100 * v['intent_agreement']:.1f}% | "
          f"{100 * v['delta']['intent_accuracy']:+.2f} | {100 * v['delta']['slot_f1']:+.2f} |")


def run() -> None:
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run()
