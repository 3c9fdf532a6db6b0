"""pQRNN's architecture choices on full ATIS, measured (a benchmark, not a test).

  python -m pqrnn_tf.benchmarks.architecture --seeds=0,1,2
  python -m pqrnn_tf.benchmarks.architecture --variants=base,features_256 --seeds=0

Each variant is the `pqrnn_base` preset with one setting changed (VARIANTS).
Per (variant, seed): `pqrnn-train --dataset=atis` with the variant's preset
(written to --runs_dir/presets/), then `pqrnn-export --quantization=int8`.
Then one `pqrnn-benchmark` run times every int8 model side by side (batch 1,
one thread, --bucket tokens) and scores it on the ATIS test set in LiteRT.
Finished stages are reused, so an interrupted run resumes and the table is
rebuilt cheaply. Prints a Markdown table (parameters, int8 file size, int8
p50, test metrics: mean (min–max) over seeds) and writes architecture.json
({"measured", "bucket", "variants": the table's rows}).
"""
from __future__ import annotations

import json
import os
from absl import app, flags

from pqrnn_tf.benchmarks import accuracy, commands, provenance
from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE
from pqrnn_tf.preset_files import preset_file

FLAGS = flags.FLAGS
PROGRAM = "python -m pqrnn_tf.benchmarks.architecture"
BASE_PRESET = "pqrnn_base"
#: Early stopping of every variant: the README's table was measured with it
#: (pqrnn-train's default for joint intent + slot data is patience 10 at a
#: constant rate, 1.4x the epochs).
TRAINING_RULE = ("--patience=3", "--plateau_decay=0.5")

#: Variant name -> the preset sections it changes in pqrnn_base.
VARIANTS: dict[str, dict] = {
    "base": {},
    "features_256": {"projection": {"feature_size": 256}},
    "features_1024": {"projection": {"feature_size": 1024}},
    "features_2048": {"projection": {"feature_size": 2048}},
    "no_char_ngrams": {"projection": {"char_ngram_size": 0}},
    "bottleneck_128": {"bottleneck": {"units": 128}},
    "bottleneck_512": {"bottleneck": {"units": 512}},
    "state_64": {"encoder": {"units": 64}},
    "state_256": {"encoder": {"units": 256}},
    "layers_1": {"encoder": {"num_layers": 1}},
    "layers_3": {"encoder": {"num_layers": 3}},
}


def define_flags() -> None:
  flags.DEFINE_list("variants", list(VARIANTS), f"Any of {list(VARIANTS)}.")
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Training seeds.")
  flags.DEFINE_string("runs_dir", "runs/architecture", "Presets, runs and the benchmark.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where architecture.json goes.")
  flags.DEFINE_integer("bucket", 16, "Sentence length (tokens) of the latency column.")
  flags.DEFINE_integer("threads", 1, "TF intra-op threads per training run (0 = TF default).")
  flags.DEFINE_bool("only_finished", False, "Tabulate the exported runs; run nothing.")


def variant_preset(variant: str) -> dict:
  """pqrnn_base's preset with the variant's settings (plain data)."""
  with open(preset_file(BASE_PRESET)) as f:
    preset = json.load(f)
  for section, settings in VARIANTS[variant].items():
    preset[section] = {**preset[section], **settings}
  preset["description"] = f"{BASE_PRESET} variant {variant}: {VARIANTS[variant] or 'unchanged'}"
  return preset


def write_preset(variant: str, directory: str) -> str:
  os.makedirs(directory, exist_ok=True)
  path = os.path.join(directory, f"{variant}.json")
  with open(path, "w") as f:
    json.dump(variant_preset(variant), f, indent=2)
  return path


