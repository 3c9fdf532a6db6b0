"""Test accuracy of pQRNN, the neural baselines and the linear baselines, over seeds
and built-in datasets (a benchmark, not a test).

  python -m pqrnn_tf.benchmarks.accuracy --datasets=atis --models=pqrnn_base,lstm_vocab --seeds=0,1,2
  python -m pqrnn_tf.benchmarks.accuracy --datasets=multilingual_langid,vader_sentiment \\
      --models=pqrnn_base --baselines=tfidf_logreg,fasttext

Each (dataset, preset, seed) trains with pqrnn-train into
--runs_dir/<dataset>/<preset>_s<seed><--run_suffix>; a finished run is reused (the
CLI resumes), so the table can be rebuilt cheaply. --train_args are passed to every
run (e.g. `--train_args=--patience=10` for the old early stopping; name such runs
with --run_suffix). The linear baselines (pqrnn_tf/benchmarks/linear_baselines.py) pick their
setting on dev. Prints a Markdown table per dataset (mean and spread over seeds) and
writes accuracy.json ({"measured", "datasets": {dataset: {model: row}}}).
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
from absl import app, flags

from pqrnn_tf.benchmarks import commands, provenance
from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE
from pqrnn_tf.preset_files import preset_file, preset_label

FLAGS = flags.FLAGS
PROGRAM = "python -m pqrnn_tf.benchmarks.accuracy"


def define_flags() -> None:
  flags.DEFINE_list("datasets", ["atis"], "Built-in datasets (pqrnn_tf.data.datasets).")
  flags.DEFINE_list("models", ["pqrnn_base", "lstm_vocab", "lstm_pretrained",
                               "transformer_base"], "Presets to train.")
  flags.DEFINE_list("baselines", ["tfidf_logreg", "fasttext"],
                    "Linear baselines (pqrnn_tf/benchmarks/linear_baselines.py); empty: none.")
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds per preset.")
  flags.DEFINE_string("runs_dir", "runs/accuracy", "Model directories.")
  flags.DEFINE_string("run_suffix", "", "Appended to each run directory's name.")
  flags.DEFINE_list("train_args", [], "Extra pqrnn-train flags for every run.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where accuracy.json goes.")
  flags.DEFINE_integer("epochs", 0, "Maximum epochs per run (0: pqrnn-train's default).")
  flags.DEFINE_integer("threads", 0, "TF intra-op threads per run (0 = TF default).")
  flags.DEFINE_bool("only_finished", False,
                    "Summarize the runs that have metrics.json; train nothing.")


def preset_model(preset: str) -> str:
  """The model family of a preset (a name, or a .json path like pqrnn-train's)."""
  with open(preset_file(preset)) as f:
    return json.load(f)["model"]


def train_run(dataset: str, preset: str, seed: int, model_dir: str,
              args: Sequence[str] = (), threads: int = 0) -> dict:
  """Trains (or resumes) one pqrnn-train run with extra `args`; returns its
  metrics.json (a finished run is only read: the CLI resumes)."""
  env = dict(os.environ)
  if threads:
    env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
  commands.run("pqrnn_tf.train.cli", f"--dataset={dataset}", f"--model={preset_model(preset)}",
               f"--preset={preset}", f"--model_dir={model_dir}", f"--seed={seed}", *args,
               env=env, quiet=True)
  with open(os.path.join(model_dir, METRICS_FILE)) as f:
    return json.load(f)


def flag_train_args() -> list[str]:
  """pqrnn-train flags of this benchmark's --epochs and --train_args."""
  return [*([f"--epochs={FLAGS.epochs}"] if FLAGS.epochs else []), *FLAGS.train_args]


def spread(values: list[float]) -> dict:
  """Mean, min, max and the values (for the tables' "mean (min–max)")."""
  v = np.array(values, dtype=float)
  return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()),
          "values": v.tolist()}


