"""Predictions and metrics of a trained model on a list of examples."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from pqrnn_tf import metrics
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.models.heads import INTENT_OUTPUT, SLOTS_OUTPUT


def tokenization_of(model) -> Tokenization:
  """How `model` cuts sentences into rows: its `Projection` layer's settings,
  else (the word-vocabulary baselines) one row per whitespace word."""
  from pqrnn_tf.layers.projection import Projection  # pylint: disable=g-import-not-at-top
  for layer in model.submodules:
    if isinstance(layer, Projection):
      return Tokenization.from_projection(layer.get_config())
  return Tokenization.words()


def decode_predictions(outputs: dict, examples: Sequence[Example],
                       intents: LabelVocab, tags: LabelVocab | None,
                       tokenization: Tokenization = Tokenization.words()):
  """Model outputs (logits or probabilities) -> intent labels, tag sequences.

  Slot outputs have one row per token of `tokenization` (the model's); each
  word gets its first row's tag, and words without a row (past the token
  limit) are tagged "O" (`Tokenization.word_tags`).
  """
  pred_intents = intents.decode(np.argmax(outputs[INTENT_OUTPUT], -1).tolist())
  pred_tags = None
  if tags is not None and SLOTS_OUTPUT in outputs:
    ids = np.argmax(outputs[SLOTS_OUTPUT], -1)
    pred_tags = []
    for i, e in enumerate(examples):
      rows = tags.decode(ids[i, :len(tokenization.row_words(e.text))].tolist())
      pred_tags.append(tuple(tokenization.word_tags(e.text, rows)))
  return pred_intents, pred_tags


def predict(model, examples: Sequence[Example], intents: LabelVocab,
            tags: LabelVocab | None, batch_size: int = 256):
  """Runs `model` (a Keras model over raw strings) on `examples`."""
  tokenization = tokenization_of(model)
  pred_intents, pred_tags = [], ([] if tags is not None else None)
  for start in range(0, len(examples), batch_size):
    chunk = examples[start:start + batch_size]
    out = model(tf.constant([e.text for e in chunk]), training=False)
    chunk_intents, chunk_tags = decode_predictions(
        {k: v.numpy() for k, v in out.items()}, chunk, intents, tags, tokenization)
    pred_intents.extend(chunk_intents)
    if pred_tags is not None and chunk_tags is not None:
      pred_tags.extend(chunk_tags)
  return pred_intents, pred_tags or None
