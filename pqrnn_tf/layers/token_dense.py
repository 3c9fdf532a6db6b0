"""TokenDense: a Dense layer that stays one matrix product on `[batch, time, features]`."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class TokenDense(keras.layers.Dense):
  """`keras.layers.Dense` (same arguments, weights and checkpoints) whose call
  on inputs of rank 3 or more is `tf.matmul` against the 2-D kernel.

  Keras' Dense contracts a 3-D input with `tf.tensordot`, which reshapes it
  to 2-D and back through its dynamic shape: in TFLite that is SHAPE, GATHER,
  REDUCE_PROD, CONCATENATION, PACK and two RESHAPEs around each
  FULLY_CONNECTED. A broadcasting `tf.matmul` converts to one
  FULLY_CONNECTED (`keep_num_dims`), bias and activation fused.
  """

  def call(self, inputs):
    if inputs.shape.rank is None or inputs.shape.rank <= 2:
      return super().call(inputs)
    x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    y = tf.matmul(x, tf.cast(self.kernel, x.dtype))
    if self.use_bias:
      y = y + tf.cast(self.bias, x.dtype)
    return self.activation(y) if self.activation is not None else y
