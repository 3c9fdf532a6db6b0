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

Streaming: teacher logits given as shards (a directory written with
`pqrnn-teacher logits --shard_size`, its index.json, or a glob; see
docs/teacher_logits.md) are not loaded whole. `StreamedTeacher` makes one
pass over the shards' texts only (counting rows, checking that every gold
training text has one), then `make_streaming_dataset` reads the shards
through tf.data a few at a time (`interleave`), so memory holds those shards
and the shuffle buffer, not the corpus. There, the examples are the teacher's
rows, in shard order: a row whose text is a gold training text carries its
gold labels (joined by text, as in memory), the others are teacher-only (an
empty teacher-only text is dropped, as in memory). Unlike the in-memory join,
rows are not de-duplicated: a text labeled twice counts twice (a corpus keeps
its own distribution), and a gold text counts as often as the teacher rows
hold it. Order is deterministic for a seed (seeded file and buffer shuffles,
a deterministic interleave); with several workers, each reads its share of the
shards (`data.worker_shards`).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.data import teacher_logits as logits_format
from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.train import data as data_lib


@dataclasses.dataclass(frozen=True)
class DistillConfig:
  """How the teacher's outputs enter the loss; saved in the training config."""
  teacher_logits: tuple[str, ...] = ()
  # 1, not the usual 2: on ATIS with 10% labeled (pqrnn_tf/benchmarks/distillation.py,
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


def is_streamed(config: DistillConfig) -> bool:
  """Whether `config.teacher_logits` names shards, which are streamed."""
  return any(logits_format.is_sharded(path) for path in config.teacher_logits)


def _uniform_rows(count: int, num_tags: int) -> np.ndarray:
  return np.full((count, num_tags), 1 / num_tags, np.float32)


class StreamedTeacher:
  """The training examples of distillation from sharded teacher logits: every
  teacher row, gold labels joined by text (see "Streaming" above).

  Stands where the training examples go: `len()` counts the rows, iterating
  yields them as `Example`s, `texts()` streams their texts; `rows(path)` are
  one shard's dataset elements.
  """

  def __init__(self, train: Sequence[Example], config: DistillConfig, intents: LabelVocab,
               tags: LabelVocab | None):
    self.config, self.intents, self.tags = config, intents, tags
    self.paths = [p for spec in config.teacher_logits for p in logits_format.shard_paths(spec)]
    self.gold: dict[str, Example] = {}
    for e in train:
      self.gold.setdefault(e.text, e)
    found, self.num_rows, labeled = set(), 0, 0
    for path in self.paths:  # Texts only: the logits stay on disk.
      for text in logits_format.read_texts(path).tolist():
        if text in self.gold:
          found.add(text)
          labeled += 1
        elif not text.strip():
          continue
        self.num_rows += 1
    missing = [e.text for e in train if e.text not in found]
    if missing:
      raise ValueError(f"{len(missing)} of {len(train)} training texts have no teacher "
                       f"logits in {list(config.teacher_logits)}, e.g. {missing[0]!r}; "
                       f"run `pqrnn-teacher logits` on the training data")
    print(f"Distillation, streamed from {len(self.paths)} teacher shards: {labeled} rows "
          f"with gold labels + {self.num_rows - labeled} teacher-only "
          f"(T={config.temperature}, hard weight {config.hard_weight})", flush=True)

  def __len__(self) -> int:
    return self.num_rows

  def __repr__(self) -> str:
    return f"StreamedTeacher({len(self.paths)} shards, {self.num_rows} rows)"

  def _examples(self, texts) -> Iterator[Example]:
    for text in texts:
      gold = self.gold.get(text)
      if gold is not None:
        yield gold
      elif text.strip():
        yield Example(text)

  def __iter__(self) -> Iterator[Example]:
    for path in self.paths:
      yield from self._examples(logits_format.read_texts(path).tolist())

  def texts(self) -> Iterator[str]:
    """The rows' texts, streamed (for models that build a word vocabulary)."""
    return (e.text for e in self)

  def rows(self, path: str, tokenization: Tokenization) -> Iterator[tuple]:
    """The dataset elements of one shard, in `make_dataset`'s columns:
    (text, gold intent id, rows, teacher intent probs[, gold tag ids per row,
    teacher tag probs per row]); `data.NO_LABEL` where there is no gold."""
    data = logits_format.load_teacher_logits(path)
    c = self.config
    intent_probs = soft_targets(_reorder(data.intent_logits, data.intent_labels, self.intents,
                                         "intent", path), c.temperature, c.teacher_scale)
    slot_logits = None
    if self.tags is not None:
      slot_logits = _reorder(data.slot_logits, data.tag_labels, self.tags, "slot", path)
    offsets = data.token_offsets
    for i, text in enumerate(data.texts.tolist()):
      gold = self.gold.get(text)
      if gold is None and not text.strip():
        continue
      intent = (data_lib.NO_LABEL if gold is None or gold.intent is None
                else self.intents.index(gold.intent))
      words = tokenization.row_words(text)
      element = (text.encode("utf-8"), np.int32(intent), np.int32(len(words)), intent_probs[i])
      if self.tags is None:
        yield element
        continue
      if offsets[i + 1] > offsets[i]:
        probs = soft_targets(slot_logits[offsets[i]:offsets[i + 1]], c.temperature,
                             c.teacher_scale)
      else:  # An empty text still has one (masked) output step.
        probs = _uniform_rows(1, len(self.tags))
      teacher_slots = data_lib.teacher_rows(probs, text, tokenization)
      tag_rows = (tokenization.row_tags(text, gold.tags) if gold is not None and
                  gold.tags is not None else [None] * len(words))
      tag_ids = np.array([data_lib.NO_LABEL if t is None else self.tags.index(t)
                          for t in tag_rows], np.int32)
      if not len(words):  # The output's one step: padding like a batch's.
        tag_ids, teacher_slots = np.zeros(1, np.int32), _uniform_rows(1, len(self.tags))
      yield element + (tag_ids, teacher_slots.astype(np.float32))


