"""The AttentionPooling layer: masked attention pooling over time."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.float_scope import FLOAT_SCOPE
from pqrnn_tf.layers.initializers import fresh_initializer


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class AttentionPooling(keras.layers.Layer):
  """Pools `[batch, time, features]` to `[batch, features]` with attention.

  Each step gets a score, `s_t = w . x_t` (`units=None`) or
  `s_t = v . tanh(W x_t + b)` (`units` set, as in Yang et al., 2016); the
  weights are a softmax of the scores over the valid steps only, and the
  output is `sum_t a_t x_t`.

  The masked softmax needs no large constants and never divides by less
  than 1: padded steps take the row's lowest valid score, the row maximum is
  subtracted, `exp` is taken (the largest valid weight is exactly 1), padded
  weights are multiplied by 0, and the weights are divided by their total,
  which is at least 1 in every row with a valid step. Rows with no valid step
  divide by 1 and output zeros (never NaN). The softmax and the weighted sum
  run in `FLOAT_SCOPE`, so int8 exports keep them float.

  Masking: supported and consumed (the output has no mask).

  Args:
    units: optional positive int, the size of the tanh hidden layer of the
      scorer; `None` for a linear scorer.
    use_bias: bool, whether the hidden layer has a bias (ignored with
      `units=None`: a bias on a score does not change a softmax).
    kernel_initializer: initializer of the scorer kernels.
    bias_initializer: initializer of the hidden layer bias.
    kernel_regularizer: optional regularizer of the scorer kernels.
    bias_regularizer: optional regularizer of the hidden layer bias.
    **kwargs: other keyword arguments for `keras.layers.Layer` (`name`,
      `dtype`, `trainable`, ...).

  Call arguments:
    inputs: float tensor `[batch, time, features]`.
    mask: optional bool tensor `[batch, time]`; any pattern is allowed.

  Returns:
    Float tensor `[batch, features]`.

  Example:

  >>> x = tf.random.normal([3, 4, 8])
  >>> mask = tf.sequence_mask([4, 2, 0], 4)
  >>> y = AttentionPooling()(x, mask=mask)
  >>> y.shape
  TensorShape([3, 8])
  >>> float(tf.reduce_max(tf.abs(y[2])))
  0.0
  """

  def __init__(self,
               units=None,
               use_bias=True,
               kernel_initializer="glorot_uniform",
               bias_initializer="zeros",
               kernel_regularizer=None,
               bias_regularizer=None,
               **kwargs):
    super().__init__(**kwargs)
    if units is not None and int(units) <= 0:
      raise ValueError(f"units must be positive or None, got {units}")
    self.units = None if units is None else int(units)
    self.use_bias = bool(use_bias)
    self.kernel_initializer = keras.initializers.get(kernel_initializer)
    self.bias_initializer = keras.initializers.get(bias_initializer)
    self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
    self.bias_regularizer = keras.regularizers.get(bias_regularizer)
    self.supports_masking = True

    if self.units is None:
      self.hidden = None
    else:
      self.hidden = keras.layers.Dense(
          self.units,
          activation="tanh",
          use_bias=self.use_bias,
          kernel_initializer=fresh_initializer(self.kernel_initializer),
          bias_initializer=self.bias_initializer,
          kernel_regularizer=self.kernel_regularizer,
          bias_regularizer=self.bias_regularizer,
          dtype=self.dtype_policy,
          name="hidden")
    self.score = keras.layers.Dense(
        1,
        use_bias=False,
        kernel_initializer=fresh_initializer(self.kernel_initializer),
        kernel_regularizer=self.kernel_regularizer,
        dtype=self.dtype_policy,
        name="score")

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 3 or input_shape[-1] is None:
      raise ValueError(
          "AttentionPooling expects [batch, time, features] with known "
          f"features, got {input_shape}")
    # Name scopes give the weights unique names ("attention_pooling/score/
    # kernel:0"), as when a sublayer builds itself on its first call.
    score_input_shape = input_shape
    if self.hidden is not None:
      with tf.name_scope(self.hidden.name):
        self.hidden.build(input_shape)
      score_input_shape = input_shape[:-1].concatenate([self.units])
    with tf.name_scope(self.score.name):
      self.score.build(score_input_shape)
    super().build(input_shape)

  def call(self, inputs, mask=None):
    x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    if mask is not None:
      mask = tf.cast(mask, x.dtype)
      # Padded steps score as a zero input would, a fixed ordinary value.
      x = x * tf.expand_dims(mask, -1)
    hidden = x if self.hidden is None else self.hidden(x)
    scores = tf.squeeze(self.score(hidden), axis=-1)  # [batch, time]
    # int8 cannot hold the weights: a sentence of n tokens needs weights from
    # 1/n to 1 and totals from 1 to n (9 bits at n = 512), so int8 exports keep
    # this part float (see FLOAT_SCOPE).
    with tf.name_scope(FLOAT_SCOPE):
      return self._pool(x, scores, mask)

  def _pool(self, x, scores, mask):
    if mask is not None:
      # Padded steps take the row's lowest valid score, so the row maximum is
      # the maximum over valid steps (an empty row keeps its own scores).
      highest = tf.reduce_max(scores, axis=-1, keepdims=True)
      lowest = tf.reduce_min(scores * mask + highest * (1.0 - mask),
                             axis=-1, keepdims=True)
      scores = scores * mask + lowest * (1.0 - mask)
    # exp(s - max s): the largest valid weight is exactly 1, so the total is
    # >= 1 in every row with a valid step, and the floor of 1 changes only
    # empty rows (total 0), which pool to zeros.
    weights = tf.exp(scores - tf.reduce_max(scores, axis=-1, keepdims=True))
    if mask is not None:
      weights = weights * mask
    total = tf.maximum(tf.reduce_sum(weights, axis=-1, keepdims=True), 1.0)
    return tf.reduce_sum(x * tf.expand_dims(weights / total, -1), axis=1)

  def compute_mask(self, inputs, mask=None):
    return None

  def compute_output_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    return tf.TensorShape([input_shape[0], input_shape[-1]])

  def get_config(self):
    config = super().get_config()
    config.update({
        "units": self.units,
        "use_bias": self.use_bias,
        "kernel_initializer":
            keras.initializers.serialize(self.kernel_initializer),
        "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        "kernel_regularizer":
            keras.regularizers.serialize(self.kernel_regularizer),
        "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
    })
    return config
