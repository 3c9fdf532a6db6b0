"""The AddPositionEmbedding layer: adds learned absolute position vectors."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class AddPositionEmbedding(keras.layers.Layer):
  """`outputs[:, t] = inputs[:, t] + P[min(t, max_length - 1)]`.

  `P` is a learned `[max_length, dim]` table. Steps past `max_length` share
  its last row instead of failing or being cut, so the time dimension is
  never changed (it must match the per-word labels).

  Masking: supported and propagated unchanged. Valid steps do not depend on
  padding (positions count from the start of the sentence).

  Args:
    max_length: positive int, rows of the position table.
    initializer: initializer of the table.
    **kwargs: other keyword arguments for `keras.layers.Layer`.

  Call arguments:
    inputs: float `[batch, time, dim]`.

  Returns:
    Float `[batch, time, dim]`.

  Example:

  >>> AddPositionEmbedding(16)(tf.zeros([2, 20, 8])).shape
  TensorShape([2, 20, 8])
  """

  def __init__(self, max_length: int, initializer="glorot_uniform", **kwargs):
    super().__init__(**kwargs)
    if int(max_length) <= 0:
      raise ValueError(f"max_length must be positive, got {max_length}")
    self.max_length = int(max_length)
    self.initializer = keras.initializers.get(initializer)
    self.supports_masking = True

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 3 or input_shape[-1] is None:
      raise ValueError("AddPositionEmbedding expects [batch, time, dim] with "
                       f"known dim, got {input_shape}")
    self.position_embeddings = self.add_weight(
        "embeddings", shape=[self.max_length, int(input_shape[-1])],
        initializer=self.initializer, trainable=True)
    super().build(input_shape)

  def call(self, inputs, mask=None):
    del mask
    time = tf.shape(inputs)[1]
    positions = tf.minimum(tf.range(time), self.max_length - 1)
    table = tf.cast(self.position_embeddings, inputs.dtype)
    return inputs + tf.expand_dims(tf.gather(table, positions), 0)

  def compute_mask(self, inputs, mask=None):
    return mask

  def get_config(self):
    config = super().get_config()
    config.update({"max_length": self.max_length,
                   "initializer": keras.initializers.serialize(self.initializer)})
    return config
