"""pqrnn-export: a trained model -> TFLite that takes raw strings, verified.

  pqrnn-export --model_dir=runs/atis --output=out/atis_int8.tflite --quantization=int8

Writes the model, its label files (`<name>.intents.txt`, `<name>.slots.txt`,
one label per line in output order) and `<name>.export.json` (sizes, ops,
agreement with the Keras model on the dev data). Exits non-zero if intent
agreement is below --min_agreement.
"""
from __future__ import annotations

import json
import os
import sys

import pqrnn_tf  # noqa: F401
from absl import app, flags

from pqrnn_tf.data import readers
from pqrnn_tf.export import converter, verify
from pqrnn_tf.train import trainer

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A directory written by pqrnn-train.")
  flags.DEFINE_string("output", None, "The .tflite file to write.")
  flags.DEFINE_enum("quantization", "int8", list(converter.QUANTIZATIONS), "Quantization.")
  flags.DEFINE_string("eval_file", None, "Verification data (default: the training "
                      "run's dev data, i.e. ATIS dev for --dataset=atis).")
  flags.DEFINE_integer("num_calibration", 300, "Training sentences used for int8 calibration.")
  flags.DEFINE_float("min_agreement", 0.99, "Refuse below this intent agreement with Keras.")
  flags.DEFINE_bool("qat", False, "Export the quantization-aware model (trained with "
                    "pqrnn-train --qat_epochs) instead of the float one; agreement is "
                    "then measured against the QAT Keras model.")
  flags.mark_flags_as_required(["model_dir", "output"])


def data_for(config: trainer.TrainConfig):
  """(calibration texts, verification examples) from the training run's data."""
  if config.data.get("dataset") == "atis":
    train, dev = readers.read_atis("train"), readers.read_atis("dev")
  else:
    train = readers.read_examples(config.data["train_file"])
    dev = readers.read_examples(FLAGS.eval_file or config.data["eval_file"])
  if FLAGS.eval_file:
    dev = readers.read_examples(FLAGS.eval_file)
  return [e.text for e in train[:FLAGS.num_calibration]], dev


def main(argv) -> None:
  del argv
  model, config = (trainer.load_qat if FLAGS.qat else trainer.load_trained)(FLAGS.model_dir)
  calibration, dev = data_for(config)
  flatbuffer = converter.convert(model, FLAGS.quantization, calibration)
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
  with open(FLAGS.output, "wb") as f:
    f.write(flatbuffer)
  paths = verify.label_paths(FLAGS.output)
  intents, tags = config.vocabs()
  with open(paths["intents"], "w") as f:
    f.write("\n".join(intents.labels) + "\n")
  if tags is not None:
    with open(paths["slots"], "w") as f:
      f.write("\n".join(tags.labels) + "\n")
  report = {"quantization": FLAGS.quantization, "qat": FLAGS.qat, "bytes": len(flatbuffer),
            "ops": dict(converter.op_counts(flatbuffer)),
            "verification": verify.compare(model, FLAGS.output, dev, intents, tags)}
  with open(paths["report"], "w") as f:
    json.dump(report, f, indent=2)
  v = report["verification"]
  print(f"Wrote {FLAGS.output} ({len(flatbuffer):,} bytes) and its labels.\n"
        f"On {v['num_examples']} dev examples: intent agreement with Keras "
        f"{100 * v['intent_agreement']:.2f}%; change in " + ", ".join(
            f"{k} {100 * d:+.2f}" for k, d in v["delta"].items()))
  if v["intent_agreement"] < FLAGS.min_agreement:
    sys.exit(f"REFUSED: intent agreement {100 * v['intent_agreement']:.2f}% is below "
             f"--min_agreement={100 * FLAGS.min_agreement:.2f}% (the model was written "
             f"to {FLAGS.output} for inspection).")


def run() -> None:
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run()
