"""pqrnn-eval: scores a model trained by pqrnn-train; writes <model_dir>/eval_metrics.json
(the run's own metrics.json is left as training wrote it).

  pqrnn-eval --model_dir=runs/atis [--dataset=atis | --eval_file=test.jsonl]
"""
from __future__ import annotations

import json

import pqrnn_tf  # noqa: F401
from absl import flags

from pqrnn_tf import cli_errors
from pqrnn_tf.data import data_flags, datasets
from pqrnn_tf.train import trainer

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A directory written by pqrnn-train.")
  data_flags.define("dataset", "eval_file",
                    dataset=f"Built-in data set ({datasets.NAMES}): scores dev and test.",
                    eval_file="A .tsv/.jsonl/.atis file or glob to score (labeled).")
  flags.mark_flag_as_required("model_dir")


def main(argv) -> None:
  del argv
  splits = data_flags.read_scored_splits()
  model, config = trainer.load_trained(FLAGS.model_dir)
  print(json.dumps(trainer.evaluate_and_save(model, config, FLAGS.model_dir, splits,
                                             report_file=trainer.EVAL_FILE),
                   indent=2))


def run() -> None:
  cli_errors.run("pqrnn-eval", define_flags, main)


if __name__ == "__main__":
  run()
