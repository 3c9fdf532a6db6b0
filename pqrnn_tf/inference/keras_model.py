"""A `Predictor` for a Keras model in memory (imports TensorFlow; the student
during training and evaluation). Exported models: `TflitePredictor`."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.data.examples import LabelVocab
from pqrnn_tf.inference.decoding import softmax
from pqrnn_tf.inference.predictor import Predictor
from pqrnn_tf.inference.signature import INTENT_PROBS, SEQUENCE_LENGTH, SLOT_PROBS
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT, tokenization_of


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
    out = self.model(tf.constant(batch), training=False)
    result = {INTENT_PROBS: softmax(out[INTENT_OUTPUT].numpy())}
    if self.slot_labels is not None:
      slots = out[SLOTS_OUTPUT]
      result[SLOT_PROBS] = softmax(slots.numpy())
      result[SEQUENCE_LENGTH] = tf.reduce_sum(
          tf.cast(slots._keras_mask, tf.int32), axis=1).numpy()  # pylint: disable=protected-access
    return result
