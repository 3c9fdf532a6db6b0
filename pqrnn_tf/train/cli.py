"""pqrnn-train: trains a joint intent + slot model (or a text classifier).

  pqrnn-train --dataset=atis --model=pqrnn --model_dir=runs/atis
  pqrnn-train --train_file=train.jsonl --eval_file=dev.jsonl --model_dir=runs/mine

Re-running with the same --model_dir resumes an interrupted run.

Distillation: --teacher_logits=teacher_train.npz[,teacher_augmented.npz]
(written by `pqrnn-teacher logits`, format in docs/teacher_logits.md) mixes the
gold-label loss with the teacher's softened outputs (--temperature,
--hard_weight, --teacher_scale); texts found only in the teacher files (e.g.
from `pqrnn-augment`) become extra examples labeled by the teacher alone.

Quantization-aware training: --qat_epochs=N fine-tunes a fake-quantized copy of
the best float model for N more epochs into <model_dir>/qat/; export it with
`pqrnn-export --qat`.

Scaling out: a --train_file glob of shards ('data/train-*.jsonl') is streamed
through tf.data instead of loaded into memory (dev/test data still are: they
are scored in Python every epoch). --strategy=mirrored trains on all local
devices; --strategy=multi_worker runs the same command on every worker, each
with its own TF_CONFIG, e.g. for worker 1 of 2:

  TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
              "task": {"type": "worker", "index": 1}}' \
  pqrnn-train --strategy=multi_worker --train_file='data/train-*.jsonl' ...

--batch_size is the global batch, split between the workers; each worker reads
its own shards (or, with fewer shards than workers, its part of every batch).
Only the chief (worker 0) writes --model_dir, which must be on a file system
all workers see (non-chief workers resume from it).
"""
from __future__ import annotations

import contextlib
import json
import os

import pqrnn_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF loads)
from absl import app, flags
import tensorflow as tf

from pqrnn_tf import cli_errors
from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data import data_flags, readers, tokens
from pqrnn_tf.models import load_preset
from pqrnn_tf.run_dir import EARLY_STOPPING
from pqrnn_tf.train import trainer
from pqrnn_tf.train.data import ShardedExamples
from pqrnn_tf.train.distillation import DistillConfig

FLAGS = flags.FLAGS
# TrainConfig's field defaults, declared there once.
_DEFAULTS = trainer.TrainConfig(model=None)
_DISTILL = DistillConfig()
DEFAULT_PRESETS = {"pqrnn": "pqrnn_base", "lstm": "lstm_vocab",
                   "transformer": "transformer_base"}
#: A family's preset, where it differs, for data without slot tags whose text
#: mixes scripts or has scripts written without spaces. On text in one script
#: with spaces, neither it nor pqrnn_base was consistently ahead
#: (docs/results/preset_by_task.md).
MULTISCRIPT_CLASSIFICATION_PRESETS = {"pqrnn": "pqrnn_classifier"}


def default_preset(family: str, train, model_dir: str):
  """The ModelConfig of a run started without --preset.

  A run resumed in `model_dir` keeps the model it was saved with; a new one
  gets the family's default, or its preset for classification (no slot tags
  in `train`) of text in mixed or unsegmented scripts
  (`tokens.mixed_or_unsegmented_scripts`)."""
  with contextlib.suppress(OSError, ValueError, TypeError, KeyError):  # check_resume reports it.
    saved = trainer.TrainConfig.load(os.path.join(model_dir, trainer.CONFIG_FILE))
    if saved.model.model == family:
      return saved.model
  scan = (train.scan() if isinstance(train, ShardedExamples)
          else trainer.scan_labels([("training data", train)]))
  name, why = DEFAULT_PRESETS[family], f"the default of --model={family}"
  if family in MULTISCRIPT_CLASSIFICATION_PRESETS and not scan.tag_labels:
    texts = train.texts() if isinstance(train, ShardedExamples) else (e.text for e in train)
    if tokens.mixed_or_unsegmented_scripts(texts):
      name = MULTISCRIPT_CLASSIFICATION_PRESETS[family]
      why = "data without slot tags, in mixed scripts or scripts without spaces"
    else:
      why = "data without slot tags, in one script with spaces"
  print(f"Preset {name} ({why}; --preset picks another)", flush=True)
  return load_preset(name)


def _by_task(field: str) -> str:
  """"default by task: ..." of one field of EARLY_STOPPING's rules."""
  return "default by task: " + ", ".join(f"{rule[field]} for {task}"
                                          for task, rule in EARLY_STOPPING.items())


