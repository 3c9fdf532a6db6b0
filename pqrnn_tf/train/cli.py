"""pqrnn-train: trains a joint intent + slot model (or a text classifier).

  pqrnn-train --dataset=atis --model=pqrnn --model_dir=runs/atis
  pqrnn-train --train_file=train.jsonl --eval_file=dev.jsonl --model_dir=runs/mine

Re-running with the same --model_dir resumes an interrupted run.
"""
from __future__ import annotations

import json
import os

import pqrnn_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF loads)
from absl import app, flags
import tensorflow as tf

from pqrnn_tf.data import readers
from pqrnn_tf.models import load_preset
from pqrnn_tf.train import trainer

FLAGS = flags.FLAGS
DEFAULT_PRESETS = {"pqrnn": "pqrnn_base", "lstm": "lstm_vocab",
                   "transformer": "transformer_base"}


def define_flags() -> None:
  flags.DEFINE_string("dataset", None, "Built-in dataset: 'atis'.")
  flags.DEFINE_string("train_file", None, "Training data: .tsv/.jsonl/.atis file or glob.")
  flags.DEFINE_string("eval_file", None, "Dev data used to pick the best epoch.")
  flags.DEFINE_string("test_file", None, "Optional held-out data, scored at the end.")
  flags.DEFINE_enum("model", "pqrnn", list(DEFAULT_PRESETS), "Model family.")
  flags.DEFINE_string("preset", None, "Preset name or JSON path (default per --model).")
  flags.DEFINE_string("model_dir", None, "Output directory (resumes if it holds a run).")
  flags.DEFINE_integer("epochs", 30, "Maximum epochs.")
  flags.DEFINE_integer("batch_size", 32, "Batch size.")
  flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
  flags.DEFINE_integer("seed", 0, "Random seed.")
  flags.DEFINE_integer("patience", 10, "Early stop after this many epochs without dev gain.")
  flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                    "tf.distribute strategy (multi_worker reads TF_CONFIG).")
  flags.mark_flag_as_required("model_dir")


def load_splits() -> dict:
  """{'train', 'dev'[, 'test']} example lists from the data flags."""
  if FLAGS.dataset:
    if FLAGS.dataset != "atis":
      raise app.UsageError(f"Unknown --dataset={FLAGS.dataset}; built in: atis")
    return {s: readers.read_atis(s) for s in ("train", "dev", "test")}
  if not (FLAGS.train_file and FLAGS.eval_file):
    raise app.UsageError("Give --dataset=atis, or --train_file and --eval_file.")
  splits = {"train": readers.read_examples(FLAGS.train_file),
            "dev": readers.read_examples(FLAGS.eval_file)}
  if FLAGS.test_file:
    splits["test"] = readers.read_examples(FLAGS.test_file)
  return splits


def make_strategy(name: str) -> tf.distribute.Strategy:
  if name == "mirrored":
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  return tf.distribute.get_strategy()


def main(argv) -> None:
  del argv
  splits = load_splits()
  model_config = load_preset(FLAGS.preset or DEFAULT_PRESETS[FLAGS.model])
  if model_config.model != FLAGS.model:
    raise app.UsageError(f"Preset is a {model_config.model!r} model, not --model={FLAGS.model}")
  config = trainer.make_config(
      model_config, splits["train"], epochs=FLAGS.epochs,
      batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
      seed=FLAGS.seed, patience=FLAGS.patience,
      data={"dataset": FLAGS.dataset, "train_file": FLAGS.train_file,
            "eval_file": FLAGS.eval_file, "test_file": FLAGS.test_file})
  model = trainer.train(config, FLAGS.model_dir, splits["train"], splits["dev"],
                        strategy=make_strategy(FLAGS.strategy))
  metrics = trainer.evaluate_and_save(
      model, config, FLAGS.model_dir, {k: v for k, v in splits.items() if k != "train"})
  print(json.dumps(metrics, indent=2))
  print(f"Wrote {os.path.join(FLAGS.model_dir, trainer.METRICS_FILE)}")


def run() -> None:
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run()
