"""Predictions and metrics of a trained model on a list of examples."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.keras_predictor import KerasPredictor


def predict(model, examples: Sequence[Example], intents: LabelVocab,
            tags: LabelVocab | None, batch_size: int = 256, sort_by_length: bool = True):
  """(intents, word tags or None) of `model` (a Keras model over raw strings)
  on `examples`, decoded by `KerasPredictor` like every other model.

  `sort_by_length` runs the texts in order of length (the answers come back
  in the order of `examples`): a batch is padded to its longest text, so
  batches of similar lengths cost far less than a random mix.
  """
  texts = [e.text for e in examples]
  predictor = KerasPredictor(model, intents, tags, batch_size=batch_size)
  if not sort_by_length:
    return predictor.predict_labels(texts)
  order = np.argsort([len(t) for t in texts], kind="stable")
  sorted_intents, sorted_tags = predictor.predict_labels([texts[i] for i in order])
  position = np.empty(len(order), np.int64)
  position[order] = np.arange(len(order))
  return ([sorted_intents[i] for i in position],
          None if sorted_tags is None else [sorted_tags[i] for i in position])