def make_streaming_dataset(teacher: StreamedTeacher, batch_size: int, shuffle: bool = False,
                           seed: int = 0, num_workers: int = 1, worker_index: int = 0,
                           repeat: bool = False,
                           shuffle_buffer: int = data_lib.SHUFFLE_BUFFER,
                           cycle_length: int = data_lib.CYCLE_LENGTH,
                           tokenization: Tokenization = Tokenization.words(),
                           length_window: int = 0) -> tf.data.Dataset:
  """Batches of (text, `DistillationLoss` targets) streamed from `teacher`'s
  shards: like `data.make_streaming_dataset`, with the teacher's targets
  (grouped by length in windows of `length_window` batches).

  With `num_workers` > 1 and at least as many shards as workers, worker
  `worker_index` reads only its shards (by FILE); with fewer, it reads them all
  and keeps every `num_workers`-th row (by DATA).
  """
  paths, mode = data_lib.worker_shards(teacher.paths, num_workers, worker_index)
  print(f"Streaming teacher logits: worker {worker_index} of {num_workers} reads "
        f"{len(paths)} of {len(teacher.paths)} shards ({mode}): "
        f"{', '.join(os.path.basename(p) for p in paths[:8])}"
        f"{', ...' if len(paths) > 8 else ''}", flush=True)
  signature = (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32),
               tf.TensorSpec((), tf.int32), tf.TensorSpec((len(teacher.intents),), tf.float32))
  if teacher.tags is not None:
    signature += (tf.TensorSpec((None,), tf.int32),
                  tf.TensorSpec((None, len(teacher.tags)), tf.float32))

  def read(path):
    return tf.data.Dataset.from_generator(
        lambda p: teacher.rows(p.decode("utf-8"), tokenization), args=(path,),
        output_signature=signature)

  return data_lib.batched_shards(
      paths, mode, read, data_lib._to_distillation_example, batch_size,  # pylint: disable=protected-access
      shuffle=shuffle, seed=seed, num_workers=num_workers, worker_index=worker_index,
      repeat=repeat, shuffle_buffer=shuffle_buffer, cycle_length=cycle_length,
      length_window=length_window)


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
