"""Training loop: resumable, keeps the best dev epoch, writes metrics.json.

Under MultiWorkerMirroredStrategy every worker runs this same loop in lockstep
(dev scoring, best-weights and checkpoint saves included: saving can involve
collective ops), but only the chief writes to model_dir; the others write to
`model_dir/workertemp_<task id>` and delete it at the end, as the Keras
multi-worker guide recommends. Every worker resumes from the chief's files, so
model_dir must be on a file system all workers see.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import time
from typing import Sequence

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf import metrics as metrics_lib
from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.metrics import dev_score
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT, ModelConfig, build_model
# The run directory's files, config and loaders (re-exported: trainer.X still works).
from pqrnn_tf import run_lock as run_lock_lib
from pqrnn_tf.run_dir import (  # noqa: F401
    BEST_STATE, BEST_WEIGHTS, CONFIG_FILE, EARLY_STOPPING, EVAL_FILE, LOCK_FILE, METRICS_FILE,
    QAT_DIR, SAVED_MODEL_DIR, TRAIN_TIME_FILE, TrainConfig, load_qat, load_trained,
    qat_model_of)
from pqrnn_tf.train import distillation, evaluation
from pqrnn_tf.train.data import (ShardedExamples, distributed_dataset, make_dataset,
                                 make_streaming_dataset, scan_labels)

#: Settings a resumed run may change (to train longer); any other difference
#: from the saved config.json is refused.
RESUMABLE_KEYS = frozenset({"epochs", "patience"})
#: Training sentences whose activation ranges start quantization-aware training.
QAT_CALIBRATION = 1000
#: Training loops (`train(loop=...)`, `pqrnn-train --loop`): "fast" batches
#: sentences of similar length together, runs tf.data without its autotuner
#: and scores dev sorted by length; "baseline" is the loop before that
#: (batches padded to any sentence mix), kept to measure against
#: (pqrnn_tf/benchmarks/training_speed.py).
LOOPS = ("fast", "baseline")
#: The fast loop sorts training sentences by length within windows of this
#: many batches (`data.length_grouped_batches`): large enough that a batch
#: is padded little, small enough that batches still mix a window's lengths.
LENGTH_WINDOW = 32


def _no_autotune() -> tf.data.Options:
  options = tf.data.Options()
  options.autotune.enabled = False
  return options


#: The fast loop's tf.data options. With the autotuner on, each epoch's end
#: waited for its background thread, idle, for up to seconds (0.6-9 s an
#: epoch seen on ATIS; pqrnn_tf/benchmarks/training_speed.py), while the pipeline it
#: tunes takes about 2% of an epoch.
NO_AUTOTUNE = _no_autotune()


def distill_config(config: TrainConfig) -> distillation.DistillConfig | None:
  """The distillation settings of `config`, or None when training on gold labels only."""
  if not config.distill.get("teacher_logits"):
    return None
  d = dict(config.distill, teacher_logits=tuple(config.distill["teacher_logits"]))
  return distillation.DistillConfig(**d).validate()


class RunDirError(UserError):
  """model_dir holds a different run, or another run is training into it."""


def _flat(data: dict, prefix: str = "") -> dict:
  """{"a.b": value} for nested dicts (JSON-normalized: tuples become lists)."""
  flat = {}
  for key, value in json.loads(json.dumps(data)).items():
    if isinstance(value, dict) and value:
      flat.update(_flat(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def config_differences(saved: TrainConfig, config: TrainConfig) -> list[str]:
  """Dotted keys (e.g. "model.encoder.units") whose values differ."""
  a, b = _flat(dataclasses.asdict(saved)), _flat(dataclasses.asdict(config))
  return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def check_resume(config: TrainConfig, model_dir: str) -> None:
  """Refuses to resume a run in `model_dir` whose settings differ from
  `config` (other than `RESUMABLE_KEYS`); call before writing anything."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not os.path.exists(path):
    return
  try:
    saved = TrainConfig.load(path)
  except (ValueError, TypeError, KeyError) as e:
    raise RunDirError(f"{path}: not a pqrnn-train config ({e}); use a new --model_dir") from None
  differences = [k for k in config_differences(saved, config)
                 if k.split(".")[0] not in RESUMABLE_KEYS]
  if differences:
    raise RunDirError(
        f"{model_dir} holds a run with other settings: {', '.join(differences)} "
        f"differ (only {', '.join(sorted(RESUMABLE_KEYS))} may change on resume); "
        f"use a new --model_dir")


