"""ATIS accuracy of pQRNN and the baselines, over seeds (a benchmark, not a test).

  python -m benchmarks.accuracy --models=pqrnn_base,lstm_vocab --seeds=0,1,2

Each (preset, seed) trains with pqrnn-train into --runs_dir/<preset>_s<seed>;
a finished run is reused (the CLI resumes), so the table can be rebuilt cheaply.
Prints a Markdown table (mean and spread over seeds) and writes JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
METRICS = ("intent_accuracy", "slot_f1", "exact_match")


def define_flags() -> None:
  flags.DEFINE_list("models", ["pqrnn_base", "lstm_vocab", "lstm_pretrained",
                               "transformer_base"], "Presets to train.")
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds per preset.")
  flags.DEFINE_string("runs_dir", "runs/accuracy", "Model directories.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where accuracy.json goes.")
  flags.DEFINE_integer("epochs", 30, "Maximum epochs per run.")
  flags.DEFINE_integer("threads", 0, "TF intra-op threads per run (0 = TF default).")
  flags.DEFINE_bool("only_finished", False,
                    "Summarize the runs that have metrics.json; train nothing.")


def train_run(preset: str, seed: int, model_dir: str) -> dict:
  """Trains (or resumes) one run; returns its metrics.json."""
  model = json.load(open(os.path.join(
      os.path.dirname(__file__), "..", "pqrnn_tf", "models", "presets",
      preset + ".json")))["model"]
  env = dict(os.environ)
  if FLAGS.threads:
    env["TF_NUM_INTRAOP_THREADS"] = str(FLAGS.threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
  cmd = [sys.executable, "-m", "pqrnn_tf.train.cli", "--dataset=atis",
         f"--model={model}", f"--preset={preset}", f"--model_dir={model_dir}",
         f"--seed={seed}", f"--epochs={FLAGS.epochs}"]
  print("$", " ".join(cmd), flush=True)
  subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
  with open(os.path.join(model_dir, "metrics.json")) as f:
    return json.load(f)


def summarize(runs: list[dict]) -> dict:
  row = {"seeds": len(runs), "num_params": runs[0]["num_params"]}
  for key in METRICS:
    values = np.array([100 * r["test"][key] for r in runs])
    row[key] = {"mean": float(values.mean()), "min": float(values.min()),
                "max": float(values.max()), "values": values.tolist()}
  minutes = np.array([r.get("train_minutes", float("nan")) for r in runs])
  row["train_minutes"] = {"mean": float(minutes.mean()), "max": float(minutes.max())}
  return row


def markdown(table: dict) -> str:
  lines = ["| model | seeds | params | intent acc | slot F1 | exact match | train min |",
           "|---|---|---|---|---|---|---|"]
  for preset, row in table.items():
    cells = [f"{row[k]['mean']:.2f} ({row[k]['min']:.2f}–{row[k]['max']:.2f})"
             for k in METRICS]
    lines.append(f"| {preset} | {row['seeds']} | {row['num_params'] / 1e6:.2f}M | "
                 + " | ".join(cells) + f" | {row['train_minutes']['mean']:.1f} |")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  table = {}
  for preset in FLAGS.models:
    runs = []
    for seed in FLAGS.seeds:
      model_dir = os.path.join(FLAGS.runs_dir, f"{preset}_s{seed}")
      metrics_path = os.path.join(model_dir, "metrics.json")
      if FLAGS.only_finished:
        if os.path.exists(metrics_path):
          with open(metrics_path) as f:
            runs.append(json.load(f))
      else:
        runs.append(train_run(preset, int(seed), model_dir))
    if runs:
      table[preset] = summarize(runs)
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  with open(os.path.join(FLAGS.output_dir, "accuracy.json"), "w") as f:
    json.dump(table, f, indent=2)
  print("\nATIS test set, mean (min–max) over seeds:\n")
  print(markdown(table))


if __name__ == "__main__":
  define_flags()
  app.run(main)