def run_variant(variant: str, seed: int) -> tuple[dict, str] | None:
  """(metrics.json, int8 .tflite path) of one trained and exported run;
  with --only_finished, None unless both exist."""
  model_dir = os.path.join(FLAGS.runs_dir, f"{variant}_s{seed}")
  tflite = os.path.join(model_dir, "model_int8.tflite")
  metrics_path = os.path.join(model_dir, METRICS_FILE)
  if FLAGS.only_finished:
    if not (os.path.exists(tflite) and os.path.exists(metrics_path)):
      return None
    with open(metrics_path) as f:
      return json.load(f), tflite
  preset = write_preset(variant, os.path.join(FLAGS.runs_dir, "presets"))
  metrics = accuracy.train_run("atis", preset, seed, model_dir, TRAINING_RULE,
                               threads=FLAGS.threads)
  commands.ensure(tflite, "pqrnn_tf.export.cli", f"--model_dir={model_dir}",
                  "--quantization=int8", f"--output={tflite}", quiet=True)
  return metrics, tflite


def benchmark(models: dict[str, str]) -> dict[str, dict]:
  """pqrnn-benchmark of the int8 models side by side: name -> its row."""
  out = os.path.join(FLAGS.runs_dir, "benchmark")
  commands.run("pqrnn_tf.benchmarks.cli",
               "--models=" + ",".join(f"{name}={path}" for name, path in models.items()),
               f"--buckets={FLAGS.bucket}", f"--ratio_bucket={FLAGS.bucket}", "--nothroughput",
               "--noprofile_ops", "--nopeak_int8", f"--output_dir={out}", quiet=True)
  with open(os.path.join(out, "benchmark.json")) as f:
    return {row["name"]: row for row in json.load(f)["rows"]}


def table_rows(runs: dict[str, list[tuple[int, dict, str]]], timed: dict[str, dict]) -> dict:
  rows = {}
  for variant, done in runs.items():
    if not done:
      continue
    results = [timed[f"{variant}_s{seed}"] for seed, _, _ in done]
    rows[variant] = {
        "changes": VARIANTS[variant], "seeds": [seed for seed, _, _ in done],
        "num_params": done[0][1]["num_params"], "int8_bytes": results[0]["bytes"],
        "p50_us": accuracy.spread([next(b["p50_us"] for b in r["buckets"]
                                if b["length"] == FLAGS.bucket) for r in results]),
        **{k: accuracy.spread([100 * r["accuracy"][k] for r in results])
           for k in HEADLINE_METRICS}}
  return rows


def markdown(rows: dict, bucket: int) -> str:
  """The table of `table_rows` (p50 at `bucket` tokens)."""
  lines = [f"| variant | seeds | params | int8 file | int8 p50 at {bucket} tokens (µs) "
           "| intent acc | slot F1 | exact match |", "|---|---|---|---|---|---|---|---|"]
  for variant, row in rows.items():
    cells = [f"{row[k]['mean']:.2f} ({row[k]['min']:.2f}–{row[k]['max']:.2f})"
             for k in HEADLINE_METRICS]
    lines.append(f"| {variant} | {len(row['seeds'])} | {row['num_params'] / 1e6:.2f}M | "
                 f"{row['int8_bytes'] / 1024:.0f} KB | {row['p50_us']['mean']:.0f} | "
                 + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  unknown = sorted(set(FLAGS.variants) - set(VARIANTS))
  if unknown:
    raise app.UsageError(f"--variants: unknown {unknown}; known: {list(VARIANTS)}")
  runs = {}
  for variant in FLAGS.variants:
    runs[variant] = [(int(seed), *result) for seed in FLAGS.seeds
                     if (result := run_variant(variant, int(seed))) is not None]
  models = {f"{v}_s{seed}": path for v, done in runs.items() for seed, _, path in done}
  rows = table_rows(runs, benchmark(models)) if models else {}
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  with open(os.path.join(FLAGS.output_dir, "architecture.json"), "w") as f:
    json.dump({provenance.KEY: provenance.measured(PROGRAM), "bucket": FLAGS.bucket,
               "variants": rows}, f, indent=2)
  print(f"\nATIS test set, int8 in LiteRT, mean (min–max) over seeds:\n\n"
        f"{markdown(rows, FLAGS.bucket)}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
