"""TokenDense: a Dense layer that stays one matrix product on `[batch, time, features]`."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.training_mode import static_training


def token_matmul(x, kernel, training=None):
  """`x [..., in]` times `kernel [in, out]`, shaped for where it runs.

  At inference (or when `training` is not statically true) a broadcasting
  `tf.matmul`, which converts to one FULLY_CONNECTED. In training the tokens
  are flattened to one 2-D product: the broadcasting product's kernel
  gradient is a product per batch row, summed afterwards, and the flat one
  costs about a third fewer CPU seconds forward and backward on
  `[32, 20, 512] x [512, 256]`.
  """
  if x.shape.rank is None or x.shape.rank <= 2 or not static_training(training):
    return tf.matmul(x, kernel)
  y = tf.matmul(tf.reshape(x, [-1, x.shape[-1]]), kernel)
  return tf.reshape(y, tf.concat([tf.shape(x)[:-1], tf.shape(kernel)[-1:]], axis=0))


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class TokenDense(keras.layers.Dense):
  """`keras.layers.Dense` (same arguments, weights and checkpoints) whose call
  on inputs of rank 3 or more is `tf.matmul` against the 2-D kernel.

  Keras' Dense contracts a 3-D input with `tf.tensordot`, which reshapes it
  to 2-D and back through its dynamic shape: in TFLite that is SHAPE, GATHER,
  REDUCE_PROD, CONCATENATION, PACK and two RESHAPEs around each
  FULLY_CONNECTED. A broadcasting `tf.matmul` converts to one
  FULLY_CONNECTED (`keep_num_dims`), bias and activation fused. In training
  the product is a 2-D one (`token_matmul`).
  """

  def call(self, inputs, training=None):
    if inputs.shape.rank is None or inputs.shape.rank <= 2:
      return super().call(inputs)
    x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    y = token_matmul(x, tf.cast(self.kernel, x.dtype), training)
    if self.use_bias:
      y = y + tf.cast(self.bias, x.dtype)
    return self.activation(y) if self.activation is not None else y