def define_flags() -> None:
  data_flags.define("dataset", "train_file", "eval_file", "test_file",
                    train_file="Training data: a .tsv/.jsonl/.atis file, or a glob of "
                    "shards (streamed, not loaded into memory).")
  flags.DEFINE_enum("model", "pqrnn", list(DEFAULT_PRESETS), "Model family.")
  flags.DEFINE_string("preset", None, "Preset name or JSON path (default per --model and data: "
                      "pqrnn_classifier for a pQRNN on data without slot tags in mixed scripts "
                      "or scripts without spaces; a resumed run keeps its own).")
  flags.DEFINE_string("model_dir", None, "Output directory (resumes if it holds a run).")
  flags.DEFINE_integer("epochs", _DEFAULTS.epochs, "Maximum epochs.")
  flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size,
                       "Global batch size (split between replicas).")
  flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate, "Adam learning rate.")
  flags.DEFINE_integer("seed", 0, "Random seed.")
  flags.DEFINE_integer("patience", None, "Early stop after this many epochs in a row "
                       f"without dev gain ({_by_task('patience')}).")
  flags.DEFINE_float("plateau_decay", None, "Multiplies the learning rate after each "
                     f"epoch without dev gain (1: constant rate; {_by_task('plateau_decay')}).")
  flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                    "tf.distribute strategy (multi_worker reads TF_CONFIG).")
  flags.DEFINE_list("teacher_logits", [], "Distill from these teacher logits files "
                    "(docs/teacher_logits.md): every training text needs a row; "
                    "extra texts (e.g. augmented) are added as teacher-labeled examples. "
                    "A shard directory, its index.json or a glob ('dir/shard-*') is "
                    "streamed: every teacher row is an example, gold labels joined by text.")
  flags.DEFINE_float("temperature", _DISTILL.temperature, "Distillation temperature.")
  flags.DEFINE_float("hard_weight", _DISTILL.hard_weight, "Weight of the gold-label "
                     "loss when distilling (the teacher's soft loss gets the rest).")
  flags.DEFINE_float("teacher_scale", _DISTILL.teacher_scale, "Multiplies the teacher's "
                     "logits before the temperature (>1 sharpens, <1 flattens the teacher).")
  flags.DEFINE_integer("qat_epochs", _DEFAULTS.qat_epochs, "Quantization-aware fine-tuning "
                       "epochs after float training (pqrnn models; export with "
                       "pqrnn-export --qat).")
  flags.DEFINE_float("qat_learning_rate", _DEFAULTS.qat_learning_rate,
                     "Learning rate of the QAT epochs.")
  flags.DEFINE_enum("loop", trainer.LOOPS[0], list(trainer.LOOPS), "Training loop: fast "
                    "(batches of similar-length sentences, dev scored sorted by length) or "
                    "baseline (the earlier loop, to measure against: "
                    "pqrnn_tf/benchmarks/training_speed.py).")
  flags.mark_flag_as_required("model_dir")


def read_train(train_file: str):
  """The training examples; a glob of shards is streamed, not loaded."""
  if not readers.is_glob(train_file):
    return readers.read_examples(train_file, allow_empty=False)
  train = ShardedExamples(train_file)
  print(f"Streaming --train_file: {len(train.paths)} shards match {train_file!r}")
  if not len(train):  # The label scan, which training needs anyway (cached).
    raise readers.DataError(train_file, None, "no examples")
  return train


def make_strategy(name: str) -> tf.distribute.Strategy:
  if name == "mirrored":
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  return tf.distribute.get_strategy()


def main(argv) -> None:
  del argv
  # First: MultiWorkerMirroredStrategy must exist before any other TF op runs.
  strategy = make_strategy(FLAGS.strategy)
  num_workers, index = trainer.worker_info(strategy)
  print(f"Strategy {type(strategy).__name__}: {strategy.num_replicas_in_sync} "
        f"replica(s), worker {index} of {num_workers}"
        f"{' (chief)' if trainer.is_chief(strategy) else ''}", flush=True)
  splits = data_flags.read_training_splits(read_train)
  try:
    model_config = (load_preset(FLAGS.preset) if FLAGS.preset
                    else default_preset(FLAGS.model, splits["train"], FLAGS.model_dir))
    config = make_config(model_config, splits["train"])
  except ValueError as e:  # A bad flag or preset value: the message names it.
    raise UserError(f"--preset={FLAGS.preset}: {e}" if FLAGS.preset else str(e)) from None
  if model_config.model != FLAGS.model:
    raise app.UsageError(f"Preset is a {model_config.model!r} model, not --model={FLAGS.model}")
  model = trainer.train(config, FLAGS.model_dir, splits["train"], splits["dev"],
                        strategy=strategy, loop=FLAGS.loop)
  if not trainer.is_chief(strategy):
    print(f"Worker {index} done; the chief writes {trainer.METRICS_FILE}.")
    return
  if num_workers > 1:
    # The strategy's sync-on-read variables (batch-norm statistics) read by
    # all-reducing across the workers, which have exited: score the saved copy.
    model, _ = trainer.load_trained(FLAGS.model_dir)
  metrics = trainer.evaluate_and_save(
      model, config, FLAGS.model_dir, {k: v for k, v in splits.items() if k != "train"})
  print(json.dumps(metrics, indent=2))
  print(f"Wrote {os.path.join(FLAGS.model_dir, trainer.METRICS_FILE)}")


def make_config(model_config, train) -> trainer.TrainConfig:
  """The run's config from the flags (validated)."""
  return trainer.make_config(
      model_config, train, resume_dir=FLAGS.model_dir, epochs=FLAGS.epochs,
      batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
      seed=FLAGS.seed, patience=FLAGS.patience, plateau_decay=FLAGS.plateau_decay,
      qat_epochs=FLAGS.qat_epochs, qat_learning_rate=FLAGS.qat_learning_rate,
      distill=({"teacher_logits": FLAGS.teacher_logits, "temperature": FLAGS.temperature,
                "hard_weight": FLAGS.hard_weight, "teacher_scale": FLAGS.teacher_scale}
               if FLAGS.teacher_logits else {}),
      data=data_flags.recorded())


def run() -> None:
  cli_errors.run("pqrnn-train", define_flags, main)


if __name__ == "__main__":
  run()
