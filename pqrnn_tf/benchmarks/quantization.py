"""What quantization costs on the ATIS test set (a benchmark, not a test).

  python -m pqrnn_tf.benchmarks.quantization --model_dir=runs/atis

For a pqrnn-train run (trained with --qat_epochs for the QAT row), exports
float, dynamic-range and int8 models with `pqrnn-export` (post-training, and
from the quantization-aware model if there is one; existing files are
reused), then scores each in LiteRT on the ATIS test set next to its Keras
model: accuracy changes, intent agreement, and size relative to the float file.
Writes quantization.json and quantization.md to --output_dir.
"""
from __future__ import annotations

import json
import os

from absl import app, flags

from pqrnn_tf.benchmarks import commands, provenance
from pqrnn_tf.metrics import HEADLINE_METRICS

FLAGS = flags.FLAGS
PROGRAM = "python -m pqrnn_tf.benchmarks.quantization"
# (name, pqrnn-export flags, Keras model it is compared with)
VARIANTS = (("float", ["--quantization=none"], "float"),
            ("dynamic", ["--quantization=dynamic"], "float"),
            ("int8", ["--quantization=int8"], "float"),
            ("int8_qat", ["--quantization=int8", "--qat"], "qat"))


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A pqrnn-train run on ATIS.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where the table goes.")
  flags.mark_flag_as_required("model_dir")


def export(name: str, args: list[str]) -> str:
  path = os.path.join(FLAGS.model_dir, "export", f"model_{name}.tflite")
  return commands.ensure(path, "pqrnn_tf.export.cli", f"--model_dir={FLAGS.model_dir}",
                         f"--output={path}", *args)


def agreement(a: list, b: list) -> float:
  return sum(x == y for x, y in zip(a, b)) / len(a)


def markdown(rows: list[dict]) -> str:
  lines = ["| model | size | % of float | intent acc | slot F1 | exact match "
           "| Δ vs its Keras model (intent / F1 / EM) | intent agreement |",
           "|---|---|---|---|---|---|---|---|"]
  for r in rows:
    t = r["test"]
    lines.append(
        f"| {r['name']} | {r['bytes']:,} B | {r['size_ratio']:.1%} | "
        + " | ".join(f"{100 * t[k]:.2f}" for k in HEADLINE_METRICS) + " | "
        + " / ".join(f"{100 * r['delta'][k]:+.2f}" for k in HEADLINE_METRICS)
        + f" | {r['intent_agreement']:.2%} vs {r['reference']} |")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  from pqrnn_tf import metrics as metrics_lib  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.data import readers  # pylint: disable=g-import-not-at-top (TF is slow to import)
  from pqrnn_tf.export import verify  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train import evaluation, trainer  # pylint: disable=g-import-not-at-top
  test = readers.read_atis("test")
  has_qat = os.path.exists(os.path.join(FLAGS.model_dir, trainer.QAT_DIR))
  float_model, config = trainer.load_trained(FLAGS.model_dir)
  intents, tags = config.vocabs()
  models = {"float": float_model}
  if has_qat:
    models["qat"] = trainer.qat_model_of(float_model, FLAGS.model_dir)
  keras = {}
  for kind, model in models.items():
    pred = evaluation.predict(model, test, intents, tags)
    keras[kind] = {"pred": pred, "test": metrics_lib.score_examples(test, *pred)}
  rows = []
  for name, args, reference in VARIANTS:
    if reference not in keras:
      continue
    path = export(name, args)
    pred = verify.tflite_predict(path, test, intents, tags)
    scores = metrics_lib.score_examples(test, *pred)
    rows.append({"name": name, "path": path, "bytes": os.path.getsize(path),
                 "test": scores, "reference": reference,
                 "intent_agreement": agreement(pred[0], keras[reference]["pred"][0]),
                 "delta": {k: scores[k] - keras[reference]["test"][k] for k in HEADLINE_METRICS}})
  for row in rows:
    row["size_ratio"] = row["bytes"] / rows[0]["bytes"]
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  result = {provenance.KEY: provenance.measured(PROGRAM), "model_dir": FLAGS.model_dir,
            "rows": rows,
            "keras_test": {k: v["test"] for k, v in keras.items()}}
  with open(os.path.join(FLAGS.output_dir, "quantization.json"), "w") as f:
    json.dump(result, f, indent=2)
  table = markdown(rows)
  with open(os.path.join(FLAGS.output_dir, "quantization.md"), "w") as f:
    f.write(table + "\n")
  print("\nKeras on ATIS test: " + "; ".join(
      f"{k}: " + ", ".join(f"{m} {100 * v['test'][m]:.2f}" for m in HEADLINE_METRICS)
      for k, v in keras.items()))
  print(f"\n{table}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
