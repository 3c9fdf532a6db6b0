"""tf.data pipelines from `Example`s."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.models.heads import INTENT_OUTPUT, SLOTS_OUTPUT


def encode_labels(examples: Sequence[Example], intents: LabelVocab,
                  tags: LabelVocab | None):
  """Intent ids `[N]` and, with `tags`, padded tag ids `[N, max_tokens]`."""
  intent_ids = np.array([intents.index(e.intent) for e in examples], np.int32)
  if tags is None:
    return intent_ids, None
  width = max([len(e.tags or ()) for e in examples] + [1])
  tag_ids = np.zeros((len(examples), width), np.int32)
  for i, e in enumerate(examples):
    tag_ids[i, :len(e.tags)] = [tags.index(t) for t in e.tags]
  return intent_ids, tag_ids


def make_dataset(examples: Sequence[Example], intents: LabelVocab,
                 tags: LabelVocab | None, batch_size: int,
                 shuffle: bool = False, seed: int = 0,
                 labeled: bool = True) -> tf.data.Dataset:
  """Batches of `text` (and, if `labeled`, {intent, slots} targets).

  Slot targets are padded to the longest sentence of each batch, which is the
  time dimension the model produces for that batch.
  """
  texts = np.array([e.text.encode("utf-8") for e in examples], dtype=object)
  if not labeled:
    return tf.data.Dataset.from_tensor_slices(texts).batch(batch_size)
  intent_ids, tag_ids = encode_labels(examples, intents, tags)
  lengths = np.array([len(e.text.split()) for e in examples], np.int32)
  columns = (texts, intent_ids, lengths) + ((tag_ids,) if tags is not None else ())
  ds = tf.data.Dataset.from_tensor_slices(columns)
  if shuffle:
    ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)

  def to_example(text, intent, length, *tag_ids):
    targets = {INTENT_OUTPUT: intent}
    if tag_ids:
      targets[SLOTS_OUTPUT] = tag_ids[0][:tf.maximum(length, 1)]
    return text, targets

  ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
  return ds.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)