def run_lock(model_dir: str):
  """Holds `LOCK_FILE` in model_dir, or raises RunDirError if another process does."""
  return run_lock_lib.run_lock(model_dir, "pqrnn-train", RunDirError)


def remove_leftover_temporaries(model_dir: str) -> None:
  """Deletes `*_temp` directories a killed run left (unfinished TF saves)."""
  for root, dirs, _ in os.walk(model_dir):
    for name in list(dirs):
      if name.endswith("_temp"):
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        dirs.remove(name)


class DevSelection(keras.callbacks.Callback):
  """Scores dev each epoch, keeps the best weights, stops after `patience`.

  An epoch without dev gain multiplies the optimizer's learning rate by
  `plateau_decay` (the rate is checkpointed with the optimizer, so a resumed run
  keeps it).

  Its state lives in model_dir, so a resumed run continues where it stopped.
  It is read from `model_dir` and written to `write_dir` (default model_dir;
  a temporary directory on non-chief workers).
  """

  def __init__(self, model_dir: str, dev: Sequence[Example], intents: LabelVocab,
               tags: LabelVocab | None, patience: int, write_dir: str | None = None,
               plateau_decay: float = 1.0, sort_by_length: bool = True):
    super().__init__()
    self.sort_by_length = sort_by_length
    self.model_dir, self.dev, self.intents, self.tags = model_dir, dev, intents, tags
    self.write_dir = write_dir or model_dir
    self.patience = patience
    self.plateau_decay = plateau_decay
    self.state = {"best_epoch": -1, "best_score": -1.0, "best_metrics": {}}
    path = os.path.join(model_dir, BEST_STATE)
    if os.path.exists(path):
      with open(path) as f:
        self.state = json.load(f)

  def on_epoch_end(self, epoch, logs=None):
    start = time.perf_counter()
    metrics = metrics_lib.score_examples(self.dev, *evaluation.predict(
        self.model, self.dev, self.intents, self.tags, sort_by_length=self.sort_by_length))
    seconds = time.perf_counter() - start
    score = dev_score(metrics)
    for k in metrics_lib.HEADLINE_METRICS:
      if k in metrics and logs is not None:
        logs[f"dev_{k}"] = metrics[k]
    if score > self.state["best_score"]:
      self.state = {"best_epoch": epoch, "best_score": score, "best_metrics": metrics}
      self.model.save_weights(os.path.join(self.write_dir, BEST_WEIGHTS))
      with open(os.path.join(self.write_dir, BEST_STATE), "w") as f:
        json.dump(self.state, f, indent=2)
    elif self.plateau_decay < 1:
      rate = self.model.optimizer.learning_rate
      rate.assign(rate * self.plateau_decay)
    print(f" dev: {_fmt(metrics)}  (best epoch {self.state['best_epoch'] + 1}; "
          f"scored in {seconds:.2f} s)", flush=True)
    if epoch - self.state["best_epoch"] >= self.patience:
      print(f"Early stop: no dev gain for {self.patience} epochs.")
      self.model.stop_training = True


