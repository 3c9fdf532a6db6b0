"""A pqrnn-train run directory: the names of its files, its config and its models.

pqrnn-train (`pqrnn_tf.train.trainer`) writes a run directory; pqrnn-eval,
pqrnn-export and the benchmarks read it through this module, so that none of
them imports the training code. Files in a run directory:

  config.json          `TrainConfig` (written before training, checked on resume)
  saved_model/         the best float model (Keras SavedModel, raw strings in)
  best/weights*        its weights; best/state.json the best epoch and score
  qat/best/weights*    the quantization-aware model's weights (--qat_epochs)
  metrics.json         pqrnn-train's scores; eval_metrics.json pqrnn-eval's
  train_time.json      training seconds; train.lock held while training
"""
from __future__ import annotations

import dataclasses
import json
import os

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data.examples import LabelVocab
from pqrnn_tf.metrics import METRICS_FILE  # noqa: F401  (pqrnn-train's scores)
from pqrnn_tf.models import ModelConfig, check_config
from pqrnn_tf.run_lock import LOCK_FILE  # noqa: F401  (the run directory's lock)

CONFIG_FILE = "config.json"
#: pqrnn-eval's report: the training run's METRICS_FILE is never replaced.
EVAL_FILE = "eval_metrics.json"
TRAIN_TIME_FILE = "train_time.json"
SAVED_MODEL_DIR = "saved_model"
BEST_WEIGHTS = os.path.join("best", "weights")
BEST_STATE = os.path.join("best", "state.json")
QAT_DIR = "qat"

#: The default early stopping of each task (TrainConfig fields). Plain
#: classification peaks on dev within 7-17 epochs, and halving the rate on each
#: epoch without gain lets 3 such epochs end it; a joint intent + slot model
#: keeps gaining dev slot F1 at a constant rate until epoch 22-28 of 30, and
#: the decay costs it 0.8 of it (README, "Early stopping").
EARLY_STOPPING = {"classification": {"patience": 3, "plateau_decay": 0.5},
                  "intent_and_slots": {"patience": 10, "plateau_decay": 1.0}}


@dataclasses.dataclass
class TrainConfig:
  """Everything a training run depends on; saved as config.json in model_dir.

  `distill` is kept as written; `pqrnn_tf.train.trainer.distill_config` reads
  and validates it (the distillation settings belong to training)."""
  model: ModelConfig
  epochs: int = 30
  batch_size: int = 32
  learning_rate: float = 1e-3
  seed: int = 0
  # Early stop after this many epochs in a row without dev gain; each of them
  # also multiplies the learning rate by `plateau_decay` (1.0: constant rate).
  # None: the task's rule in EARLY_STOPPING, filled in on construction.
  patience: int | None = None
  plateau_decay: float | None = None
  intent_labels: list[str] = dataclasses.field(default_factory=list)
  tag_labels: list[str] = dataclasses.field(default_factory=list)
  data: dict = dataclasses.field(default_factory=dict)
  # Distillation (empty teacher_logits: none); see pqrnn_tf.train.distillation.DistillConfig.
  distill: dict = dataclasses.field(default_factory=dict)
  # Quantization-aware fine-tuning epochs after float training (0: none).
  qat_epochs: int = 0
  qat_learning_rate: float = 1e-4

  def __post_init__(self):
    for key, value in EARLY_STOPPING[self.task].items():
      if getattr(self, key) is None:
        setattr(self, key, value)

  @property
  def task(self) -> str:
    """"intent_and_slots" when the training data has slot tags, else "classification"."""
    return "intent_and_slots" if self.tag_labels else "classification"

  def validate(self) -> "TrainConfig":
    check_config(self.model)
    if self.qat_epochs < 0:
      raise ValueError(f"qat_epochs must be >= 0, got {self.qat_epochs}")
    if self.qat_epochs and self.model.model != "pqrnn":
      raise ValueError(f"quantization-aware training supports pqrnn models, not "
                       f"{self.model.model!r}")
    if not self.qat_learning_rate > 0:
      raise ValueError(f"qat_learning_rate must be > 0, got {self.qat_learning_rate}")
    for name in ("epochs", "batch_size", "patience"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if not self.learning_rate > 0:
      raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
    if not 0 < self.plateau_decay <= 1:
      raise ValueError(f"plateau_decay must be in (0, 1], got {self.plateau_decay}")
    if not self.intent_labels:
      raise ValueError("no intent labels: the training data has no labels")
    return self

  def save(self, path: str) -> None:
    """Writes the config as JSON (atomically: a kill leaves the old file)."""
    data = dataclasses.asdict(self)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
      json.dump(data, f, indent=2)
    os.replace(path + ".tmp", path)

  @classmethod
  def load(cls, path: str) -> "TrainConfig":
    """Reads config.json; a UserError naming the file and line if it is not JSON."""
    with open(path, encoding="utf-8") as f:
      try:
        data = json.load(f)
      except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: not a pqrnn-train config: {e.msg}") from None
    data["model"] = ModelConfig.from_dict(data["model"])
    # Runs saved before plateau_decay existed trained at a constant rate.
    data.setdefault("plateau_decay", 1.0)
    return cls(**data)

  def vocabs(self) -> tuple[LabelVocab, LabelVocab | None]:
    intents = LabelVocab(self.intent_labels)
    tags = LabelVocab(self.tag_labels, fallback="O") if self.tag_labels else None
    return intents, tags


def load_qat(model_dir: str) -> tuple[keras.Model, TrainConfig]:
  """The quantization-aware model of `model_dir/qat/`, with its config."""
  float_model, config = load_trained(model_dir)
  return qat_model_of(float_model, model_dir), config


def qat_model_of(float_model: keras.Model, model_dir: str) -> keras.Model:
  """The quantization-aware model of `model_dir/qat/`, built around
  `float_model` (the run's float model, already loaded)."""
  from pqrnn_tf.models import qat  # pylint: disable=g-import-not-at-top
  weights = os.path.join(model_dir, QAT_DIR, BEST_WEIGHTS)
  if not tf.io.gfile.exists(weights + ".index"):
    raise FileNotFoundError(f"{model_dir} has no quantization-aware model "
                            f"({weights}); train with --qat_epochs")
  model = qat.quantize_model(float_model)
  model.load_weights(weights).expect_partial()
  return model


def load_trained(model_dir: str) -> tuple[keras.Model, TrainConfig]:
  """The best model saved by `train`, with its config."""
  from pqrnn_tf.ops import _libraries  # pylint: disable=g-import-not-at-top
  import pqrnn_tf.layers  # pylint: disable=g-import-not-at-top,unused-import  (registers layers)
  _libraries.tf_ops()  # The SavedModel's graph needs the op registered first.
  config = TrainConfig.load(os.path.join(model_dir, CONFIG_FILE))
  # compile=False: exporting and scoring need no loss (a distilled run's
  # DistillationLoss lives in pqrnn_tf.train, which this layer must not import).
  model = keras.models.load_model(os.path.join(model_dir, SAVED_MODEL_DIR), compile=False)
  return model, config
