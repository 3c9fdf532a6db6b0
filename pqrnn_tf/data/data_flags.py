"""The data flags of the console scripts, declared once, and the splits they name.

A run's data are a built-in data set (``--dataset=atis``; see
``pqrnn_tf.data.datasets``) or files (``--train_file``, ``--eval_file``,
``--test_file``: .tsv / .jsonl / .atis files, or globs of them). ``recorded``
is what a run saves of them (``TrainConfig.data``); ``read_recorded`` reads a
split back from that record (e.g. pqrnn-export's calibration data).

Training data may hold unlabeled lines (a teacher labels them) but must not be
empty; dev and test data are scored, so an unlabeled line or an empty file is
a ``DataError``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from absl import app, flags

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data import datasets, readers
from pqrnn_tf.data.examples import Example

FLAGS = flags.FLAGS

#: Split -> the flag that names its file.
FILE_FLAGS = {"train": "train_file", "dev": "eval_file", "test": "test_file"}
HELP = {
    "dataset": f"Built-in data set: {datasets.NAMES}.",
    "train_file": "Training data: a .tsv/.jsonl/.atis file, or a glob of them.",
    "eval_file": "Dev data (labeled): picks the best epoch.",
    "test_file": "Optional held-out data (labeled), scored at the end.",
}

# absl attributes the flags `define` declares to its caller, whose --help then
# lists them as its own.
flags.disclaim_key_flags()


def define(*names: str, **help_texts: str) -> None:
  """Defines the data flags `names` (keys of HELP) as flags of the calling
  module (so its --help lists them); `help_texts` replace a flag's help where
  a tool uses it for something more specific."""
  for name in names:
    flags.DEFINE_string(name, None, help_texts.get(name, HELP[name]))


def recorded() -> dict[str, str | None]:
  """The defined data flags' values, as a run records them."""
  return {name: FLAGS[name].value for name in HELP if name in FLAGS}


def read_training_splits(
    read_train: Callable[[str], Sequence[Example]] | None = None
) -> dict[str, Sequence[Example]]:
  """{'train', 'dev'[, 'test']} from --dataset, or from --train_file and
  --eval_file [and --test_file]; `read_train` reads the training file (default:
  all in memory)."""
  if FLAGS.dataset:
    return datasets.read_splits(FLAGS.dataset)
  if not (FLAGS.train_file and FLAGS.eval_file):
    raise app.UsageError("Give --dataset (e.g. atis), or --train_file and --eval_file.")
  read_train = read_train or functools.partial(readers.read_examples, allow_empty=False)
  splits = {"train": read_train(FLAGS.train_file),
            "dev": readers.read_labeled_examples(FLAGS.eval_file)}
  if FLAGS.test_file:
    splits["test"] = readers.read_labeled_examples(FLAGS.test_file)
  return splits


def read_scored_splits() -> dict[str, list[Example]]:
  """Data to score: dev and test of --dataset, or {'eval': --eval_file}."""
  if FLAGS.dataset:
    return datasets.read_splits(FLAGS.dataset, ("dev", "test"))
  if FLAGS.eval_file:
    return {"eval": readers.read_labeled_examples(FLAGS.eval_file)}
  raise app.UsageError("Give --dataset (e.g. atis) or --eval_file.")


def read_recorded(data: Mapping[str, str | None], split: str) -> list[Example]:
  """Split `split` ("train", "dev" or "test") of the data a run recorded."""
  if data.get("dataset"):
    return datasets.read_split(data["dataset"], split)
  path = data.get(FILE_FLAGS[split])
  if not path:
    raise UserError(f"the run recorded no --dataset and no --{FILE_FLAGS[split]}")
  return readers.read_examples(path) if split == "train" else readers.read_labeled_examples(path)
