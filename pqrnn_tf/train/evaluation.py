"""Predictions and metrics of a trained model on a list of examples."""
from __future__ import annotations

from typing import Sequence

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.keras_predictor import KerasPredictor


def predict(model, examples: Sequence[Example], intents: LabelVocab,
            tags: LabelVocab | None, batch_size: int = 256):
  """(intents, word tags or None) of `model` (a Keras model over raw strings)
  on `examples`, decoded by `KerasPredictor` like every other model."""
  return KerasPredictor(model, intents, tags, batch_size=batch_size).predict_labels(
      [e.text for e in examples])