class EpochCheckpoint(keras.callbacks.Callback):
  """Saves model, optimizer and epoch after every epoch, for resuming.

  Saves to `directory`; restores from `restore_directory` (default the same).
  """

  def __init__(self, directory: str, model: keras.Model,
               restore_directory: str | None = None):
    super().__init__()
    self.restore_directory = restore_directory or directory
    self._steps = 0
    self._last_step_end = 0.0
    self._epoch_cpu_start = self._last_step_cpu = 0.0
    self._supports_tf_logs = True  # Its batch hook needs no NumPy copy of the logs.
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    # Training time summed over resumed runs (dev scoring included).
    self.train_seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False)
    self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer,
                                          epoch=self.epoch,
                                          train_seconds=self.train_seconds)
    self._epoch_start = 0.0
    self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=2)

  def restore(self) -> int:
    """Restores the latest checkpoint, if any; returns the epoch to start at."""
    latest = tf.train.latest_checkpoint(self.restore_directory)
    if latest:
      self.checkpoint.restore(latest)
      print(f"Resuming from {latest} (epoch {int(self.epoch)})")
    return int(self.epoch)

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch_start = self._last_step_end = time.time()
    self._epoch_cpu_start = self._last_step_cpu = time.process_time()
    self._steps = 0

  def on_train_batch_end(self, batch, logs=None):
    self._steps += 1
    self._last_step_end = time.time()
    self._last_step_cpu = time.process_time()

  def on_epoch_end(self, epoch, logs=None):
    # The training steps alone: dev scoring (an earlier callback) comes after
    # them. CPU seconds (of this process) too: on a busy machine wall time
    # also measures the other processes.
    print(f"Epoch {epoch + 1}: {self._steps} training steps in "
          f"{self._last_step_end - self._epoch_start:.2f} s "
          f"({self._last_step_cpu - self._epoch_cpu_start:.2f} CPU s)", flush=True)
    self.epoch.assign(epoch + 1)
    self.train_seconds.assign_add(time.time() - self._epoch_start)
    self.manager.save()


def _fmt(metrics: dict) -> str:
  return ", ".join(f"{k} {100 * metrics[k]:.2f}" for k in
                   metrics_lib.HEADLINE_METRICS if k in metrics)


def make_config(model_config: ModelConfig, train: Sequence[Example] | ShardedExamples,
                resume_dir: str | None = None, **kwargs) -> TrainConfig:
  """A TrainConfig whose label lists come from the training data (one pass).

  If `resume_dir` holds a run, the early-stopping settings not given (None)
  are that run's, so it resumes with the rule it started with; otherwise they
  are the task's (EARLY_STOPPING)."""
  saved_path = os.path.join(resume_dir, CONFIG_FILE) if resume_dir else None
  if saved_path and os.path.exists(saved_path):
    with contextlib.suppress(ValueError, TypeError, KeyError):  # check_resume reports it.
      saved = TrainConfig.load(saved_path)
      for key in EARLY_STOPPING["classification"]:  # Every task's rule sets the same fields.
        if kwargs.get(key) is None:
          kwargs[key] = getattr(saved, key)
  scan = (train.scan() if isinstance(train, ShardedExamples)
          else scan_labels([("training data", train)]))
  config = TrainConfig(model=model_config, intent_labels=scan.intent_labels,
                       tag_labels=scan.tag_labels, **kwargs).validate()
  distill_config(config)  # Raises on bad values.
  return config


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
  """Whether this worker writes model_dir (always, outside multi-worker training)."""
  return (strategy or tf.distribute.get_strategy()).extended.should_checkpoint


