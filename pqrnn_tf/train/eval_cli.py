"""pqrnn-eval: scores a model trained by pqrnn-train; writes <model_dir>/eval_metrics.json
(the run's own metrics.json is left as training wrote it).

  pqrnn-eval --model_dir=runs/atis [--dataset=atis | --eval_file=test.jsonl]
"""
from __future__ import annotations

import json

import pqrnn_tf  # noqa: F401
from absl import app, flags

from pqrnn_tf import cli_errors
from pqrnn_tf.data import datasets, readers
from pqrnn_tf.train import trainer

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A directory written by pqrnn-train.")
  flags.DEFINE_string("dataset", None, f"Built-in dataset ({datasets.NAMES}): scores dev and test.")
  flags.DEFINE_string("eval_file", None, "A .tsv/.jsonl/.atis file or glob to score.")
  flags.mark_flag_as_required("model_dir")


def main(argv) -> None:
  del argv
  if FLAGS.dataset:
    splits = datasets.read_splits(FLAGS.dataset, ("dev", "test"))
  elif FLAGS.eval_file:
    splits = {"eval": readers.read_labeled_examples(FLAGS.eval_file)}
  else:
    raise app.UsageError("Give --dataset (e.g. atis) or --eval_file.")
  model, config = trainer.load_trained(FLAGS.model_dir)
  print(json.dumps(trainer.evaluate_and_save(model, config, FLAGS.model_dir, splits,
                                             report_file=trainer.EVAL_FILE),
                   indent=2))


def run() -> None:
  cli_errors.run("pqrnn-eval", define_flags, main)


if __name__ == "__main__":
  run()