def summarize(runs: list[dict]) -> dict:
  row = {"seeds": len(runs), "num_params": runs[0]["num_params"]}
  for key in HEADLINE_METRICS:
    if all(key in r["test"] for r in runs):
      row[key] = spread([100 * r["test"][key] for r in runs])
  minutes = [r.get("train_minutes", float("nan")) for r in runs]
  row["train_minutes"] = {"mean": float(np.mean(minutes)), "median": float(np.median(minutes)),
                          "max": float(np.max(minutes))}
  row["best_epoch"] = [r.get("best_epoch") for r in runs]
  return row


def summarize_baseline(results: list[dict]) -> dict:
  return {"seeds": len(results), "num_params": None,
          "intent_accuracy": spread([100 * r["test"] for r in results]),
          "dev_accuracy": spread([100 * r["dev"] for r in results]),
          "setting": sorted({r["setting"] for r in results}),
          "train_minutes": {"mean": float(np.mean([r["train_seconds"] for r in results])) / 60}}


def _cell(row: dict, key: str) -> str:
  if key not in row:
    return "–"
  return f"{row[key]['mean']:.2f} ({row[key]['min']:.2f}–{row[key]['max']:.2f})"


def markdown(table: dict) -> str:
  """One Markdown table of a dataset's rows (slot columns when any row has them)."""
  slots = any("slot_f1" in row for row in table.values())
  keys = HEADLINE_METRICS if slots else HEADLINE_METRICS[:1]
  head = "| model | seeds | params | " + (
      "intent acc | slot F1 | exact match" if slots else "accuracy") + " | train min |"
  lines = [head, "|" + "---|" * (5 + (2 if slots else 0))]
  for name, row in table.items():
    params = f"{row['num_params'] / 1e6:.2f}M" if row["num_params"] else "–"
    if "setting" in row:
      name = f"{name} ({', '.join(row['setting'])})"
    lines.append(f"| {name} | {row['seeds']} | {params} | "
                 + " | ".join(_cell(row, k) for k in keys)
                 + f" | {row['train_minutes']['mean']:.1f} |")
  return "\n".join(lines)


def dataset_table(dataset: str) -> dict:
  table = {}
  for preset in FLAGS.models:
    runs = []
    for seed in FLAGS.seeds:
      model_dir = os.path.join(FLAGS.runs_dir, dataset,
                               f"{preset_label(preset)}_s{seed}{FLAGS.run_suffix}")
      metrics_path = os.path.join(model_dir, METRICS_FILE)
      if FLAGS.only_finished:
        if os.path.exists(metrics_path):
          with open(metrics_path) as f:
            runs.append(json.load(f))
      else:
        runs.append(train_run(dataset, preset, int(seed), model_dir, flag_train_args(),
                              FLAGS.threads))
    if runs:
      table[preset_label(preset) + FLAGS.run_suffix] = summarize(runs)
  if FLAGS.baselines and not FLAGS.only_finished:
    from pqrnn_tf.benchmarks import linear_baselines  # pylint: disable=g-import-not-at-top
    from pqrnn_tf.data import datasets  # pylint: disable=g-import-not-at-top
    splits = datasets.read_splits(dataset)
    for name in FLAGS.baselines:
      try:
        results = [linear_baselines.run_baseline(name, splits, int(s)) for s in FLAGS.seeds]
      except ImportError as e:
        print(f"{name}: skipped ({e}; see requirements.txt)")
        continue
      table[name] = summarize_baseline(results)
  return table


def main(argv) -> None:
  del argv
  tables = {dataset: dataset_table(dataset) for dataset in FLAGS.datasets}
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  with open(os.path.join(FLAGS.output_dir, "accuracy.json"), "w") as f:
    json.dump({provenance.KEY: provenance.measured(PROGRAM), "datasets": tables}, f, indent=2)
  for dataset, table in tables.items():
    print(f"\n{dataset} test set, mean (min–max) over seeds:\n")
    print(markdown(table))


if __name__ == "__main__":
  define_flags()
  app.run(main)