def worker_info(strategy: tf.distribute.Strategy) -> tuple[int, int]:
  """(number of workers, this worker's index); the chief, if any, is 0."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return 1, 0
  spec = resolver.cluster_spec().as_dict()
  chiefs, workers = len(spec.get("chief", [])), len(spec.get("worker", []))
  if chiefs + workers <= 1:
    return 1, 0
  if resolver.task_type == "chief":
    return chiefs + workers, 0
  return chiefs + workers, chiefs + resolver.task_id


def write_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
  """Where this worker writes: model_dir on the chief, a temporary directory elsewhere."""
  if is_chief(strategy):
    return model_dir
  return os.path.join(model_dir, f"workertemp_{strategy.cluster_resolver.task_id}")


def compile_model(model: keras.Model, config: TrainConfig,
                  learning_rate: float | None = None) -> None:
  distill = distill_config(config)
  if distill is None:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  else:
    loss = distillation.DistillationLoss(distill.temperature, distill.hard_weight)
  losses = {INTENT_OUTPUT: loss}
  if SLOTS_OUTPUT in model.output:
    losses[SLOTS_OUTPUT] = loss
  model.compile(optimizer=keras.optimizers.Adam(learning_rate or config.learning_rate),
                loss=losses)


def train(config: TrainConfig, model_dir: str, train_examples: Sequence[Example],
          dev_examples: Sequence[Example], strategy: tf.distribute.Strategy | None = None,
          verbose: int | None = None, loop: str = "fast") -> keras.Model:
  """Trains (resuming if model_dir holds an interrupted run); returns the best model.

  `train_examples` is a list, or `ShardedExamples` to stream them from shards.
  `config.batch_size` is the global batch, split between the replicas.
  `loop` is one of `LOOPS` (not part of the config: a run may resume with the other).
  """
  if loop not in LOOPS:
    raise ValueError(f"loop must be one of {LOOPS}, got {loop!r}")
  strategy = strategy or tf.distribute.get_strategy()
  out_dir = write_dir(model_dir, strategy)
  if out_dir != model_dir:  # A non-chief worker: start its scratch space afresh.
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir, exist_ok=True)
    return _train(config, model_dir, out_dir, train_examples, dev_examples,
                  strategy, verbose, loop)
  check_resume(config, model_dir)
  os.makedirs(model_dir, exist_ok=True)
  with run_lock(model_dir):
    remove_leftover_temporaries(model_dir)
    return _train(config, model_dir, out_dir, train_examples, dev_examples,
                  strategy, verbose, loop)


def _train(config: TrainConfig, model_dir: str, out_dir: str,
           train_examples: Sequence[Example], dev_examples: Sequence[Example],
           strategy: tf.distribute.Strategy, verbose: int | None,
           loop: str = "fast") -> keras.Model:
  """`train` in `out_dir`, this worker's directory: the stages in order."""
  keras.utils.set_random_seed(config.seed)
  intents, tags = config.vocabs()
  train_examples, teacher = with_teacher_targets(config, train_examples, intents, tags)
  model = build_and_compile(config, strategy, train_examples, intents, tags)
  # Only now: a config that fails to build must not claim model_dir.
  config.save(os.path.join(out_dir, CONFIG_FILE))
  train_ds, steps_per_epoch = training_data(config, strategy, train_examples, intents, tags,
                                            teacher, loop=loop)
  if verbose is None:  # A progress bar on a terminal, one line per epoch in logs.
    verbose = 1 if sys.stdout.isatty() else 2
  train_seconds = fit(model, config, model_dir, out_dir, train_ds, steps_per_epoch,
                      dev_examples, verbose, loop=loop)
  save_best(model, model_dir, out_dir, train_seconds)
  if config.qat_epochs:
    quantization_aware_training(
        model, config, model_dir, train_ds, dev_examples, steps_per_epoch, verbose,
        strategy, calibration_texts=[e.text for _, e in zip(range(QAT_CALIBRATION),
                                                            train_examples)])
  if out_dir != model_dir:
    shutil.rmtree(out_dir, ignore_errors=True)
  return model


def with_teacher_targets(config: TrainConfig, train_examples, intents: LabelVocab,
                         tags: LabelVocab | None):
  """(training examples, teacher targets or None): with distillation, the
  examples gain the teacher-only texts of the logits files."""
  distill = distill_config(config)
  if distill is None:
    return train_examples, None
  if isinstance(train_examples, ShardedExamples):
    raise ValueError("distillation needs the training data in memory: give "
                     "--train_file as one file, not a glob of shards")
  if distillation.is_streamed(distill):  # Sharded logits: its rows are the examples.
    teacher = distillation.StreamedTeacher(train_examples, distill, intents, tags)
    return teacher, teacher
  teacher = distillation.teacher_targets(train_examples, distill, intents, tags)
  return teacher.examples, teacher


def build_and_compile(config: TrainConfig, strategy: tf.distribute.Strategy, train_examples,
                      intents: LabelVocab, tags: LabelVocab | None) -> keras.Model:
  """The model of `config.model` (vocabularies built from the training texts),
  compiled, in the strategy's scope."""
  texts = (train_examples.texts()
           if isinstance(train_examples, (ShardedExamples, distillation.StreamedTeacher))
           else [e.text for e in train_examples])
  with strategy.scope():
    model = build_model(config.model, len(intents), len(tags) if tags else 0,
                        train_texts=texts)
    compile_model(model, config)
  return model


