"""Distillation from teacher logits (see docs/teacher_logits.md for the file format).

The student learns from a mix of the gold labels (hard loss) and the teacher's
softened output distribution (soft loss), as in Hinton et al. (2015):

    loss = hard_weight * CE(gold, student)
         + (1 - hard_weight) * T^2 * CE(softmax(scale * teacher / T), softmax(student / T))

for the intent and for every token's slot tag. Examples without gold labels
(augmented text, labeled only by the teacher) contribute the soft term alone.

Targets travel through Keras' per-output `y_true` as one tensor each: the gold
label id in channel 0 (-1 when there is none) followed by the teacher's
probabilities, `[batch, 1 + intents]` and `[batch, time, 1 + tags]`; the slot
loss is masked to each sentence's tokens by the output's Keras mask as usual.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.data import teacher_logits as logits_format


@dataclasses.dataclass(frozen=True)
class DistillConfig:
  """How the teacher's outputs enter the loss; saved in the training config."""
  teacher_logits: tuple[str, ...] = ()
  # 1, not the usual 2: on ATIS with 10% labeled (benchmarks/distillation.py,
  # 3 seeds) dev slot F1 was 90.3-90.7 at T = 1 against 87.1-88.3 at T = 2.
  temperature: float = 1.0
  hard_weight: float = 0.5
  teacher_scale: float = 1.0

  def validate(self) -> "DistillConfig":
    if not self.temperature > 0:
      raise ValueError(f"temperature must be > 0, got {self.temperature}")
    if not 0.0 <= self.hard_weight <= 1.0:
      raise ValueError(f"hard_weight must be in [0, 1], got {self.hard_weight}")
    if not self.teacher_scale > 0:
      raise ValueError(f"teacher_scale must be > 0, got {self.teacher_scale}")
    return self


@dataclasses.dataclass
class TeacherTargets:
  """Teacher probabilities (at the temperature) in the student's label order."""
  examples: list[Example]          # Gold examples first, then teacher-only texts.
  intent_probs: np.ndarray         # [N, intents] float32.
  slot_probs: list[np.ndarray] | None  # N arrays [tokens_i, tags], or None.


def _reorder(logits: np.ndarray, teacher_labels: Sequence[str], student: LabelVocab,
             what: str, source: str) -> np.ndarray:
  """Columns of `logits` in the student's label order.

  A student label the teacher lacks gets probability 0; a teacher label the
  student lacks is dropped (the rest renormalize in the softmax).
  """
  index = {label: i for i, label in enumerate(teacher_labels)}
  shared = [label for label in student.labels if label in index]
  if not shared:
    raise ValueError(f"{source}: none of the teacher's {what} labels are the "
                     f"student's (e.g. teacher {list(teacher_labels)[:3]}, student "
                     f"{list(student.labels)[:3]})")
  out = np.full(logits.shape[:-1] + (len(student),), -np.inf, np.float32)
  for j, label in enumerate(student.labels):
    if label in index:
      out[..., j] = logits[..., index[label]]
  return out


def soft_targets(logits: np.ndarray, temperature: float, scale: float = 1.0) -> np.ndarray:
  """softmax(scale * logits / temperature) over the last axis (-inf -> 0)."""
  z = scale * logits.astype(np.float64) / temperature
  z = z - np.max(z, axis=-1, keepdims=True)
  e = np.exp(z)
  return (e / np.sum(e, axis=-1, keepdims=True)).astype(np.float32)


def teacher_targets(train: Sequence[Example], config: DistillConfig,
                    intents: LabelVocab, tags: LabelVocab | None) -> TeacherTargets:
  """Aligns the teacher files with the training data, by text.

  Every gold training example must have teacher logits. Texts found only in
  the teacher files (e.g. augmented ones) become extra, unlabeled examples.
  """
  by_text: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
  for path in config.teacher_logits:
    data = logits_format.load_teacher_logits(path)
    intent_logits = _reorder(data.intent_logits, data.intent_labels, intents,
                             "intent", path)
    slot_logits = (_reorder(data.slot_logits, data.tag_labels, tags, "slot", path)
                   if tags is not None else None)
    for i, text in enumerate(data.texts):
      rows = None
      if slot_logits is not None:
        rows = slot_logits[data.token_offsets[i]:data.token_offsets[i + 1]]
      by_text.setdefault(str(text), (intent_logits[i], rows))
  missing = [e.text for e in train if e.text not in by_text]
  if missing:
    raise ValueError(f"{len(missing)} of {len(train)} training texts have no teacher "
                     f"logits in {list(config.teacher_logits)}, e.g. {missing[0]!r}; "
                     f"run `pqrnn-teacher logits` on the training data")
  gold = {e.text for e in train}
  extra = [Example(text) for text in by_text if text not in gold and text.strip()]
  examples = list(train) + extra
  intent_probs = soft_targets(np.stack([by_text[e.text][0] for e in examples]),
                              config.temperature, config.teacher_scale)
  slot_probs = None
  if tags is not None:
    slot_probs = [soft_targets(by_text[e.text][1], config.temperature,
                               config.teacher_scale) if e.tokens
                  # An empty text still has one (masked) output step.
                  else np.full((1, len(tags)), 1 / len(tags), np.float32)
                  for e in examples]
  print(f"Distillation: {len(train)} labeled + {len(extra)} teacher-only examples "
        f"(T={config.temperature}, hard weight {config.hard_weight})", flush=True)
  return TeacherTargets(examples, intent_probs, slot_probs)


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class DistillationLoss(keras.losses.Loss):
  """Hard + soft cross-entropy on logits; `y_true` = [gold id | teacher probs].

  Args:
    temperature: softens the student's logits in the soft term (the teacher's
      probabilities come already softened at the same temperature).
    hard_weight: weight of the gold-label term; the soft term gets the rest.
  """

  def __init__(self, temperature: float = DistillConfig.temperature,
               hard_weight: float = DistillConfig.hard_weight, **kwargs):
    super().__init__(**kwargs)
    self.temperature = temperature
    self.hard_weight = hard_weight

  def call(self, y_true, y_pred):
    gold = tf.cast(y_true[..., 0], tf.int32)
    teacher = tf.cast(y_true[..., 1:], y_pred.dtype)
    has_gold = tf.cast(gold >= 0, y_pred.dtype)
    hard = keras.losses.sparse_categorical_crossentropy(
        tf.maximum(gold, 0), y_pred, from_logits=True) * has_gold
    soft = keras.losses.categorical_crossentropy(
        teacher, y_pred / self.temperature, from_logits=True) * self.temperature ** 2
    return self.hard_weight * hard + (1.0 - self.hard_weight) * soft

  def get_config(self):
    return {**super().get_config(), "temperature": self.temperature,
            "hard_weight": self.hard_weight}
