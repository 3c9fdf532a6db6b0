"""A `Predictor` for a Keras model in memory (the student during training and
evaluation), and the exported signature's outputs from a model's logits.

This imports TensorFlow, so it lives apart from `pqrnn_tf.inference` (which
the TensorFlow-free runtime imports), one layer above it and below training
and export, which share it (docs/architecture.md). Exported models:
`pqrnn_tf.inference.TflitePredictor`."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.data.examples import LabelVocab
from pqrnn_tf.inference.predictor import Predictor
from pqrnn_tf.inference.signature import INTENT_PROBS, SEQUENCE_LENGTH, SLOT_PROBS
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT, tokenization_of


def serving_outputs(outputs: dict, with_slots: bool = True) -> dict[str, tf.Tensor]:
  """The exported signature's outputs (pqrnn_tf.inference.signature) from a
  model's logits: intent and slot probabilities and each text's number of
  tokens (from the slot output's Keras mask). Shared by the predictor and the
  TFLite export, so both answer alike."""
  result = {INTENT_PROBS: tf.nn.softmax(outputs[INTENT_OUTPUT])}
  if with_slots and SLOTS_OUTPUT in outputs:
    slots = outputs[SLOTS_OUTPUT]
    result[SLOT_PROBS] = tf.nn.softmax(slots)
    result[SEQUENCE_LENGTH] = tf.reduce_sum(
        tf.cast(slots._keras_mask, tf.int32), axis=1)  # pylint: disable=protected-access
  return result


class KerasPredictor(Predictor):
  """Runs a pqrnn_tf Keras model over raw strings (`build_model`, or a
  `pqrnn-train` SavedModel loaded by `pqrnn_tf.run_dir.load_trained`).

  Args:
    model: the model; its outputs are logits `intent` and, optionally, `slots`.
    intents: its intent labels.
    tags: its slot tags, or None (a classifier).
    batch_size: texts per call.
    top_k: intents listed in `Prediction.top_k`.
  """

  def __init__(self, model: keras.Model, intents: LabelVocab, tags: LabelVocab | None,
               batch_size: int = 256, top_k: int = 3):
    self.model = model
    self.tokenization = tokenization_of(model)
    self.intent_labels = intents.labels
    self.slot_labels = (tags.labels if tags is not None and SLOTS_OUTPUT in model.output
                        else None)
    self.batch_size = batch_size
    self.top_k = top_k

  def _invoke(self, batch: list[str]) -> dict[str, np.ndarray]:
    outputs = serving_outputs(self.model(tf.constant(batch), training=False),
                              with_slots=self.slot_labels is not None)
    return {name: value.numpy() for name, value in outputs.items()}