def training_data(config: TrainConfig, strategy: tf.distribute.Strategy, train_examples,
                  intents: LabelVocab, tags: LabelVocab | None, teacher,
                  loop: str = "fast") -> tuple[tf.data.Dataset, int | None]:
  """(the training dataset, steps per epoch or None): in memory or streamed
  from shards; distributed, one pipeline per worker, batched per replica.
  The fast loop groups data by length (in memory on one worker, and streamed
  data) and turns tf.data's autotuner off (`NO_AUTOTUNE`)."""
  streaming = isinstance(train_examples, ShardedExamples)
  distributed = strategy.num_replicas_in_sync > 1

  def build_dataset(num_workers: int, index: int, batch_size: int) -> tf.data.Dataset:
    dataset = build_plain_dataset(num_workers, index, batch_size)
    return dataset.with_options(NO_AUTOTUNE) if loop == "fast" else dataset

  def build_plain_dataset(num_workers: int, index: int, batch_size: int) -> tf.data.Dataset:
    # Distributed, the data repeats (an exhausted or uneven input would hand
    # some replica an empty batch) and fit() counts steps_per_epoch instead.
    if isinstance(teacher, distillation.StreamedTeacher):
      return distillation.make_streaming_dataset(
          teacher, batch_size, shuffle=True, seed=config.seed, num_workers=num_workers,
          worker_index=index, repeat=distributed, tokenization=config.model.tokenization,
          length_window=LENGTH_WINDOW if loop == "fast" else 0)
    if streaming:
      return make_streaming_dataset(
          train_examples, intents, tags, batch_size, shuffle=True, seed=config.seed,
          num_workers=num_workers, worker_index=index, repeat=distributed,
          tokenization=config.model.tokenization,
          length_window=LENGTH_WINDOW if loop == "fast" else 0)
    return make_dataset(train_examples, intents, tags, batch_size, shuffle=True,
                        seed=config.seed, repeat=distributed,
                        num_shards=num_workers, shard_index=index, teacher=teacher,
                        tokenization=config.model.tokenization,
                        length_window=LENGTH_WINDOW if loop == "fast" else 0)

  if not distributed:
    return build_dataset(1, 0, config.batch_size), None
  steps_per_epoch = math.ceil(len(train_examples) / config.batch_size)
  train_ds = distributed_dataset(strategy, config.batch_size, build_dataset)
  print(f"{strategy.num_replicas_in_sync} replicas: {steps_per_epoch} steps of "
        f"{config.batch_size // strategy.num_replicas_in_sync} examples per "
        f"replica an epoch", flush=True)
  return train_ds, steps_per_epoch


def fit(model: keras.Model, config: TrainConfig, model_dir: str, out_dir: str, train_ds,
        steps_per_epoch: int | None, dev_examples: Sequence[Example], verbose: int,
        loop: str = "fast") -> float:
  """Trains from the last checkpoint (if any) until `config.epochs` or early
  stopping, keeping the best dev epoch; returns the training seconds so far."""
  intents, tags = config.vocabs()
  selection = DevSelection(model_dir, dev_examples, intents, tags, config.patience,
                           write_dir=out_dir, plateau_decay=config.plateau_decay,
                           sort_by_length=loop == "fast")
  checkpoint = EpochCheckpoint(os.path.join(out_dir, "checkpoints"), model,
                               restore_directory=os.path.join(model_dir, "checkpoints"))
  initial_epoch = checkpoint.restore()
  # The selection first: it adds the dev scores to the epoch's logs, which the
  # callbacks after it (TensorBoard) see.
  callbacks = [selection, keras.callbacks.TensorBoard(os.path.join(model_dir, "logs")),
               checkpoint]
  stopped_early = initial_epoch - 1 - selection.state["best_epoch"] >= config.patience
  if initial_epoch < config.epochs and not stopped_early:
    model.fit(train_ds, epochs=config.epochs, initial_epoch=initial_epoch,
              steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=verbose)
  return float(checkpoint.train_seconds.numpy())


