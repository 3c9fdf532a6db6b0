"""Whether a layer call is statically in training: what a layer may shape its
graph by (a tensor-valued `training` is decided only when the graph runs)."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


def static_training(training) -> bool | None:
  """True or False when `training` (None: the Keras learning phase) is known
  while the graph is built, None when it is a tensor decided at run time."""
  if training is None:
    training = keras.backend.learning_phase()
  value = tf.get_static_value(training)
  return None if value is None else bool(value)
