"""pqrnn-augment: unlabeled variants of the training data, for a teacher to label.

  pqrnn-augment --dataset=atis --output=runs/aug/atis_aug.jsonl --multiplier=4
  pqrnn-teacher logits --model_dir=runs/teacher --input=runs/aug/atis_aug.jsonl \
      --output=runs/aug/teacher_aug.npz
  pqrnn-train --dataset=atis --teacher_logits=runs/teacher/logits_train.npz,runs/aug/teacher_aug.npz ...

Writes JSONL lines {"text": ...} (see pqrnn_tf/data/augment.py for the
operations) and prints how many variants each operation made. The output is
written whole or not at all (a temporary file renamed at the end). An --output
that is one of the --train_file files, or data that can't be read, prints
`pqrnn-augment: <problem>` and exits with status 2, before anything is written.
"""
from __future__ import annotations

import os
from typing import NoReturn

from absl import app, flags

from pqrnn_tf import cli_errors
from pqrnn_tf.data import augment, data_flags, datasets, readers
from pqrnn_tf.data.examples import Example

FLAGS = flags.FLAGS
PROGRAM = "pqrnn-augment"
#: AugmentConfig's defaults, declared there once.
_DEFAULTS = augment.AugmentConfig()


def define_flags() -> None:
  data_flags.define("dataset", "train_file",
                    dataset=f"Built-in data set ({datasets.NAMES}): augments its train split.",
                    train_file="Training data to augment: a .tsv/.jsonl/.atis file or a glob.")
  flags.DEFINE_string("output", None, "The .jsonl file to write.")
  flags.DEFINE_integer("multiplier", _DEFAULTS.multiplier,
                       "Variants made per training utterance (at most).")
  flags.DEFINE_list("operations", list(_DEFAULTS.operations), "Operations to draw from.")
  flags.DEFINE_float("substitute_prob", _DEFAULTS.substitute_prob,
                     "Per-slot-span substitution probability.")
  flags.DEFINE_float("mask_prob", _DEFAULTS.mask_prob, "Per-token masking probability.")
  flags.DEFINE_float("drop_prob", _DEFAULTS.drop_prob, "Per-token drop probability.")
  flags.DEFINE_string("mask_token", _DEFAULTS.mask_token, "The token masked words become.")
  flags.DEFINE_integer("seed", _DEFAULTS.seed,
                       "Random seed (same seed and data: same output).")
  flags.mark_flag_as_required("output")


def fail(problem: str) -> NoReturn:
  """Prints `pqrnn-augment: <problem>` to stderr and exits with status 2."""
  cli_errors.fail(PROGRAM, problem)


def read_train_file(train_file: str, output: str) -> list[Example]:
  """The examples of `train_file` (a file or a glob); exits via `fail` if `output`
  is one of its files (checked before reading any) or if they can't be read."""
  try:
    paths = readers.list_files(train_file)
    same = [p for p in paths if cli_errors.same_file(p, output)]
    if same:
      fail(f"--output={output} is the --train_file {same[0]}; give another --output "
           "(the unlabeled variants would replace the training data)")
    return readers.read_examples(train_file)
  except (readers.DataError, FileNotFoundError) as e:
    fail(str(e))


def main(argv) -> None:
  del argv
  if FLAGS.dataset:
    train = datasets.read_split(FLAGS.dataset, "train")
  elif FLAGS.train_file and not FLAGS.dataset:
    train = read_train_file(FLAGS.train_file, FLAGS.output)
  else:
    raise app.UsageError("Give --dataset (e.g. atis) or --train_file.")
  config = augment.AugmentConfig(
      multiplier=FLAGS.multiplier, operations=tuple(FLAGS.operations),
      substitute_prob=FLAGS.substitute_prob, mask_prob=FLAGS.mask_prob,
      drop_prob=FLAGS.drop_prob, mask_token=FLAGS.mask_token, seed=FLAGS.seed)
  try:
    augmenter = augment.Augmenter(train, config)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  variants = augmenter.augment(train)
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
  readers.write_jsonl(variants, FLAGS.output)  # Whole or not at all (renamed at the end).
  print(f"Wrote {len(variants)} variants of {len(train)} utterances to {FLAGS.output}")
  for op, count in sorted(augmenter.counts.items()):
    print(f"  {op}: {count}")


def run() -> None:
  cli_errors.run(PROGRAM, define_flags, main)


if __name__ == "__main__":
  run()