def save_best(model: keras.Model, model_dir: str, out_dir: str, train_seconds: float) -> None:
  """Loads the best epoch's weights into `model` and saves it (SavedModel)
  and the training time in `out_dir`."""
  with open(os.path.join(out_dir, TRAIN_TIME_FILE), "w") as f:
    json.dump({"train_seconds": train_seconds}, f)
  # A non-chief loads the best weights it saved itself (the chief may still be
  # writing its copy), or the chief's from an earlier run.
  best = os.path.join(out_dir, BEST_WEIGHTS)
  if not tf.io.gfile.exists(best + ".index"):
    best = os.path.join(model_dir, BEST_WEIGHTS)
  model.load_weights(best)
  model.save(os.path.join(out_dir, SAVED_MODEL_DIR), save_format="tf")


def quantization_aware_training(float_model: keras.Model, config: TrainConfig,
                                model_dir: str, train_ds, dev_examples: Sequence[Example],
                                steps_per_epoch: int | None, verbose: int,
                                strategy: tf.distribute.Strategy,
                                calibration_texts: Sequence[str]) -> keras.Model:
  """Fine-tunes a fake-quantized copy of `float_model`, its activation ranges
  first calibrated on `calibration_texts`; the best dev weights go to
  `model_dir/qat/` (load it with `load_qat`). Not resumable mid-way: an
  interrupted stage starts again from the float model."""
  from pqrnn_tf.models import qat  # pylint: disable=g-import-not-at-top (tfmot is heavy)
  qat_dir = os.path.join(model_dir, QAT_DIR)
  out_dir = write_dir(qat_dir, strategy)
  os.makedirs(out_dir, exist_ok=True)
  intents, tags = config.vocabs()
  print(f"Quantization-aware training: {config.qat_epochs} epoch(s) at learning "
        f"rate {config.qat_learning_rate}", flush=True)
  with strategy.scope():
    model = qat.quantize_model(float_model, calibration_texts=calibration_texts)
    compile_model(model, config, learning_rate=config.qat_learning_rate)
  selection = DevSelection(qat_dir, dev_examples, intents, tags,
                           patience=config.qat_epochs, write_dir=out_dir)
  # The stage starts afresh, so a previous QAT run's best must not count.
  selection.state = {"best_epoch": -1, "best_score": -1.0, "best_metrics": {}}
  model.fit(train_ds, epochs=config.qat_epochs, steps_per_epoch=steps_per_epoch,
            callbacks=[selection], verbose=verbose)
  model.load_weights(os.path.join(out_dir, BEST_WEIGHTS))
  if out_dir != qat_dir:
    shutil.rmtree(out_dir, ignore_errors=True)
  return model


def evaluate_and_save(model: keras.Model, config: TrainConfig, model_dir: str,
                      splits: dict[str, Sequence[Example]],
                      report_file: str = METRICS_FILE) -> dict:
  """Scores each split and writes `report_file` in model_dir (pqrnn-train:
  metrics.json; pqrnn-eval: `EVAL_FILE`)."""
  intents, tags = config.vocabs()
  result = {"num_params": int(model.count_params())}
  for name, examples in splits.items():
    result[name] = metrics_lib.score_examples(examples, *evaluation.predict(
        model, examples, intents, tags))
  time_path = os.path.join(model_dir, TRAIN_TIME_FILE)
  if os.path.exists(time_path):
    with open(time_path) as f:
      result["train_minutes"] = json.load(f)["train_seconds"] / 60
  state_path = os.path.join(model_dir, BEST_STATE)
  if os.path.exists(state_path):
    with open(state_path) as f:
      result["best_epoch"] = json.load(f)["best_epoch"] + 1
  if config.qat_epochs:
    qat_model = qat_model_of(model, model_dir)
    result["qat"] = {name: metrics_lib.score_examples(examples, *evaluation.predict(
        qat_model, examples, intents, tags)) for name, examples in splits.items()}
  with open(os.path.join(model_dir, report_file), "w") as f:
    json.dump(result, f, indent=2)
  return result
